"""Xinh's engine: photo bytes -> decoded pixels -> faces -> aligned crops -> models -> verdict.

The public API, flat:

    decode(data, limits) -> Decoded               # upright RGB pixels, or why not
    FaceDetector.create(full, short).detect(px)   # every face, largest first
    align(px, face, size, margin) -> crop         # the one way a face crop is made
    FaceModel.create(models_dir).predict(crop)    # female probability and beauty
    Engine.create().analyze_now(data)             # all of it; `await engine.analyze(data)`

Nothing is loaded at import time: models load in `create`.
"""

from xinh.inference.align import align
from xinh.inference.decode import decode
from xinh.inference.detector import DetectorOptions, FaceDetector
from xinh.inference.engine import Engine, EngineOptions
from xinh.inference.face_model import FaceModel, ModelSpec
from xinh.inference.model_files import detector_files
from xinh.inference.types import Analysis, Attributes, Decoded, Face, Limits, Outcome, RatedFace

__all__ = [
    "Analysis",
    "Attributes",
    "Decoded",
    "DetectorOptions",
    "Engine",
    "EngineOptions",
    "Face",
    "FaceDetector",
    "FaceModel",
    "Limits",
    "ModelSpec",
    "Outcome",
    "RatedFace",
    "align",
    "decode",
    "detector_files",
]
