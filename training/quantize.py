"""Try an int8 LiteRT export of the trained network and say whether it keeps every figure.

Converts the SavedModel that training.train exported (`cache_dir/saved_model`) with full
integer quantization (float input and output, int8 inside), calibrated on training crops, then
answers the validation crops of every source with both the float and the int8 model through
`inference.face_model.FaceModel` (the bots' own code, mirror pass included), and prints each
source's figures at the shipped thresholds side by side with the time per face. The int8 file
is written next to the float one only with `--write=true`; shipping it is a decision for the
model card.

    python -m training.quantize                  # compare only
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from training.configurator import settings_of

# --- settings (override any as --name=value) ---------------------------------------------
data_dir = "../shared/data"
models_dir = "models"
cache_dir = ".cache"
calibration_faces = 300
write = False  # also write models/xinh_face_int8.tflite
seed = 1337
# -------------------------------------------------------------------------------------------
SETTINGS = settings_of(dict(globals()), sys.argv[1:])
globals().update(SETTINGS)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import tensorflow as tf  # noqa: E402

from training.augment import normalise  # noqa: E402
from training.datasets import all_records, cached_crops  # noqa: E402
from training.metrics import evaluate_predictions  # noqa: E402
from xinh.inference.face_model import FaceModel, ModelSpec  # noqa: E402

spec = ModelSpec.load(Path(models_dir))
records, _ = all_records(Path(data_dir))
crops = {
    name: cached_crops(recs, spec.input_size, spec.margin, Path(cache_dir) / "crops", name)
    for name, recs in records.items()
}
rng = np.random.default_rng(seed)
train_pixels = np.concatenate(
    [pixels[[i for i, r in enumerate(records[s]) if r.split == "train" and found[i]]]
     for s, (pixels, found) in crops.items()]
)  # fmt: skip
calibration = train_pixels[rng.permutation(len(train_pixels))[:calibration_faces]]


def representative():
    for crop in calibration:
        yield [np.asarray(normalise(crop[None]))]


converter = tf.lite.TFLiteConverter.from_saved_model(str(Path(cache_dir) / "saved_model"))
converter.optimizations = [tf.lite.Optimize.DEFAULT]
converter.representative_dataset = representative
converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
int8_bytes = converter.convert()
int8_file = Path(cache_dir) / "xinh_face_int8.tflite"
int8_file.write_bytes(int8_bytes)


def answers(model: FaceModel, pixels: np.ndarray) -> tuple[dict[str, np.ndarray], float]:
    """The model's outputs on crops, and its mean seconds per face."""
    started = time.perf_counter()
    found = [model.predict(crop) for crop in pixels]
    seconds = (time.perf_counter() - started) / max(1, len(pixels))
    return {
        "female": np.array([a.female_probability for a in found]),
        "beauty": np.array([a.beauty for a in found]),
        "age": np.array([np.nan if a.age is None else a.age for a in found]),
    }, seconds


models = {"float32": FaceModel(spec), "int8": FaceModel(replace(spec, path=int8_file))}
report = {}
for source, (pixels, found) in crops.items():
    rows = [i for i, r in enumerate(records[source]) if r.split == "val" and found[i]]
    recs = [records[source][i] for i in rows]
    for name, model in models.items():
        outputs, seconds = answers(model, pixels[rows])
        metrics = evaluate_predictions(outputs, recs, spec.female_threshold, spec.child_age)
        report.setdefault(source, {})[name] = {"ms_per_face": 1000 * seconds, **metrics}
        beauty = metrics.get("beauty_women", {}).get("pearson")
        print(
            f"{source:9} {name:8} {1000 * seconds:5.2f} ms/face  women called men "
            f"{metrics['women_called_men']:.4f}  men refused {metrics['men_refused']:.4f}  "
            f"children {metrics.get('children_answered_as_children')}  adults as children "
            f"{metrics.get('adults_answered_as_children')}  beauty Pearson {beauty}"
        )
print(f"int8 file: {len(int8_bytes) / 1e6:.1f} MB ({int8_file})")
(Path(cache_dir) / "quantize.json").write_text(json.dumps(report, indent=2, default=float))
if write:
    (Path(models_dir) / "xinh_face_int8.tflite").write_bytes(int8_bytes)
