"""The group-photo evaluation: seeded collages with known boxes, and the detector on them."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bench.group_photos import collages, match, source_faces, xinh_detector
from xinh.inference.detector import FaceDetector


def test_collages_are_the_same_for_the_same_seed(detector: FaceDetector, shared_data: Path):
    faces = source_faces(detector, np.random.default_rng(0), 5)
    first = list(collages(3, 2, faces, []))
    again = list(collages(3, 2, faces, []))
    for a, b in zip(first, again, strict=True):
        assert np.array_equal(a.pixels, b.pixels) and np.array_equal(a.boxes, b.boxes)
        assert 2 <= len(a.boxes) <= 12


def test_matching_is_one_to_one_at_iou_04() -> None:
    truth = np.array([[0, 0, 10, 10], [20, 0, 30, 10]], float)
    found = np.array([[1, 1, 11, 11], [0, 0, 10, 10], [50, 50, 60, 60]], float)
    hit_truth, hit_found = match(truth, found)
    assert hit_truth.tolist() == [True, False]
    assert hit_found.tolist() == [False, True, False]


def test_detector_finds_the_faces_of_collages(detector: FaceDetector, shared_data: Path) -> None:
    faces = source_faces(detector, np.random.default_rng(1), 10)
    detect = xinh_detector()
    found = total = right = detections = 0
    for collage in collages(11, 12, faces, []):
        boxes = detect(collage.pixels)
        short = min(collage.pixels.shape[:2])
        big = (collage.boxes[:, 3] - collage.boxes[:, 1]) >= 0.05 * short
        hit_truth, hit_found = match(collage.boxes, boxes)
        found, total = found + hit_truth[big].sum(), total + big.sum()
        right, detections = right + hit_found.sum(), detections + len(boxes)
    assert found / total >= 0.95 and right / detections >= 0.97
