"""How far the frozen features available here reach on MEBeauty's beauty ratings.

The shipped network rates women's beauty at Pearson ~0.63 on validation, short of the 0.75 the
project aims at. This measures the ceiling of what the parts at hand can teach it: a ridge
regression (penalty by 5-fold cross validation on MEBeauty's training faces, both genders) on
each frozen feature set found in registry packages, alone and together, and each averaged with
the shipped model's own score, on the validation women. Feature sets: dlib's face-recognition
embeddings (the teacher), ImageNet MobileNetV2 at 224 px, and FaceNet (training/facenet.py).
All see the engine's own aligned crops. A training tool: nothing here ships.

    python -m training.feature_ceiling
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from training.configurator import settings_of
from training.datasets import Record, cached_crops, mebeauty_records
from training.facenet import CROP_MARGIN, CROP_SIZE, cached_facenet_embeddings
from training.peer_env import peer_python
from training.teacher import embeddings, fit_ridge_cv, standardised
from xinh.inference.face_model import FaceModel, ModelSpec

# --- settings (override any as --name=value) ---------------------------------------------
data_dir = "../shared/data"
cache_dir = ".cache"
peer_env = ".cache/peer-venv"
models_dir = "models"
processes = 2  # dlib embedding workers
# -------------------------------------------------------------------------------------------

IMAGENET_SIZE = 224


@dataclass(frozen=True, slots=True)
class Readout:
    """One feature set's figures on MEBeauty's validation women."""

    name: str
    pearson: float
    mae: float


def imagenet_features(crops: np.ndarray, cache: Path) -> np.ndarray:
    """(N, 1280) global-average-pooled ImageNet MobileNetV2 features at 224 px."""
    import keras

    from training.imagenet_weights import mobilenet_v2_imagenet, normalise

    backbone = mobilenet_v2_imagenet((IMAGENET_SIZE, IMAGENET_SIZE, 3), cache_dir=cache)
    pooled = keras.Sequential([backbone, keras.layers.GlobalAveragePooling2D()])
    resized = [cv2.resize(c, (IMAGENET_SIZE,) * 2, interpolation=cv2.INTER_AREA) for c in crops]
    return pooled.predict(np.stack([normalise(c) for c in resized]), batch_size=64, verbose=0)


def shipped_scores(records: list[Record], models: Path, cache: Path) -> np.ndarray:
    """The shipped model's beauty score of every record's face (NaN where none was found)."""
    spec = ModelSpec.load(models)
    crops, found = cached_crops(records, spec.input_size, spec.margin, cache / "crops", "mebeauty")
    model = FaceModel(spec)
    return np.array(
        [model.predict(c).beauty if f else np.nan for c, f in zip(crops, found, strict=True)]
    )


def standardised_set(x: np.ndarray) -> np.ndarray:
    """One feature set standardised, so that one grid of penalties suits every set."""
    return standardised({"mebeauty": x})["mebeauty"]


def readout(name: str, guess: np.ndarray, truth: np.ndarray) -> Readout:
    """How well `guess` follows `truth`: Pearson correlation and mean absolute error."""
    pearson = float(np.corrcoef(guess, truth)[0, 1])
    return Readout(name, pearson, float(np.abs(guess - truth).mean()))


def main() -> None:
    settings = settings_of(globals(), sys.argv[1:])
    cache = Path(settings["cache_dir"])
    records = mebeauty_records(Path(settings["data_dir"]) / "mebeauty")
    crops, found = cached_crops(records, CROP_SIZE, CROP_MARGIN, cache / "crops", "mebeauty")
    features = {
        "dlib embeddings": embeddings(
            records,
            "mebeauty",
            cache,
            peer_python(Path(settings["peer_env"])),
            settings["processes"],
        ),
        "ImageNet MobileNetV2, 224 px": np.full((len(records), 1280), np.nan, np.float32),
        "FaceNet": cached_facenet_embeddings(records, "mebeauty", cache),
    }
    features["ImageNet MobileNetV2, 224 px"][found] = imagenet_features(crops[found], cache)
    features["all three"] = np.hstack([standardised_set(x) for x in features.values()])
    shipped = shipped_scores(records, Path(settings["models_dir"]), cache)
    usable = np.all([np.isfinite(x).all(axis=1) for x in features.values()], axis=0)
    train = np.array([r.split == "train" for r in records]) & usable
    women = np.array([r.split == "val" and r.female for r in records]) & usable
    women &= np.isfinite(shipped)
    beauty = np.array([r.beauty for r in records])
    rows = [readout("shipped model", shipped[women], beauty[women])]
    for name, x in features.items():
        x = standardised_set(x)
        ridge = fit_ridge_cv(x[train], beauty[train])
        guess = ridge.predict(x[women])
        rows.append(readout(name, guess, beauty[women]))
        rows.append(readout(f"{name} + shipped model", (guess + shipped[women]) / 2, beauty[women]))
    print(f"MEBeauty validation women: {women.sum()}; ridges fitted on {train.sum()} faces")
    print("| features | Pearson | MAE |\n| --- | --- | --- |")
    for row in rows:
        print(f"| {row.name} | {row.pearson:.3f} | {row.mae:.3f} |")


if __name__ == "__main__":
    main()
