"""Issue 19's aims for the shipped model, each a figure read from validation metrics and its
bound: the one list that `evaluate` reports (with intervals) and `crossfit` holds models to.

Metrics are `training.metrics.evaluate_predictions` results per source ("utkface", "mebeauty",
"fairface", "scut") and for FairFace's adults ("fairface adults").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from training.metrics import pooled_60_plus


@dataclass(frozen=True)
class Figure:
    """One aim's figure: its value, the faces it is a share of, which group a worst-group figure
    comes from, and a correlation's 95% interval (a share's is computed from `faces`)."""

    value: float
    faces: int
    group: str = ""
    interval: tuple[float, float] | None = None


@dataclass(frozen=True)
class Aim:
    """One aim: a figure read from per-source metrics, and its bound."""

    name: str
    figure: Callable[[dict], Figure]
    bound: float
    at_least: bool  # True: the figure must reach the bound; False: stay within it

    def met(self, value: float) -> bool:
        """Whether `value` meets the aim (NaN meets none)."""
        return value >= self.bound if self.at_least else value <= self.bound


def women_in(m: dict) -> int:
    """How many women a source's metrics counted."""
    return sum(m["women_by_ethnicity"].values())


def men_in(m: dict) -> int:
    """How many men a source's metrics counted."""
    return m["faces"] - women_in(m)


def worst(shares: dict[str, float], counts: dict[str, int]) -> tuple[str, float, int]:
    """The group with the highest share (its name, share and count); NaN with no group."""
    if not shares:
        return "none", float("nan"), 0
    name = max(shares, key=lambda g: shares[g])
    return name, shares[name], counts[name]


def _women_called_men(source: str) -> Callable[[dict], Figure]:
    return lambda m: Figure(m[source]["women_called_men"], women_in(m[source]))


def _men_refused(source: str) -> Callable[[dict], Figure]:
    return lambda m: Figure(m[source]["men_refused"], men_in(m[source]))


def _adults_as_children(source: str) -> Callable[[dict], Figure]:
    return lambda m: Figure(m[source]["adults_answered_as_children"], m[source]["adults"])


def _pearson(source: str) -> Callable[[dict], Figure]:
    def read(m: dict) -> Figure:
        beauty = m[source]["beauty_women"]
        return Figure(beauty["pearson"], 0, interval=tuple(beauty["pearson_interval"]))

    return read


def _asian_women_called_men(m: dict) -> Figure:
    scut = m["scut"]
    return Figure(
        scut["women_called_men_by_ethnicity"].get("asian", float("nan")),
        scut["women_by_ethnicity"].get("asian", 0),
    )


def _worst_adult_age_group(m: dict) -> Figure:
    """Women called men in FairFace's worst adult age group, 60-69 and 70+ pooled."""
    ages = pooled_60_plus(m["fairface adults"])
    group, share, n = worst({g: v[0] for g, v in ages.items()}, {g: v[1] for g, v in ages.items()})
    return Figure(share, n, group)


def _worst_adult_race_group(m: dict) -> Figure:
    adults = m["fairface adults"]
    group, share, n = worst(adults["women_called_men_by_ethnicity"], adults["women_by_ethnicity"])
    return Figure(share, n, group)


def _children_as_children(m: dict) -> Figure:
    return Figure(m["fairface"]["children_answered_as_children"], m["fairface"]["children"])


STUDIO = (("UTKFace", "utkface"), ("MEBeauty", "mebeauty"), ("SCUT", "scut"))

AIMS = (
    *(Aim(f"women called men, {n}", _women_called_men(s), 0.01, False) for n, s in STUDIO),
    Aim("women called men, SCUT's Asian women", _asian_women_called_men, 0.015, False),
    Aim(
        "women called men, FairFace adults (20+)", _women_called_men("fairface adults"), 0.03, False
    ),
    Aim("women called men, FairFace worst adult age group", _worst_adult_age_group, 0.05, False),
    Aim("women called men, FairFace worst adult race group", _worst_adult_race_group, 0.05, False),
    *(Aim(f"men refused, {n}", _men_refused(s), 0.93, True) for n, s in STUDIO),
    Aim("men refused, FairFace adults (20+)", _men_refused("fairface adults"), 0.80, True),
    Aim("children 0-9 answered as children (FairFace)", _children_as_children, 0.90, True),
    Aim("adults 20+ answered as children, UTKFace", _adults_as_children("utkface"), 0.03, False),
    Aim("adults 20+ answered as children, FairFace", _adults_as_children("fairface"), 0.03, False),
    Aim("beauty Pearson, women, SCUT", _pearson("scut"), 0.85, True),
    Aim("beauty Pearson, women, MEBeauty", _pearson("mebeauty"), 0.70, True),
)
