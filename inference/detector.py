"""Face detection with MediaPipe's BlazeFace models on LiteRT.

`FaceDetector.create(...)` loads the models once; `detect(pixels)` returns `Face`s in
original-image pixels, largest first. Detection is a cascade, cheapest first:

1. the short-range model on the whole photo, letterboxed with a margin, finds the large
   faces of selfies, portraits and tight crops; a large face there ends the search;
2. the full-range model on the whole photo finds medium faces;
3. when the faces found so far are small (or none), the full-range model looks again at
   overlapping tiles, which finds faces down to about 8% of the photo's short side.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from inference import blazeface
from inference.types import Face


@dataclass(frozen=True, slots=True)
class DetectorOptions:
    """Tunable detection settings; fractions are of the photo's short side."""

    max_faces: int = 5
    short_range_min_score: float = 0.7
    full_range_min_score: float = 0.6
    nms_threshold: float = 0.3
    short_range_padding: float = 0.25
    large_face: float = 0.3
    small_face: float = 0.15
    tile_fraction: float = 0.6


class _BlazeFaceModel:
    """One BlazeFace variant: a LiteRT interpreter plus its anchors."""

    def __init__(self, path: Path, spec: blazeface.AnchorSpec) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self.spec = spec
        self.anchors = blazeface.anchors(spec)
        self.interpreter = Interpreter(model_path=str(path), num_threads=1)
        self.interpreter.allocate_tensors()
        self.input_index = self.interpreter.get_input_details()[0]["index"]
        outputs = sorted(self.interpreter.get_output_details(), key=lambda d: d["shape"][-1])
        self.logits_index, self.regressors_index = outputs[0]["index"], outputs[1]["index"]

    def run(self, square: np.ndarray, min_score: float) -> blazeface.Detections:
        """Detect on a square uint8 RGB input of the model's size; coordinates in [0, 1]."""
        tensor = square.astype(np.float32)[None] * (1 / 127.5) - 1.0
        self.interpreter.set_tensor(self.input_index, tensor)
        self.interpreter.invoke()
        return blazeface.decode(
            self.interpreter.get_tensor(self.regressors_index),
            self.interpreter.get_tensor(self.logits_index),
            self.anchors,
            self.spec.input_size,
            min_score,
        )


def _letterbox(pixels: np.ndarray, size: int, padding: float) -> tuple[np.ndarray, float, float]:
    """Shrink a photo (plus `padding` of its long side on every edge) onto a grey square.

    Returns the square and the (scale, offset) that map square pixels back: x = (u - o) / s.
    """
    height, width = pixels.shape[:2]
    scale = size / (max(height, width) * (1 + 2 * padding))
    new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
    # Area-averaging a large photo is slower than the model: take every `step`-th pixel first,
    # leaving at least 4x4 samples to average into each output pixel.
    step = max(1, int(1 / scale) // 4)
    source = pixels[::step, ::step] if step > 1 else pixels
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(source, (new_w, new_h), interpolation=interpolation)
    square = np.full((size, size, 3), 127, dtype=np.uint8)
    off_x, off_y = (size - new_w) // 2, (size - new_h) // 2
    square[off_y : off_y + new_h, off_x : off_x + new_w] = resized
    return square, scale, np.array([off_x, off_y], dtype=np.float64)


def _tile_origins(length: int, tile: int) -> list[int]:
    """Start positions of tiles of side `tile` covering `length` with about 25% overlap."""
    if tile >= length:
        return [0]
    count = int(np.ceil((length - tile) / (tile * 0.75))) + 1
    return [round(i * (length - tile) / (count - 1)) for i in range(count)]


class FaceDetector:
    """Finds faces in RGB photos. Not thread-safe: use one per thread."""

    def __init__(
        self, full_range: _BlazeFaceModel, short_range: _BlazeFaceModel, options: DetectorOptions
    ) -> None:
        self._full_range = full_range
        self._short_range = short_range
        self.options = options

    @classmethod
    def create(
        cls, full_range_path: Path, short_range_path: Path, options: DetectorOptions | None = None
    ) -> FaceDetector:
        """Load both BlazeFace models from their `.tflite` files."""
        return cls(
            _BlazeFaceModel(full_range_path, blazeface.FULL_RANGE),
            _BlazeFaceModel(short_range_path, blazeface.SHORT_RANGE),
            options or DetectorOptions(),
        )

    def detect(self, pixels: np.ndarray) -> list[Face]:
        """Faces in an HxWx3 uint8 RGB photo, largest first, at most `max_faces`."""
        opts = self.options
        short_side = min(pixels.shape[:2])
        found = [self._pass(self._short_range, pixels, opts.short_range_padding)]
        if self._largest(found) < opts.large_face * short_side:
            found.append(self._pass(self._full_range, pixels, 0.0))
            if self._largest(found) < opts.small_face * short_side:
                found.extend(self._tiles(pixels))
        merged = blazeface.weighted_nms(
            blazeface.Detections(
                np.concatenate([f.boxes for f in found]),
                np.concatenate([f.keypoints for f in found]),
                np.concatenate([f.scores for f in found]),
            ),
            opts.nms_threshold,
        )
        faces = self._to_faces(merged, pixels.shape[1], pixels.shape[0])
        faces.sort(key=lambda face: face.area, reverse=True)
        return faces[: opts.max_faces]

    @staticmethod
    def _largest(found: list[blazeface.Detections]) -> float:
        sides = [np.max(f.boxes[:, 3] - f.boxes[:, 1]) for f in found if len(f.scores)]
        return max(sides, default=0.0)

    def _pass(self, model: _BlazeFaceModel, pixels: np.ndarray, padding: float):
        """One model run on a whole photo or tile; boxes in that photo's pixels."""
        square, scale, offset = _letterbox(pixels, model.spec.input_size, padding)
        min_score = (
            self.options.short_range_min_score
            if model is self._short_range
            else self.options.full_range_min_score
        )
        raw = model.run(square, min_score)
        size = model.spec.input_size
        return blazeface.Detections(
            (raw.boxes * size - np.tile(offset, 2)) / scale,
            (raw.keypoints * size - offset) / scale,
            raw.scores,
        )

    def _tiles(self, pixels: np.ndarray) -> list[blazeface.Detections]:
        """Full-range passes over overlapping square tiles, mapped back to photo pixels."""
        height, width = pixels.shape[:2]
        tile = round(min(height, width) * self.options.tile_fraction)
        results = []
        for y in _tile_origins(height, tile):
            for x in _tile_origins(width, tile):
                part = self._pass(self._full_range, pixels[y : y + tile, x : x + tile], 0.0)
                shift = np.array([x, y], dtype=np.float64)
                results.append(
                    blazeface.Detections(
                        part.boxes + np.tile(shift, 2), part.keypoints + shift, part.scores
                    )
                )
        return results

    @staticmethod
    def _to_faces(found: blazeface.Detections, width: int, height: int) -> list[Face]:
        faces = []
        for corners, points, score in zip(found.boxes, found.keypoints, found.scores, strict=True):
            x0, y0 = max(0.0, float(corners[0])), max(0.0, float(corners[1]))
            x1, y1 = min(float(width), float(corners[2])), min(float(height), float(corners[3]))
            if x1 - x0 < 2 or y1 - y0 < 2:
                continue
            faces.append(
                Face(
                    box=(x0, y0, x1 - x0, y1 - y0),
                    score=float(score),
                    keypoints=tuple((float(x), float(y)) for x, y in points),
                )
            )
        return faces
