"""Operating thresholds, chosen on validation data with kindness first.

Calling a woman a man is the worst error the bot can make, so the gender threshold is the
highest probability cut that keeps that error within half the product's bounds (1% overall and
in each source, UTKFace crops and MEBeauty photos; 2% in every ethnicity group) on validation
faces: the other half is left as a safety margin for photos the model has never seen. Where
that margin would refuse fewer than 90% of men, the bounds themselves are used instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from training.datasets import Record
from training.metrics import ethnicity_group, women_called_men

MAX_WOMEN_CALLED_MEN = 0.01
MAX_WOMEN_CALLED_MEN_PER_GROUP = 0.02
MIN_MEN_REFUSED = 0.90


@dataclass(frozen=True, slots=True)
class Thresholds:
    """The operating point and a sentence saying how it was chosen."""

    female: float
    beautiful: float
    why: str


def _highest_kind_cut(
    p: np.ndarray, female: np.ndarray, groups: np.ndarray, sources: np.ndarray, share: float
) -> float:
    """Highest cut with women-called-men within `share` of the bounds: overall, per source
    and per ethnicity group."""
    best = 0.0
    for cut in np.linspace(0.0, 0.99, 199):
        overall = [women_called_men(p, female, cut)] + [
            women_called_men(p[sources == s], female[sources == s], cut) for s in set(sources)
        ]
        if max(overall) > MAX_WOMEN_CALLED_MEN * share:
            break
        per_group = [
            women_called_men(p[groups == g], female[groups == g], cut)
            for g in set(groups)
            if (female & (groups == g)).any()
        ]
        if max(per_group) > MAX_WOMEN_CALLED_MEN_PER_GROUP * share:
            break
        best = float(cut)
    return best


def beautiful_cut(mebeauty: Sequence[Record]) -> float:
    """The median mean rating of MEBeauty's training women: about half of them are beautiful."""
    return float(np.median([r.beauty for r in mebeauty if r.split == "train" and r.female]))


def choose_thresholds(
    p_female: np.ndarray, records: Sequence[Record], beautiful: float
) -> Thresholds:
    """The gender cut (see module docstring) and the given beauty cut, explained."""
    female = np.array([r.female for r in records])
    groups = np.array([ethnicity_group(r) for r in records])
    sources = np.array([r.source for r in records])
    men = ~female
    label = "half the bounds"
    cut = _highest_kind_cut(p_female, female, groups, sources, 0.5)
    refused = float(np.mean(p_female[men] < cut))
    if refused < MIN_MEN_REFUSED:
        label = "the bounds"
        cut = _highest_kind_cut(p_female, female, groups, sources, 1.0)
        refused = float(np.mean(p_female[men] < cut))
    why = (
        f"female if p >= {cut:.3f}: the highest cut keeping women called men within {label} "
        f"(1% overall and per source, 2% per ethnicity) on {len(records)} validation faces; it "
        f"refuses {refused:.1%} of men there. Beautiful if the score >= {beautiful:.2f}, the "
        "median rating of MEBeauty's training women."
    )
    return Thresholds(female=round(cut, 4), beautiful=round(beautiful, 4), why=why)
