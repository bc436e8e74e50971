"""Operating thresholds, chosen on validation data with kindness first.

Calling a woman a man is the worst error the bot can make, so the gender threshold is the
highest probability cut that keeps that error within half the product's bounds on validation
faces that may be rated (not known to be under 13): 1% in UTKFace, MEBeauty and SCUT and 2% in
every ethnicity group of those three (1.5% for SCUT's Asian women); 3% for FairFace's adult
women and 4% in each FairFace race group and adult age group (60+ pooled; the aim is 5%, but a
cut chosen at a small group's bound lands about on it for faces that did not choose it, so the
rule keeps a woman in 61 in hand). The other half is
left as a safety margin for photos the model has never seen; where that margin would refuse
fewer than 90% of the studio sources' men, the bounds themselves are used instead.

Rating a child is the other error to avoid, so the child cut leans towards refusing: the
highest estimated age under which a face is answered as a child while at most half of 3% of
adults (20 and older, known ages) are overall, and at most 3% in every source and adult age
group (young adults, the group this binds, take "too young" as a compliment).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from training.datasets import Record
from training.metrics import (
    ADULT_FROM,
    age_group,
    ethnicity_group,
    is_adult,
    is_young_child,
    may_be_rated,
    women_called_men,
)

STUDIO_SOURCES = ("utkface", "mebeauty", "scut")
MAX_WOMEN_CALLED_MEN = 0.01  # each studio source
MAX_WOMEN_CALLED_MEN_PER_GROUP = 0.02  # each ethnicity group of the studio sources
MAX_ASIAN_WOMEN_CALLED_MEN_SCUT = 0.015
MAX_WOMEN_CALLED_MEN_EVERYDAY = 0.03  # FairFace's adult women
MAX_WOMEN_CALLED_MEN_EVERYDAY_GROUP = 0.04  # each FairFace race and adult age group (aim 5%)
MIN_MEN_REFUSED = 0.90
MAX_ADULTS_AS_CHILDREN = 0.03
CHILD_AGE_CUTS = np.arange(8.0, 20.01, 0.25)


@dataclass(frozen=True, slots=True)
class Thresholds:
    """The operating point and a sentence saying how it was chosen."""

    female: float
    beautiful: float
    child_age: float | None
    why: str


@dataclass(frozen=True, slots=True)
class Bound:
    """Women called men must stay within `limit` among `women` (a mask)."""

    name: str
    women: np.ndarray
    limit: float


def gender_bounds(records: Sequence[Record]) -> list[Bound]:
    """Every bound of the module docstring over these validation faces."""
    female = np.array([r.female and may_be_rated(r) for r in records])
    sources = np.array([r.source for r in records])
    groups = np.array([ethnicity_group(r) for r in records])
    ages = np.array(["60+" if age_group(r) in ("60-69", "70+") else age_group(r) for r in records])
    studio = female & np.isin(sources, STUDIO_SOURCES)
    everyday = female & (sources == "fairface") & np.array([is_adult(r) for r in records])
    bounds = [Bound(s, female & (sources == s), MAX_WOMEN_CALLED_MEN) for s in STUDIO_SOURCES]
    bounds.append(
        Bound(
            "scut asian",
            female & (sources == "scut") & (groups == "asian"),
            MAX_ASIAN_WOMEN_CALLED_MEN_SCUT,
        )
    )
    bounds += [
        Bound(f"studio {g}", studio & (groups == g), MAX_WOMEN_CALLED_MEN_PER_GROUP)
        for g in sorted(set(groups[studio]))
    ]
    bounds.append(Bound("fairface adults", everyday, MAX_WOMEN_CALLED_MEN_EVERYDAY))
    bounds += [
        Bound(f"fairface {g}", everyday & (groups == g), MAX_WOMEN_CALLED_MEN_EVERYDAY_GROUP)
        for g in sorted(set(groups[everyday]))
    ]
    bounds += [
        Bound(f"fairface {a}", everyday & (ages == a), MAX_WOMEN_CALLED_MEN_EVERYDAY_GROUP)
        for a in sorted(set(ages[everyday]))
    ]
    return [b for b in bounds if b.women.any()]


def _highest_kind_cut(p: np.ndarray, bounds: list[Bound], share: float) -> float:
    """Highest cut with women called men within `share` of every bound."""
    best = 0.0
    for cut in np.linspace(0.0, 0.99, 199):
        if any(
            women_called_men(p[b.women], np.ones(b.women.sum(), bool), cut) > b.limit * share
            for b in bounds
        ):
            break
        best = float(cut)
    return best


def beautiful_cut(records: Sequence[Record]) -> float:
    """The median rating of the rated training women (MEBeauty and SCUT, one scale): about
    half of them are beautiful."""
    return float(
        np.median([r.beauty for r in records if r.split == "train" and r.female and r.beauty > 0])
    )


def child_age_cut(age: np.ndarray, records: Sequence[Record]) -> float:
    """The highest cut (see module docstring) keeping adults answered as children within half
    of 3% overall and within 3% in every source and adult age group."""
    adult = np.array([is_adult(r) for r in records])
    sources = np.array([r.source for r in records])
    groups = np.array([age_group(r) for r in records])
    parts = [adult & (sources == s) for s in set(sources[adult])]
    parts += [adult & (groups == g) for g in set(groups[adult]) if g != "unknown"]
    best = float(CHILD_AGE_CUTS[0])
    for cut in CHILD_AGE_CUTS:
        called = age < cut
        if np.mean(called[adult]) > MAX_ADULTS_AS_CHILDREN / 2 or any(
            np.mean(called[part]) > MAX_ADULTS_AS_CHILDREN for part in parts
        ):
            break
        best = float(cut)
    return best


def choose_thresholds(
    p_female: np.ndarray,
    records: Sequence[Record],
    beautiful: float,
    age: np.ndarray | None = None,
) -> Thresholds:
    """The gender cut and the child cut (see module docstring) and the given beauty cut,
    explained."""
    bounds = gender_bounds(records)
    female = np.array([r.female for r in records])
    studio_men = ~female & np.isin([r.source for r in records], STUDIO_SOURCES)
    men = studio_men if studio_men.any() else ~female
    label = "half the bounds"
    cut = _highest_kind_cut(p_female, bounds, 0.5)
    refused = float(np.mean(p_female[men] < cut))
    if refused < MIN_MEN_REFUSED:
        label = "the bounds"
        cut = _highest_kind_cut(p_female, bounds, 1.0)
        refused = float(np.mean(p_female[men] < cut))
    why = (
        f"female if p >= {cut:.3f}: the highest cut keeping women called men within {label} "
        "(1% per studio source, UTKFace, MEBeauty and SCUT; 2% per ethnicity there, 1.5% for "
        "SCUT's Asian women; 3% for FairFace's adult women, 4% per race and adult age group) "
        f"on {len(records)} validation faces; it refuses {refused:.1%} of the studio sources' "
        f"men. Beautiful if the score >= {beautiful:.2f}, the median rating of the training "
        "women of MEBeauty and SCUT."
    )
    child_age = None
    if age is not None:
        child_age = child_age_cut(age, records)
        young = np.array([is_young_child(r) for r in records])
        caught = float(np.mean(age[young] < child_age)) if young.any() else float("nan")
        why += (
            f" A child if the estimated age < {child_age:g}: the highest cut keeping adults "
            f"({ADULT_FROM:g}+) answered as children within 1.5% overall and 3% per source and "
            f"age group; it answers {caught:.1%} of children under 10 as children."
        )
    return Thresholds(
        female=round(cut, 4),
        beautiful=round(beautiful, 4),
        child_age=child_age,
        why=why,
    )
