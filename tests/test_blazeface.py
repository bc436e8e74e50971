"""BlazeFace anchors, decoding and weighted NMS, without a model."""

from __future__ import annotations

import numpy as np

from xinh.inference import blazeface


def test_anchor_counts_and_order() -> None:
    short = blazeface.anchors(blazeface.SHORT_RANGE)
    full = blazeface.anchors(blazeface.FULL_RANGE)
    assert short.shape == (896, 2) and full.shape == (2304, 2)
    # Short range: 16x16 cells of 2 anchors, then 8x8 cells of 6; row-major, (x, y).
    np.testing.assert_allclose(short[0], short[1])
    np.testing.assert_allclose(short[0], [0.5 / 16, 0.5 / 16])
    np.testing.assert_allclose(short[2], [1.5 / 16, 0.5 / 16])
    np.testing.assert_allclose(short[512], [0.5 / 8, 0.5 / 8])
    np.testing.assert_allclose(full[48], [0.5 / 48, 1.5 / 48])


def test_decode_places_box_and_keypoints_relative_to_the_anchor() -> None:
    centres = np.array([[0.5, 0.5], [0.25, 0.75]], dtype=np.float32)
    raw = np.zeros((2, 16), dtype=np.float32)
    raw[0, :4] = [12.8, -12.8, 32, 64]  # +0.1 x, -0.1 y, 0.25 wide, 0.5 tall at 128 px
    raw[0, 4:6] = [-6.4, 0]  # first keypoint 0.05 left of the anchor
    logits = np.array([3.0, -3.0], dtype=np.float32)
    found = blazeface.decode(raw, logits, centres, 128, min_score=0.5)
    assert len(found.scores) == 1
    np.testing.assert_allclose(found.boxes[0], [0.475, 0.15, 0.725, 0.65], atol=1e-6)
    np.testing.assert_allclose(found.keypoints[0, 0], [0.45, 0.5], atol=1e-6)
    np.testing.assert_allclose(found.scores[0], 1 / (1 + np.exp(-3.0)), rtol=1e-6)


def test_decode_survives_extreme_logits() -> None:
    centres = np.zeros((2, 2), dtype=np.float32)
    found = blazeface.decode(
        np.zeros((2, 16), np.float32), np.array([1e9, -1e9], np.float32), centres, 128, 0.5
    )
    assert len(found.scores) == 1 and np.isfinite(found.scores).all()


def test_weighted_nms_merges_overlaps_by_score() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60]], dtype=np.float64)
    keypoints = np.zeros((3, 6, 2))
    keypoints[1] += 3
    merged = blazeface.weighted_nms(
        blazeface.Detections(boxes, keypoints, np.array([0.9, 0.3, 0.8])), 0.3
    )
    assert len(merged.scores) == 2
    np.testing.assert_allclose(merged.scores, [0.9, 0.8])
    np.testing.assert_allclose(merged.boxes[0], [0.25, 0.25, 10.25, 10.25])
    np.testing.assert_allclose(merged.keypoints[0, 0], [0.75, 0.75])
    np.testing.assert_allclose(merged.boxes[1], [50, 50, 60, 60])


def test_weighted_nms_of_nothing_is_nothing() -> None:
    empty = blazeface.Detections(np.zeros((0, 4)), np.zeros((0, 6, 2)), np.zeros(0))
    assert len(blazeface.weighted_nms(empty).scores) == 0


def test_iou() -> None:
    box = np.array([0, 0, 10, 10], dtype=np.float64)
    others = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30]], dtype=np.float64)
    np.testing.assert_allclose(blazeface.iou(box, others), [1, 1 / 3, 0])


def test_intersections() -> None:
    box = np.array([0, 0, 10, 10], dtype=np.float64)
    others = np.array([[0, 0, 10, 10], [5, 5, 15, 20], [20, 20, 30, 30]], dtype=np.float64)
    np.testing.assert_allclose(blazeface.intersections(box, others), [100, 25, 0])
