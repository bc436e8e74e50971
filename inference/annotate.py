"""Draw numbered face boxes (and optionally keypoints) on a photo, for replies and debugging."""

from __future__ import annotations

import cv2
import numpy as np

from inference.types import Face

_COLOURS = ((255, 105, 180), (80, 200, 255), (255, 200, 60), (120, 230, 120), (200, 140, 255))


def annotate(pixels: np.ndarray, faces: list[Face], keypoints: bool = False) -> np.ndarray:
    """A copy of the RGB photo with each face boxed and numbered from 1, largest first."""
    canvas = pixels.copy()
    thickness = max(2, round(min(pixels.shape[:2]) / 250))
    for number, face in enumerate(faces, start=1):
        colour = _COLOURS[(number - 1) % len(_COLOURS)]
        x, y, w, h = (round(v) for v in face.box)
        cv2.rectangle(canvas, (x, y), (x + w, y + h), colour, thickness, cv2.LINE_AA)
        scale = max(0.6, h / 120)
        label = str(number)
        (tw, th), base = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
        top = max(0, y - th - base - 2 * thickness)
        cv2.rectangle(
            canvas, (x, top), (x + tw + 2 * thickness, top + th + base + thickness), colour, -1
        )
        cv2.putText(
            canvas,
            label,
            (x + thickness, top + th + thickness),
            cv2.FONT_HERSHEY_SIMPLEX,
            scale,
            (20, 20, 20),
            thickness,
            cv2.LINE_AA,
        )
        if keypoints:
            for px, py in face.keypoints:
                cv2.circle(canvas, (round(px), round(py)), thickness + 1, colour, -1, cv2.LINE_AA)
    return canvas


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
