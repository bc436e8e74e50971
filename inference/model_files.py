"""Where model files live: inside the installed `xinh.models` package (Xinh's own face model
and the BlazeFace detectors it ships), or Xinh's model in $XINH_MODELS_DIR."""

from __future__ import annotations

import importlib.resources
import os
from pathlib import Path

FULL_RANGE_FILE = "face_detection_full_range.tflite"
SHORT_RANGE_FILE = "face_detection_short_range.tflite"


class ModelFilesMissing(RuntimeError):
    """A model file the engine needs is not installed; the message names the fix."""


def bundled_models_dir() -> Path:
    """The `xinh.models` package's folder (models/ in a checkout)."""
    return Path(str(importlib.resources.files("xinh.models")))


def detector_files() -> tuple[Path, Path]:
    """Paths of the full-range and short-range BlazeFace models shipped with Xinh."""
    folder = bundled_models_dir() / "blazeface"
    paths = folder / FULL_RANGE_FILE, folder / SHORT_RANGE_FILE
    missing = [path.name for path in paths if not path.is_file()]
    if missing:
        raise ModelFilesMissing(
            f"BlazeFace model {', '.join(missing)} missing from {folder}: reinstall Xinh"
        )
    return paths


def models_dir() -> Path:
    """The folder of Xinh's own model: $XINH_MODELS_DIR, else the one shipped with Xinh."""
    configured = os.environ.get("XINH_MODELS_DIR")
    return Path(configured) if configured else bundled_models_dir()
