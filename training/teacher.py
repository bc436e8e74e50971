"""The teacher: face-recognition embeddings, and what simple models read from them.

MEBeauty has 1.7k rated faces, and a network fine-tuned on them alone overfits them. A ridge
regression on the embeddings of a face-recognition network (dlib's CC0 ResNet, run in the peer
environment) generalises better and can rate any face; a logistic regression on the same
embeddings tells women from men better than the student. Models 1.0 and 1.1 learnt from all
three (the teacher's ratings of UTKFace's faces as extra beauty targets, its probabilities of
female mixed into the gender targets, and the embeddings themselves; the model card's
Training section names the commit where that training code lives); training.feature_ceiling
still measures with it. The teacher sees the crops of the engine's own detector and aligner;
it never ships.

    python -m training.teacher      # embed (cached), fit, print its validation figures
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from training.configurator import settings_of
from training.datasets import (
    Record,
    apply_review,
    cached_crops,
    crop_cache_path,
    load_label_review,
    mebeauty_records,
    utkface_records,
)
from training.peer_env import peer_python

# --- settings (override any as --name=value) ---------------------------------------------
data_dir = "../shared/data"
cache_dir = ".cache"
peer_env = ".cache/peer-venv"
processes = 2  # embedding workers
label_review = "training/label_review.csv"  # the UTKFace labels the gender probe learns from
# -------------------------------------------------------------------------------------------

CROP_SIZE, MARGIN = 128, 0.25  # the teacher's crops, re-aligned by dlib into its 150 px chips
ALPHAS = (0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0, 3000.0)
FOLDS = 5


@dataclass(frozen=True, slots=True)
class Ridge:
    """A fitted ridge regression: rating = (embedding - mean) @ weights + bias."""

    mean: np.ndarray
    weights: np.ndarray
    bias: float
    alpha: float

    def predict(self, x: np.ndarray) -> np.ndarray:
        return (x - self.mean) @ self.weights + self.bias


def fit_ridge(x: np.ndarray, y: np.ndarray, alpha: float) -> Ridge:
    """Least squares with an L2 penalty `alpha` on the weights (the bias is free)."""
    mean = x.mean(axis=0)
    centred = x - mean
    weights = np.linalg.solve(
        centred.T @ centred + alpha * np.eye(x.shape[1]), centred.T @ (y - y.mean())
    )
    return Ridge(mean, weights, float(y.mean()), alpha)


@dataclass(frozen=True, slots=True)
class GenderProbe:
    """A fitted logistic regression: P(female) = sigmoid((embedding - mean) @ weights + bias)."""

    mean: np.ndarray
    weights: np.ndarray
    bias: float

    def predict(self, x: np.ndarray) -> np.ndarray:
        return 1 / (1 + np.exp(-((x - self.mean) @ self.weights + self.bias)))


def fit_gender_probe(x: np.ndarray, female: np.ndarray, penalty: float = 1.0) -> GenderProbe:
    """Logistic regression by Newton's method, with an L2 `penalty` on the weights (not the
    bias); 20 steps reach the optimum of this convex loss."""
    mean = x.mean(axis=0)
    design = np.hstack([x - mean, np.ones((len(x), 1))]).astype(np.float64)
    target = female.astype(np.float64)
    ridge = penalty * np.eye(design.shape[1])
    ridge[-1, -1] = 0.0
    w = np.zeros(design.shape[1])
    for _ in range(20):
        p = 1 / (1 + np.exp(-design @ w))
        hessian = (design * (p * (1 - p))[:, None]).T @ design + ridge
        w -= np.linalg.solve(hessian, design.T @ (p - target) + ridge @ w)
    return GenderProbe(mean, w[:-1], float(w[-1]))


def fit_ridge_cv(x: np.ndarray, y: np.ndarray, seed: int = 0) -> Ridge:
    """The ridge regression whose penalty (one of ALPHAS) has the lowest squared error in
    k-fold cross validation on these (training) faces."""
    folds = np.random.default_rng(seed).permutation(len(x)) % FOLDS

    def cv_error(alpha: float) -> float:
        errors = []
        for k in range(FOLDS):
            held = folds == k
            ridge = fit_ridge(x[~held], y[~held], alpha)
            errors.append(np.mean((ridge.predict(x[held]) - y[held]) ** 2))
        return float(np.mean(errors))

    return fit_ridge(x, y, min(ALPHAS, key=cv_error))


def embeddings(
    records: list[Record], name: str, cache: Path, python: Path, workers: int
) -> np.ndarray:
    """(N, 128) face-recognition embeddings of each record's crop (NaN where no face was
    found), computed by `workers` peer processes once, then read from `cache`."""
    crops_file = crop_cache_path(records, CROP_SIZE, MARGIN, cache / "crops", name)
    stored = cache / "teacher" / f"{crops_file.stem}-dlib.npz"
    if not stored.exists():
        if not crops_file.exists():
            cached_crops(records, CROP_SIZE, MARGIN, cache / "crops", name)
        script = Path(__file__).with_name("teacher_embed.py")
        with tempfile.TemporaryDirectory() as scratch:
            parts = [Path(scratch) / f"{part}.npz" for part in range(workers)]
            running = [
                subprocess.Popen(
                    [
                        str(python),
                        str(script),
                        str(crops_file),
                        str(MARGIN),
                        str(out),
                        str(part),
                        str(workers),
                    ]
                )
                for part, out in enumerate(parts)
            ]
            if any([process.wait() for process in running]):  # wait for all, then check
                raise SystemExit(f"teacher embeddings of {name} failed (see above)")
            result = np.full((len(records), 128), np.nan, np.float32)
            for out in parts:
                with np.load(out) as part:
                    result[part["rows"]] = part["embeddings"]
        stored.parent.mkdir(parents=True, exist_ok=True)
        np.savez(stored, embeddings=result)
    with np.load(stored) as saved:
        return saved["embeddings"]


def standardised(x: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Each embedding dimension scaled to mean 0 and variance 1 over the faces of every
    source (NaN rows, faces not found, stay NaN)."""
    known = np.concatenate([e[np.isfinite(e).all(axis=1)] for e in x.values()])
    centre, spread = known.mean(axis=0), known.std(axis=0)
    return {source: (e - centre) / spread for source, e in x.items()}


def teacher_embeddings(
    records: dict[str, list[Record]], cache: Path, python: Path, workers: int = 2
) -> dict[str, np.ndarray]:
    """Every record's face-recognition embedding per source (see `embeddings`)."""
    return {name: embeddings(recs, name, cache, python, workers) for name, recs in records.items()}


def teacher_ratings(
    records: dict[str, list[Record]], x: dict[str, np.ndarray]
) -> tuple[dict[str, np.ndarray], Ridge]:
    """The teacher's rating of every record's face per source from its embeddings `x` (NaN
    where no face), and the ridge regression fitted on MEBeauty's training faces (both
    genders) that made them."""
    rated = [
        i
        for i, r in enumerate(records["mebeauty"])
        if r.split == "train" and np.isfinite(x["mebeauty"][i]).all()
    ]
    ridge = fit_ridge_cv(
        x["mebeauty"][rated], np.array([records["mebeauty"][i].beauty for i in rated])
    )
    return {name: ridge.predict(emb).astype(np.float32) for name, emb in x.items()}, ridge


def gender_probe(records: dict[str, list[Record | None]], x: dict[str, np.ndarray]) -> GenderProbe:
    """The logistic regression from embeddings `x` to gender, fitted on the training faces of
    every source (records that are None, left out by a label review, are skipped)."""
    rows = {
        name: [
            i
            for i, r in enumerate(recs)
            if r and r.split == "train" and np.isfinite(x[name][i]).all()
        ]
        for name, recs in records.items()
    }
    return fit_gender_probe(
        np.concatenate([x[name][i] for name, i in rows.items()]),
        np.concatenate([[records[name][k].female for k in i] for name, i in rows.items()]),
    )


def main() -> None:
    settings = settings_of(globals(), sys.argv[1:])
    data = Path(settings["data_dir"])
    records = {
        "utkface": utkface_records(data / "utkface"),
        "mebeauty": mebeauty_records(data / "mebeauty"),
    }
    embedded = teacher_embeddings(
        records,
        Path(settings["cache_dir"]),
        peer_python(Path(settings["peer_env"])),
        settings["processes"],
    )
    ratings, ridge = teacher_ratings(records, embedded)
    meb = records["mebeauty"]
    for label, women_only in (("women", True), ("everyone", False)):
        rows = [
            i
            for i, r in enumerate(meb)
            if r.split == "val"
            and np.isfinite(ratings["mebeauty"][i])
            and (r.female or not women_only)
        ]
        truth = np.array([meb[i].beauty for i in rows])
        guess = ratings["mebeauty"][rows]
        pearson, mae = np.corrcoef(truth, guess)[0, 1], np.mean(np.abs(truth - guess))
        print(
            f"teacher on MEBeauty val ({label}, {len(rows)} faces): "
            f"Pearson {pearson:.3f}, MAE {mae:.3f}"
        )
    print(
        f"ridge penalty chosen by {FOLDS}-fold cross validation on training faces: {ridge.alpha:g}"
    )
    if settings["label_review"]:
        review = load_label_review(Path(settings["label_review"]))
        records["utkface"] = apply_review(records["utkface"], review)
    probe = gender_probe(records, embedded)
    for name, recs in records.items():
        female = probe.predict(embedded[name])
        rows = [i for i, r in enumerate(recs) if r and r.split == "val" and np.isfinite(female[i])]
        right = np.mean([(female[i] >= 0.5) == recs[i].female for i in rows])
        print(f"gender probe on {name} val ({len(rows)} faces): accuracy at 0.5 {right:.1%}")


if __name__ == "__main__":
    main()
