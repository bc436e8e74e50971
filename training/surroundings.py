"""How much the models' answers depend on what lies beyond a tight face crop's edges.

FairFace's photos are tight crops around a face: most of an aligned crop lies beyond the photo,
where the aligner repeats the edge pixels, and the networks learnt from those streaks. A face in
a wider photo has a scene there instead. Each FairFace validation photo is padded on every side
(grey, its own mirror image, or noise) and aligned again with the same keypoints, so only what
lies beyond the photo changes; the figures are printed per fill, each model beside the others.

    python -m training.surroundings                              # the shipped model
    python -m training.surroundings --models=models,/tmp/cand10  # several, on the same faces
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from training.configurator import settings_of
from training.datasets import all_records
from training.metrics import is_adult, is_young_child, share_text
from xinh.inference.align import align
from xinh.inference.decode import decode
from xinh.inference.detector import FaceDetector
from xinh.inference.face_model import FaceModel, ModelSpec
from xinh.inference.model_files import detector_files
from xinh.inference.types import Face

# --- settings (override any as --name=value) ---------------------------------------------
data_dir = "../shared/data"
models = "models"  # comma-separated models folders, measured on the same faces
pad = 200  # pixels added on every side of a photo
seed = 0
# -------------------------------------------------------------------------------------------


def _noise(pixels: np.ndarray, pad: int, rng: np.random.Generator) -> np.ndarray:
    shape = (pixels.shape[0] + 2 * pad, pixels.shape[1] + 2 * pad, 3)
    padded = rng.integers(0, 256, shape, dtype=np.uint8)
    padded[pad:-pad, pad:-pad] = pixels
    return padded


FILLS: dict[str, Callable[[np.ndarray, int, np.random.Generator], np.ndarray]] = {
    "edges repeated (as trained)": lambda pixels, pad, rng: pixels,
    "grey": lambda pixels, pad, rng: cv2.copyMakeBorder(
        pixels, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=(128, 128, 128)
    ),
    "the photo mirrored": lambda pixels, pad, rng: cv2.copyMakeBorder(
        pixels, pad, pad, pad, pad, cv2.BORDER_REFLECT
    ),
    "noise": _noise,
}


def moved(face: Face, by: int) -> Face:
    """The face in a photo padded by `by` pixels on every side."""
    x, y, w, h = face.box
    points = tuple((px + by, py + by) for px, py in face.keypoints)
    return Face(box=(x + by, y + by, w, h), score=face.score, keypoints=points)


def main() -> None:
    settings = settings_of(globals(), sys.argv[1:])
    folders = settings["models"].split(",")
    specs = [ModelSpec.load(Path(folder)) for folder in folders]
    nets = [FaceModel(spec) for spec in specs]
    detector = FaceDetector.create(*detector_files())
    rng = np.random.default_rng(settings["seed"])
    fairface = all_records(Path(settings["data_dir"]))[0]["fairface"]
    records = [r for r in fairface if r.split == "val"]
    answers = {(folder, fill): [] for folder in folders for fill in FILLS}
    for record in records:
        decoded = decode(record.path.read_bytes())
        faces = detector.detect(decoded.pixels) if decoded.ok else []
        if not faces:
            continue
        for fill, make in FILLS.items():
            by = 0 if fill.startswith("edges") else settings["pad"]
            pixels = make(decoded.pixels, by, rng)
            for folder, spec, net in zip(folders, specs, nets, strict=True):
                crop = align(pixels, moved(faces[0], by), spec.input_size, spec.margin)
                seen = net.predict(crop)
                female = seen.female_probability >= spec.female_threshold
                child = seen.age is not None and seen.age < (spec.child_age or 0)
                answers[(folder, fill)].append((record, female, child))
    print(f"FairFace's {len(records)} validation photos, the largest face; what lies beyond the")
    print(f"photo's edges (padded {settings['pad']} pixels). Shares with 95% intervals (count).\n")
    print("| model | beyond the photo | women called men (adults) | men refused (adults) |")
    print("| --- | --- | --- | --- |")
    for (folder, fill), rows in answers.items():
        women = [not f for r, f, c in rows if is_adult(r) and r.female]
        men = [not f for r, f, c in rows if is_adult(r) and not r.female]
        print(f"| {folder} | {fill} | {share_text(women)} | {share_text(men)} |")
    print("\n| model | beyond the photo | children 0-9 as children | adults 20+ as children |")
    print("| --- | --- | --- | --- |")
    for (folder, fill), rows in answers.items():
        young = [c for r, f, c in rows if is_young_child(r)]
        grown = [c for r, f, c in rows if is_adult(r)]
        print(f"| {folder} | {fill} | {share_text(young)} | {share_text(grown)} |")


if __name__ == "__main__":
    main()
