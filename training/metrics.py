"""Validation metrics for the face model, overall and per gender and ethnicity."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from training.datasets import Record

# UTKFace and MEBeauty name ethnicities differently; reports pool them under one name.
ETHNICITY_GROUP = {"white": "white", "caucasian": "white"}


def ethnicity_group(record: Record) -> str:
    """The ethnicity name shared across both datasets."""
    return ETHNICITY_GROUP.get(record.ethnicity, record.ethnicity)


def women_called_men(p_female: np.ndarray, female: np.ndarray, threshold: float) -> float:
    """Share of women whose probability falls below the threshold (NaN without women)."""
    women = p_female[female]
    return float(np.mean(women < threshold)) if len(women) else float("nan")


def evaluate_predictions(
    outputs: dict[str, np.ndarray], records: Sequence[Record], threshold: float
) -> dict:
    """Gender accuracy and error rates at `threshold`, per-ethnicity women-called-men, and
    beauty correlation/MAE/RMSE (women, and everyone) where ratings exist."""
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
            result[f"beauty_{name}"] = {
                "pearson": float(np.corrcoef(t, b)[0, 1]),
                "mae": float(np.mean(np.abs(t - b))),
                "rmse": float(np.sqrt(np.mean((t - b) ** 2))),
            }
    return result
