"""Alignment: the similarity transform and the crops it makes."""

from __future__ import annotations

import numpy as np

from xinh.inference.align import TEMPLATE, align, alignment_matrix, similarity_transform
from xinh.inference.decode import decode
from xinh.inference.detector import FaceDetector
from xinh.inference.types import Face


def test_similarity_transform_recovers_a_known_transform() -> None:
    rng = np.random.default_rng(0)
    source = rng.uniform(0, 100, (4, 2))
    angle, scale, shift = 0.4, 1.7, np.array([12.0, -5.0])
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    target = scale * source @ rotation.T + shift
    matrix = similarity_transform(source, target)
    np.testing.assert_allclose(matrix[:, :2], scale * rotation, atol=1e-9)
    np.testing.assert_allclose(matrix[:, 2], shift, atol=1e-9)


def test_keypoints_land_on_the_template() -> None:
    points = TEMPLATE * 200 + [300, 100]
    face = Face(
        box=(300, 100, 200, 200), score=1.0, keypoints=tuple(map(tuple, points)) + ((0, 0),) * 2
    )
    matrix = alignment_matrix(face, size=96, margin=0.0)
    mapped = np.c_[points, np.ones(4)] @ matrix.T
    np.testing.assert_allclose(mapped, TEMPLATE * 96, atol=1e-6)


def test_align_makes_upright_crops_of_any_size(detector: FaceDetector, astronaut_jpeg) -> None:
    pixels = decode(astronaut_jpeg).pixels
    face = detector.detect(pixels)[0]
    upright = align(pixels, face, 112, margin=0.25)
    assert upright.shape == (112, 112, 3) and upright.dtype == np.uint8
    rotated = np.ascontiguousarray(np.rot90(pixels))
    rotated_face = detector.detect(rotated)[0]
    again = align(rotated, rotated_face, 112, margin=0.25)
    # The same face seen sideways aligns to nearly the same upright crop: far closer to it than
    # the upright crop turned sideways is.
    aligned_gap = np.abs(again.astype(int) - upright.astype(int)).mean()
    sideways_gap = np.abs(np.rot90(upright).astype(int) - upright.astype(int)).mean()
    assert aligned_gap < 0.5 * sideways_gap
    assert align(pixels, face, 64, margin=0.5).shape == (64, 64, 3)
