"""Validation metrics for the face model, overall and per gender and ethnicity."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from training.datasets import Record

Z_95 = 1.959964  # the standard normal's 97.5% quantile: two-sided 95% intervals
BOOTSTRAP_SAMPLES = 2000

# UTKFace and MEBeauty name ethnicities differently; reports pool them under one name.
ETHNICITY_GROUP = {"white": "white", "caucasian": "white"}


def ethnicity_group(record: Record) -> str:
    """The ethnicity name shared across both datasets."""
    return ETHNICITY_GROUP.get(record.ethnicity, record.ethnicity)


def women_called_men(p_female: np.ndarray, female: np.ndarray, threshold: float) -> float:
    """Share of women whose probability falls below the threshold (NaN without women)."""
    women = p_female[female]
    return float(np.mean(women < threshold)) if len(women) else float("nan")


def wilson_interval(share: float, n: int) -> tuple[float, float]:
    """95% Wilson score interval of a proportion `share` observed in `n` trials: where the rate
    on unseen photos like these may lie."""
    centre = (share + Z_95**2 / (2 * n)) / (1 + Z_95**2 / n)
    half = Z_95 * np.sqrt(share * (1 - share) / n + Z_95**2 / (4 * n**2)) / (1 + Z_95**2 / n)
    return float(max(0.0, centre - half)), float(min(1.0, centre + half))


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


def evaluate_predictions(
    outputs: dict[str, np.ndarray], records: Sequence[Record], threshold: float
) -> dict:
    """Gender accuracy and error rates at `threshold`, per-ethnicity women-called-men, and
    beauty correlation/MAE/RMSE (women, and everyone) where ratings exist, with 95% intervals
    for the correlation and the MAE."""
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
