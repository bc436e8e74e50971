"""The face model: one LiteRT call per aligned face; probability of a woman's face, beauty
score and, where the model has one, estimated age.

Its metadata file (models/xinh-face.json) says how to feed it (crop size, margin,
normalisation, whether to average each face with its mirror image) and holds the operating
thresholds, so none of them live in code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from xinh.inference.types import Attributes

METADATA_FILE = "xinh-face.json"


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """What the metadata file says: the model file, its input, and the thresholds."""

    path: Path
    version: str
    input_size: int
    margin: float
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    mirror_average: bool
    female_threshold: float
    beautiful_threshold: float
    child_age: float | None = None  # faces estimated younger are children's (None: no age)

    @classmethod
    def load(cls, models_dir: Path) -> ModelSpec:
        """Read models_dir/xinh-face.json; the model file sits beside it."""
        meta = json.loads((models_dir / METADATA_FILE).read_text())
        return cls(
            path=models_dir / meta["model_file"],
            version=meta["version"],
            input_size=int(meta["input"]["size"]),
            margin=float(meta["input"]["margin"]),
            mean=tuple(meta["input"]["mean"]),
            std=tuple(meta["input"]["std"]),
            mirror_average=bool(meta["input"].get("mirror_average", False)),
            female_threshold=float(meta["thresholds"]["female"]),
            beautiful_threshold=float(meta["thresholds"]["beautiful"]),
            child_age=meta["thresholds"].get("child_age"),
        )


class FaceModel:
    """Runs the exported model on aligned crops. Not thread-safe: use one per thread."""

    def __init__(self, spec: ModelSpec) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self.spec = spec
        self._interpreter = Interpreter(model_path=str(spec.path), num_threads=1)
        self._input = self._interpreter.get_input_details()[0]["index"]
        self._batch = 2 if spec.mirror_average else 1
        self._interpreter.resize_tensor_input(self._input, [self._batch, *[spec.input_size] * 2, 3])
        self._interpreter.allocate_tensors()
        outputs = self._interpreter.get_signature_runner().get_output_details()
        self._female, self._beauty = outputs["female"]["index"], outputs["beauty"]["index"]
        self._log_age = outputs["log_age"]["index"] if "log_age" in outputs else None
        self._mean = np.array(spec.mean, dtype=np.float32) * 255
        self._inv_std = 1 / (np.array(spec.std, dtype=np.float32) * 255)

    @classmethod
    def create(cls, models_dir: Path) -> FaceModel:
        """Load the model that models_dir's metadata file names."""
        return cls(ModelSpec.load(models_dir))

    def predict(self, crop: np.ndarray) -> Attributes:
        """Attributes of one aligned `input_size` square uint8 RGB crop.

        With `mirror_average`, the crop and its mirror image go through as one batch of two
        and their outputs are averaged: steadier than either alone, for one call.
        """
        tensor = (crop.astype(np.float32) - self._mean) * self._inv_std
        batch = np.stack([tensor, tensor[:, ::-1]][: self._batch])
        self._interpreter.set_tensor(self._input, batch)
        self._interpreter.invoke()
        female = float(self._interpreter.get_tensor(self._female).mean())
        beauty = float(self._interpreter.get_tensor(self._beauty).mean())
        age = None
        if self._log_age is not None:
            age = max(0.0, float(np.expm1(self._interpreter.get_tensor(self._log_age).mean())))
        return Attributes(female_probability=female, beauty=min(10.0, max(1.0, beauty)), age=age)
