"""Numbered faces on the photo: labels readable at any size, inside the photo, on any background."""

from __future__ import annotations

import numpy as np
import pytest

from xinh.inference.annotate import annotate
from xinh.inference.types import Face


def _face(x: float, y: float, side: float) -> Face:
    return Face(box=(x, y, side, side), score=0.9, keypoints=())


def _dark(image: np.ndarray) -> int:
    return int((image.max(axis=2) < 40).sum())


@pytest.mark.parametrize("background", [0, 255])
@pytest.mark.parametrize(
    ("shape", "side"), [((300, 400), 40), ((3000, 4000), 600), ((960, 1280), 30)]
)
def test_labels_inside_the_photo_dark_badge_white_digits(background, shape, side) -> None:
    pixels = np.full((*shape, 3), background, np.uint8)
    faces = [_face(0, 0, side), _face(shape[1] - side, shape[0] - side, side)]
    out = annotate(pixels, faces)
    assert out.shape == pixels.shape
    for face in faces:
        x, y = int(face.box[0]), int(face.box[1])
        corner = out[max(0, y - side) : y + side, max(0, x - side // 2) : x + side]
        assert (corner.min(axis=2) >= 200).any() and (corner.max(axis=2) <= 40).any()


def test_labels_grow_with_the_face() -> None:
    pixels = np.full((2000, 2000, 3), 128, np.uint8)
    small = annotate(pixels, [_face(500, 500, 60)])
    large = annotate(pixels, [_face(500, 500, 900)])
    assert _dark(large) > 4 * _dark(small) > 0
