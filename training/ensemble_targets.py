"""Trained Xinh models' view of the cached face crops: the mean of their probabilities that
each face is a woman's, computed once and cached.

Averaging two trained runs ranks FairFace's adult women above men better than either alone,
but two networks cost twice the time a face. training.train can instead mix the average into
the gender targets (`ensemble`, `ensemble_gender`): one network learns from several. Each
model runs through the bots' own `FaceModel` (mirror pass as its metadata says).

    python -m training.ensemble_targets --models=models,/tmp/run3    # fill the cache
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from training.array_cache import cached_array
from training.configurator import settings_of
from training.datasets import all_records, cached_crops
from xinh.inference.face_model import FaceModel, ModelSpec

# --- settings (override any as --name=value) ---------------------------------------------
data_dir = "../shared/data"
cache_dir = ".cache"
models = "models"  # comma-separated models dirs (each a metadata file beside its model)
# -------------------------------------------------------------------------------------------


def ensemble_female(
    specs: Sequence[ModelSpec], pixels: np.ndarray, found: np.ndarray
) -> np.ndarray:
    """The models' mean probability of female for each crop, NaN where no face was found."""
    p = np.full(len(pixels), np.nan)
    rows = np.flatnonzero(found)
    p[rows] = 0.0
    for spec in specs:
        model = FaceModel(spec)
        p[rows] += [model.predict(pixels[i]).female_probability / len(specs) for i in rows]
    return p


def cached_ensemble_female(
    specs: Sequence[ModelSpec], name: str, pixels: np.ndarray, found: np.ndarray, cache: Path
) -> np.ndarray:
    """`ensemble_female`, read from `cache`/ensemble when these models saw these crops."""
    digest = hashlib.sha256(np.ascontiguousarray(pixels))  # no copy of the crops
    digest.update(found.tobytes())
    for spec in specs:
        digest.update(spec.path.read_bytes())
        digest.update(repr(spec.mirror_average).encode())
    stored = cache / "ensemble" / f"{name}-{digest.hexdigest()[:12]}.npy"
    return cached_array(stored, lambda: ensemble_female(specs, pixels, found))


def load_specs(models_dirs: str, input_size: int, margin: float) -> list[ModelSpec]:
    """The models named in a comma-separated list; each must read crops of this size and margin."""
    specs = [ModelSpec.load(Path(d)) for d in models_dirs.split(",") if d]
    for spec in specs:
        if (spec.input_size, spec.margin) != (input_size, margin):
            raise SystemExit(
                f"{spec.path.parent} reads {spec.input_size} px crops with margin {spec.margin}; "
                f"training uses {input_size} px and {margin}: pick models trained like this one."
            )
    return specs


def main() -> None:
    settings = settings_of(globals(), sys.argv[1:])
    first = ModelSpec.load(Path(settings["models"].split(",")[0]))
    specs = load_specs(settings["models"], first.input_size, first.margin)
    cache = Path(settings["cache_dir"])
    records, _ = all_records(Path(settings["data_dir"]))
    for name, recs in records.items():
        pixels, found = cached_crops(recs, first.input_size, first.margin, cache / "crops", name)
        p = cached_ensemble_female(specs, name, pixels, found, cache)
        print(f"{name}: {len(p)} photos, {np.isfinite(p).sum()} faces answered")


if __name__ == "__main__":
    main()
