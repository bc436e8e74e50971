"""Draw numbered face boxes (and optionally keypoints) on a photo, for replies and debugging."""

from __future__ import annotations

import cv2
import numpy as np

from xinh.inference.types import Face

_COLOURS = ((255, 105, 180), (80, 200, 255), (255, 200, 60), (120, 230, 120), (200, 140, 255))


def annotate(pixels: np.ndarray, faces: list[Face], keypoints: bool = False) -> np.ndarray:
    """A copy of the RGB photo with each face boxed and numbered from 1, in the order given."""
    canvas = pixels.copy()
    thickness = max(2, round(min(pixels.shape[:2]) / 250))
    for number, face in enumerate(faces, start=1):
        colour = _COLOURS[(number - 1) % len(_COLOURS)]
        x, y, w, h = (round(v) for v in face.box)
        cv2.rectangle(canvas, (x, y), (x + w, y + h), colour, thickness, cv2.LINE_AA)
        _badge(canvas, str(number), face, colour)
        if keypoints:
            for px, py in face.keypoints:
                cv2.circle(canvas, (round(px), round(py)), thickness + 1, colour, -1, cv2.LINE_AA)
    return canvas


def _badge(canvas: np.ndarray, label: str, face: Face, colour: tuple[int, int, int]) -> None:
    """White digits on a dark rounded badge ringed in the face's colour, at the box's top-left
    corner (above it where there is room), sized by the face and the photo, always inside."""
    height, width = canvas.shape[:2]
    x, y, _, h = face.box
    text_h = max(14.0, 0.22 * h, 0.022 * min(height, width))
    text_h = min(text_h, 0.2 * min(height, width))
    scale = cv2.getFontScaleFromHeight(cv2.FONT_HERSHEY_SIMPLEX, round(text_h), 2)
    weight = max(1, round(text_h / 9))
    (tw, th), _ = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, scale, weight)
    pad = max(3, round(th * 0.35))
    bw, bh = tw + 2 * pad, th + 2 * pad
    left = int(np.clip(round(x), 0, max(0, width - bw)))
    top = round(y) - bh - 2 if y - bh - 2 >= 0 else round(y) + 2
    top = int(np.clip(top, 0, max(0, height - bh)))
    radius = max(2, min(bw, bh) // 3)
    ring = max(1, round(weight * 0.8))
    _rounded(canvas, left, top, bw, bh, radius, colour)
    _rounded(canvas, left + ring, top + ring, bw - 2 * ring, bh - 2 * ring, radius, (25, 25, 25))
    origin = (left + pad, top + pad + th)
    cv2.putText(
        canvas, label, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), weight, cv2.LINE_AA
    )


def _rounded(
    canvas: np.ndarray, x: int, y: int, w: int, h: int, r: int, colour: tuple[int, int, int]
) -> None:
    """A filled rectangle with rounded corners."""
    r = max(0, min(r, w // 2, h // 2))
    cv2.rectangle(canvas, (x + r, y), (x + w - r, y + h), colour, -1)
    cv2.rectangle(canvas, (x, y + r), (x + w, y + h - r), colour, -1)
    for cx, cy in ((x + r, y + r), (x + w - r, y + r), (x + r, y + h - r), (x + w - r, y + h - r)):
        cv2.circle(canvas, (cx, cy), r, colour, -1, cv2.LINE_AA)


def encode_jpeg(pixels: np.ndarray, quality: int = 88, max_side: int | None = None) -> bytes:
    """RGB pixels to JPEG bytes, in memory, shrunk first if a side exceeds `max_side`."""
    if max_side and max(pixels.shape[:2]) > max_side:
        scale = max_side / max(pixels.shape[:2])
        size = (round(pixels.shape[1] * scale), round(pixels.shape[0] * scale))
        pixels = cv2.resize(pixels, size, interpolation=cv2.INTER_AREA)
    ok, buffer = cv2.imencode(
        ".jpg", cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality]
    )
    if not ok:
        raise ValueError("JPEG encoding failed")
    return buffer.tobytes()
