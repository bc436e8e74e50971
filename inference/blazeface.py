"""BlazeFace's SSD anchors, raw-output decoding and weighted non-maximum suppression.

Pure numpy, no model: coordinates are normalised to the square model input ([0, 1]).
The anchor schemes are those of MediaPipe's face detection graphs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class AnchorSpec:
    """One BlazeFace variant: input side and, per feature-map stride, anchors per cell."""

    input_size: int
    strides: tuple[tuple[int, int], ...]  # (stride, anchors per cell)


SHORT_RANGE = AnchorSpec(input_size=128, strides=((8, 2), (16, 6)))
FULL_RANGE = AnchorSpec(input_size=192, strides=((4, 1),))


@dataclass(frozen=True, slots=True)
class Detections:
    """Decoded candidates: boxes as (x0, y0, x1, y1), six keypoints each, probabilities."""

    boxes: np.ndarray  # (N, 4)
    keypoints: np.ndarray  # (N, 6, 2)
    scores: np.ndarray  # (N,)


def anchors(spec: AnchorSpec) -> np.ndarray:
    """Anchor centres (N, 2) as (x, y), cells in row-major order, unit size (fixed anchors)."""
    parts = []
    for stride, per_cell in spec.strides:
        grid = spec.input_size // stride
        centres = (np.arange(grid, dtype=np.float32) + 0.5) / grid
        ys, xs = np.meshgrid(centres, centres, indexing="ij")
        cell = np.stack([xs.ravel(), ys.ravel()], axis=1)
        parts.append(np.repeat(cell, per_cell, axis=0))
    return np.concatenate(parts, axis=0)


def decode(
    regressors: np.ndarray,
    logits: np.ndarray,
    anchor_centres: np.ndarray,
    input_size: int,
    min_score: float,
) -> Detections:
    """Turn raw outputs ([N, 16] regressors, [N] logits) into candidates above `min_score`."""
    scores = 1.0 / (1.0 + np.exp(-np.clip(logits.reshape(-1), -80.0, 80.0)))
    keep = np.flatnonzero(scores >= min_score)
    raw = regressors.reshape(-1, 16)[keep] / input_size
    centre = anchor_centres[keep]
    cx = raw[:, 0] + centre[:, 0]
    cy = raw[:, 1] + centre[:, 1]
    half_w, half_h = raw[:, 2] / 2, raw[:, 3] / 2
    boxes = np.stack([cx - half_w, cy - half_h, cx + half_w, cy + half_h], axis=1)
    keypoints = raw[:, 4:16].reshape(-1, 6, 2) + centre[:, None, :]
    return Detections(boxes, keypoints, scores[keep])


def intersections(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Intersection area of one (x0, y0, x1, y1) box with each of `others`."""
    x0 = np.maximum(box[0], others[:, 0])
    y0 = np.maximum(box[1], others[:, 1])
    x1 = np.minimum(box[2], others[:, 2])
    y1 = np.minimum(box[3], others[:, 3])
    return np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)


def iou(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Intersection over union of one (x0, y0, x1, y1) box with each of `others`."""
    inter = intersections(box, others)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (others[:, 2] - others[:, 0]) * (others[:, 3] - others[:, 1])
    return inter / np.maximum(area + areas - inter, 1e-12)


def weighted_nms(found: Detections, threshold: float = 0.3) -> Detections:
    """Merge overlapping candidates: each cluster becomes the score-weighted mean of its
    boxes and keypoints, keeping its best score (MediaPipe's WEIGHTED overlap mode)."""
    order = np.argsort(-found.scores)
    boxes, keypoints, scores = found.boxes[order], found.keypoints[order], found.scores[order]
    remaining = np.ones(len(scores), dtype=bool)
    merged_boxes, merged_points, merged_scores = [], [], []
    for i in range(len(scores)):
        if not remaining[i]:
            continue
        cluster = remaining & (iou(boxes[i], boxes) > threshold)
        cluster[i] = True
        weights = scores[cluster][:, None]
        total = weights.sum()
        merged_boxes.append((boxes[cluster] * weights).sum(axis=0) / total)
        merged_points.append((keypoints[cluster] * weights[:, :, None]).sum(axis=0) / total)
        merged_scores.append(scores[i])
        remaining &= ~cluster
    if not merged_scores:
        return Detections(np.zeros((0, 4)), np.zeros((0, 6, 2)), np.zeros(0))
    return Detections(np.array(merged_boxes), np.array(merged_points), np.array(merged_scores))
