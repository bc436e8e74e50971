"""Face alignment: the one way a face crop is made, in training and in the bots alike.

A similarity transform (rotation, uniform scale, translation) maps the detector's eye, nose
and mouth keypoints onto a canonical template, so every crop shows an upright face at the
same place and scale whatever the photo.
"""

from __future__ import annotations

import cv2
import numpy as np

from xinh.inference.types import Face

# Eye on the image's left, eye on the image's right, nose tip, mouth centre, in a unit
# square that spans the face from brow to chin (ArcFace's template, normalised).
TEMPLATE = np.array(
    [[0.342, 0.462], [0.657, 0.460], [0.500, 0.641], [0.501, 0.824]], dtype=np.float64
)


def similarity_transform(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Least-squares similarity (Umeyama, no reflection) taking `source` points to `target`.

    Both are (N, 2); returns the 2x3 affine matrix.
    """
    src_mean, dst_mean = source.mean(axis=0), target.mean(axis=0)
    src, dst = source - src_mean, target - dst_mean
    covariance = dst.T @ src / len(source)
    u, singular, vt = np.linalg.svd(covariance)
    sign = np.ones(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[-1] = -1
    rotation = u @ np.diag(sign) @ vt
    scale = (singular * sign).sum() / src.var(axis=0).sum()
    translation = dst_mean - scale * rotation @ src_mean
    return np.hstack([scale * rotation, translation[:, None]])


def alignment_matrix(face: Face, size: int, margin: float) -> np.ndarray:
    """The 2x3 matrix that maps photo pixels to a `size` crop with `margin` around the face.

    `margin` is the share of the face's template width added on each side.
    """
    points = np.asarray(face.keypoints[:4], dtype=np.float64)
    target = (TEMPLATE + margin) / (1 + 2 * margin) * size
    return similarity_transform(points, target)


def align(pixels: np.ndarray, face: Face, size: int, margin: float = 0.25) -> np.ndarray:
    """An upright `size`x`size` uint8 RGB crop of `face`; the border repeats edge pixels."""
    matrix = alignment_matrix(face, size, margin)
    return cv2.warpAffine(
        pixels,
        matrix,
        (size, size),
        flags=cv2.INTER_AREA if matrix[0, 0] ** 2 + matrix[0, 1] ** 2 < 1 else cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )
