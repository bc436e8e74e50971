"""Validation metrics for the face model, overall and per gender, ethnicity and age group."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from training.datasets import Record

Z_95 = 1.959964  # the standard normal's 97.5% quantile: two-sided 95% intervals
BOOTSTRAP_SAMPLES = 2000

# The sources name ethnicities differently; reports pool them under one name.
ETHNICITY_GROUP = {
    "caucasian": "white",
    "latino_hispanic": "hispanic",
    "middle_eastern": "mideastern",
}
AGE_GROUPS = ("0-2", "3-9", "10-19", "20-29", "30-39", "40-49", "50-59", "60-69", "70+")
CHILD_BELOW = 13.0  # Xinh rates no one younger
ADULT_FROM = 20.0  # "adults" in the age targets: everyone whose age is known to be 20 or more


def ethnicity_group(record: Record) -> str:
    """The ethnicity name shared across the datasets."""
    return ETHNICITY_GROUP.get(record.ethnicity, record.ethnicity)


def age_group(record: Record) -> str:
    """FairFace's age group of a face whose age (or age group) is known, else "unknown"."""
    if record.age_low != record.age_low:
        return "unknown"
    for group in reversed(AGE_GROUPS):
        if record.age_low >= float(group.rstrip("+").split("-")[0]):
            return group if record.age_high <= _group_end(group) else "unknown"
    return "unknown"


def _group_end(group: str) -> float:
    return float("inf") if group.endswith("+") else float(group.split("-")[1]) + 1


def is_child(record: Record) -> bool:
    """Known to be under 13."""
    return record.age_high <= CHILD_BELOW


def is_young_child(record: Record) -> bool:
    """Known to be under 10 (the children the age target counts)."""
    return record.age_high <= 10


def is_adult(record: Record) -> bool:
    """Known to be 20 or older."""
    return record.age_low >= ADULT_FROM


def may_be_rated(record: Record) -> bool:
    """Not known to be under 13 or in FairFace's 10-19 group: the faces gender bounds cover."""
    return not record.age_low < CHILD_BELOW


def women_called_men(p_female: np.ndarray, female: np.ndarray, threshold: float) -> float:
    """Share of women whose probability falls below the threshold (NaN without women)."""
    women = p_female[female]
    return float(np.mean(women < threshold)) if len(women) else float("nan")


def men_refused(p_female: np.ndarray, female: np.ndarray, threshold: float) -> float:
    """Share of men whose probability falls below the threshold (NaN without men)."""
    men = p_female[~female]
    return float(np.mean(men < threshold)) if len(men) else float("nan")


def wilson_interval(share: float, n: int) -> tuple[float, float]:
    """95% Wilson score interval of a proportion `share` observed in `n` trials: where the rate
    on unseen photos like these may lie."""
    centre = (share + Z_95**2 / (2 * n)) / (1 + Z_95**2 / n)
    half = Z_95 * np.sqrt(share * (1 - share) / n + Z_95**2 / (4 * n**2)) / (1 + Z_95**2 / n)
    return float(max(0.0, centre - half)), float(min(1.0, centre + half))


def share_text(hits: Sequence[bool]) -> str:
    """The share of hits with its 95% interval and count, as the reports print it (a dash for
    none)."""
    if not len(hits):
        return "—"
    low, high = wilson_interval(float(np.mean(hits)), len(hits))
    return f"{np.mean(hits):.1%} [{low:.1%}–{high:.1%}] ({len(hits)})"


def pearson_interval(r: float, n: int) -> tuple[float, float]:
    """95% interval of a Pearson correlation `r` over `n` pairs (Fisher's z transform; NaN
    below four pairs)."""
    if n < 4:
        return float("nan"), float("nan")
    z, spread = np.arctanh(r), Z_95 / np.sqrt(n - 3)
    return float(np.tanh(z - spread)), float(np.tanh(z + spread))


def mae_interval(errors: np.ndarray, seed: int = 0) -> tuple[float, float]:
    """95% bootstrap (percentile) interval of the mean of absolute `errors` (NaN if none)."""
    if not len(errors):
        return float("nan"), float("nan")
    draws = np.random.default_rng(seed).integers(0, len(errors), (BOOTSTRAP_SAMPLES, len(errors)))
    means = np.abs(errors)[draws].mean(axis=1)
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def pooled_60_plus(m: dict) -> dict[str, tuple[float, int]]:
    """Women called men per adult age group with 60-69 and 70+ pooled, and the women counted."""
    shares, counts = m.get("women_called_men_by_age", {}), m.get("women_by_age", {})
    pooled: dict[str, tuple[float, int]] = {}
    for group, n in counts.items():
        key = "60+" if group in ("60-69", "70+") else group
        errors, women = pooled.get(key, (0.0, 0))
        pooled[key] = (errors + shares[group] * n, women + n)
    return {g: (e / n, n) for g, (e, n) in pooled.items() if g not in ("10-19",) and n}


def child_metrics(age: np.ndarray, records: Sequence[Record], child_age: float) -> dict:
    """Shares answered as children (estimated age under `child_age`): of children under 10,
    and of adults 20 and older; and the age error where the age is known exactly."""
    child = age < child_age
    young = np.array([is_young_child(r) for r in records])
    adult = np.array([is_adult(r) for r in records])
    exact = np.array([r.age for r in records])
    known = np.isfinite(exact)
    return {
        "children_answered_as_children": float(np.mean(child[young])) if young.any() else None,
        "children": int(young.sum()),
        "adults_answered_as_children": float(np.mean(child[adult])) if adult.any() else None,
        "adults": int(adult.sum()),
        "age_mae_years": float(np.mean(np.abs(age[known] - exact[known]))) if known.any() else None,
    }


def evaluate_predictions(
    outputs: dict[str, np.ndarray],
    records: Sequence[Record],
    threshold: float,
    child_age: float | None = None,
) -> dict:
    """Gender accuracy and error rates at `threshold` (on faces that may be rated, see
    `may_be_rated`), women-called-men per ethnicity and age group, children answered as
    children at `child_age` (with an "age" output), and beauty correlation/MAE/RMSE (women,
    and everyone) where ratings exist, with 95% intervals for the correlation and the MAE."""
    rated = np.array([may_be_rated(r) for r in records], dtype=bool)
    extra = {}
    if child_age is not None and "age" in outputs:
        extra = child_metrics(np.asarray(outputs["age"], np.float64), records, child_age)
    outputs = {k: np.asarray(v)[rated] for k, v in outputs.items()}
    records = [r for r, keep in zip(records, rated, strict=True) if keep]
    p = np.asarray(outputs["female"], dtype=np.float64)
    female = np.array([r.female for r in records])
    groups = np.array([ethnicity_group(r) for r in records])
    predicted_female = p >= threshold
    result = {
        "faces": len(records),
        "gender_accuracy": float(np.mean(predicted_female == female)),
        "women_called_men": women_called_men(p, female, threshold),
        "men_refused": float(np.mean(~predicted_female[~female])) if (~female).any() else None,
        "women_called_men_by_ethnicity": {
            g: women_called_men(p[groups == g], female[groups == g], threshold)
            for g in sorted(set(groups))
        },
        "women_by_ethnicity": {g: int(np.sum(female & (groups == g))) for g in sorted(set(groups))},
        "men_refused_by_ethnicity": {
            g: men_refused(p[groups == g], female[groups == g], threshold)
            for g in sorted(set(groups))
        },
        "men_by_ethnicity": {g: int(np.sum(~female & (groups == g))) for g in sorted(set(groups))},
        **_by_age_group(p, female, records, threshold),
        **extra,
    }
    truth = np.array([r.beauty for r in records], dtype=np.float64)
    if np.isfinite(truth).any():
        predicted = np.asarray(outputs["beauty"], dtype=np.float64)
        for name, rows in (("women", female), ("everyone", np.ones_like(female))):
            t, b = truth[rows], predicted[rows]
            pearson = float(np.corrcoef(t, b)[0, 1])
            result[f"beauty_{name}"] = {
                "pearson": pearson,
                "pearson_interval": pearson_interval(pearson, len(t)),
                "mae": float(np.mean(np.abs(t - b))),
                "mae_interval": mae_interval(t - b),
                "rmse": float(np.sqrt(np.mean((t - b) ** 2))),
            }
    return result


def _by_age_group(
    p: np.ndarray, female: np.ndarray, records: Sequence[Record], threshold: float
) -> dict:
    """Women called men and men refused per age group, where ages are known."""
    ages = np.array([age_group(r) for r in records])
    with_women = [g for g in AGE_GROUPS if (female & (ages == g)).any()]
    with_men = [g for g in AGE_GROUPS if (~female & (ages == g)).any()]
    if not with_women and not with_men:
        return {}
    return {
        "women_called_men_by_age": {
            g: women_called_men(p[ages == g], female[ages == g], threshold) for g in with_women
        },
        "women_by_age": {g: int(np.sum(female & (ages == g))) for g in with_women},
        "men_refused_by_age": {
            g: men_refused(p[ages == g], female[ages == g], threshold) for g in with_men
        },
        "men_by_age": {g: int(np.sum(~female & (ages == g))) for g in with_men},
    }
