"""Trained Xinh models' view of the cached face crops: their mean probability that each face is
a woman's and their mean estimated age, computed once and cached.

Averaging two trained runs ranks FairFace's adult women above men better than either alone,
but two networks cost twice the time a face. training.train can instead mix the averages into
the gender and age targets (`ensemble`, `ensemble_gender`, `ensemble_age`): one network learns
from several. Each model runs through the bots' own `FaceModel` (mirror pass as its metadata
says).

    python -m training.ensemble_targets --models=models,/tmp/run3    # fill the cache
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Sequence
from dataclasses import dataclass
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


@dataclass(frozen=True)
class EnsembleView:
    """The models' mean answers for each crop, NaN where no face was found."""

    female: np.ndarray  # probability that the face is a woman's
    log_age: np.ndarray  # estimated age as log(1 + years), averaged in that scale


def _mean_answers(specs: Sequence[ModelSpec], pixels: np.ndarray, found: np.ndarray) -> np.ndarray:
    """The models' mean answers on each crop, one row a crop: female probability, log age."""
    answers = np.full((len(pixels), 2), np.nan)
    rows = np.flatnonzero(found)
    answers[rows] = 0.0
    for spec in specs:
        model = FaceModel(spec)
        for i in rows:
            seen = model.predict(pixels[i])
            answers[i] += np.array([seen.female_probability, np.log1p(seen.age)]) / len(specs)
    return answers


def cached_ensemble_view(
    specs: Sequence[ModelSpec], name: str, pixels: np.ndarray, found: np.ndarray, cache: Path
) -> EnsembleView:
    """The models' mean answers on each crop, read from `cache`/ensemble when these models saw
    these crops."""
    digest = hashlib.sha256(b"female,log_age")
    digest.update(np.ascontiguousarray(pixels))  # no copy of the crops
    digest.update(found.tobytes())
    for spec in specs:
        digest.update(spec.path.read_bytes())
        digest.update(repr(spec.mirror_average).encode())
        if spec.mirror_when is not None:
            digest.update(repr(spec.mirror_when).encode())
    stored = cache / "ensemble" / f"{name}-{digest.hexdigest()[:12]}.npy"
    answers = cached_array(stored, lambda: _mean_answers(specs, pixels, found))
    return EnsembleView(female=answers[:, 0], log_age=answers[:, 1])


def aged_spec(models_dir: Path) -> ModelSpec:
    """The model in `models_dir`, which must estimate ages."""
    spec = ModelSpec.load(models_dir)
    if spec.child_age is None:
        raise SystemExit(f"{models_dir} estimates no age: pick models with an age head (2.0.0 on).")
    return spec


def load_specs(models_dirs: str, input_size: int, margin: float) -> list[ModelSpec]:
    """The models named in a comma-separated list; each must read crops of this size and margin
    and estimate ages."""
    specs = [aged_spec(Path(d)) for d in models_dirs.split(",") if d]
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
        view = cached_ensemble_view(specs, name, pixels, found, cache)
        print(f"{name}: {len(pixels)} photos, {np.isfinite(view.female).sum()} faces answered")


if __name__ == "__main__":
    main()
