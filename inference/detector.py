"""Face detection with MediaPipe's BlazeFace models on LiteRT: every face, portraits fast.

`FaceDetector.create(...)` loads the models once; `detect(pixels)` returns every `Face` found
(up to `most_faces`), in original-image pixels, largest first. The search runs cheapest first:

1. the short-range model on the whole photo, letterboxed with a margin, finds the large faces
   of selfies, portraits and tight crops. One large face alone, confirmed by a second look at
   its surroundings and with no rival candidate, is a portrait: the search ends there;
2. the full-range model on the whole photo finds medium faces;
3. the short-range model on overlapping tiles the short side wide finds large faces that the
   full-range model misses and that straddle smaller tiles, then on tiles half as wide,
   smaller faces;
4. where faces are small or none were found, finer tiles find faces down to about 4% of the
   short side.

Each tile scale has its own score cut-off (0.67 wide, 0.7 half, 0.6 fine). Faces from
steps 1-2 are merged as they always were (training crops depend on them); faces from later
passes, pooled across tile scales, are added only where no face is yet, so one person is one
face, after dropping any face that holds two much smaller faces, or one that scores clearly
higher (a false face spanning several people). The number of passes is capped
(`max_passes`) whatever the photo's shape, and a `Deadline` is checked before each pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from xinh.inference import blazeface
from xinh.inference.budget import Deadline
from xinh.inference.types import Face


@dataclass(frozen=True, slots=True)
class DetectorOptions:
    """Tunable detection settings; fractions are of the photo's short side unless said."""

    max_faces: int = 10  # the most faces the engine rates; `detect` returns every face
    most_faces: int = 100  # the most faces `detect` returns
    short_range_min_score: float = 0.7
    full_range_min_score: float = 0.6
    nms_threshold: float = 0.3
    short_range_padding: float = 0.25
    large_face: float = 0.3  # a short-range face this tall keeps its own box and keypoints
    portrait_face: float = 0.3  # of the long side: one such face alone makes a portrait...
    rival_score: float = 0.5  # ...unless another short-range candidate scores this much
    wide_tile_fraction: float = 1.0  # short-side squares: faces of 20-50% that straddle tiles
    wide_tile_overlap: float = 0.5  # of a tile's side
    # Score cut-offs of the tiles by scale: 0.6 and below, the half tiles find false faces
    # (one in chelsea.jpg) and the wide ones faces in training photos that had none.
    wide_tile_min_score: float = 0.67
    tile_min_score: float = 0.7
    fine_tile_min_score: float = 0.6
    tile_fraction: float = 0.5
    fine_tile_fraction: float = 0.21
    tile_overlap: float = 0.4  # of a tile's side
    fine_below: float = 0.12  # fine tiles run when no face, or a face this small, was found
    max_passes: int = 64  # model passes on one photo, whatever its shape
    # A face holding `container_holds` faces under `held_face` of its height mostly inside it,
    # or one such face scoring `held_margin` more, is a false face spanning several (0: never).
    container_holds: int = 2
    held_face: float = 0.6
    held_margin: float = 0.1


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


def every_nth_pixel(pixels: np.ndarray, step: int) -> np.ndarray:
    """`pixels[::step, ::step]` as a contiguous array, copied as whole 3-byte pixels: three
    times faster than numpy's channel-by-channel copy, the same bytes."""
    if pixels.strides[1:] != (3, 1):  # a crop of a photo keeps these strides: no copy
        pixels = np.ascontiguousarray(pixels)
    rgb = pixels.view(np.dtype((np.void, 3)))[..., 0]
    picked = np.ascontiguousarray(rgb[::step, ::step])
    return picked.view(np.uint8).reshape(*picked.shape, 3)


def _letterbox(
    pixels: np.ndarray, size: int, padding: float, samples: int = 4
) -> tuple[np.ndarray, float, float]:
    """Shrink a photo (plus `padding` of its long side on every edge) onto a grey square.

    Returns the square and the (scale, offset) that map square pixels back: x = (u - o) / s.
    """
    height, width = pixels.shape[:2]
    scale = size / (max(height, width) * (1 + 2 * padding))
    new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
    # Area-averaging a large photo is slower than the model: take every `step`-th pixel first,
    # leaving at least `samples` x `samples` to average into each output pixel.
    step = max(1, int(1 / scale) // samples)
    source = every_nth_pixel(pixels, step) if step > 1 else pixels
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(source, (new_w, new_h), interpolation=interpolation)
    square = np.full((size, size, 3), 127, dtype=np.uint8)
    off_x, off_y = (size - new_w) // 2, (size - new_h) // 2
    square[off_y : off_y + new_h, off_x : off_x + new_w] = resized
    return square, scale, np.array([off_x, off_y], dtype=np.float64)


def _tile_origins(length: int, tile: int, overlap: float) -> list[int]:
    """Start positions of tiles of side `tile` covering `length`, overlapping by `overlap`."""
    if tile >= length:
        return [0]
    count = int(np.ceil((length - tile) / (tile * (1 - overlap)))) + 1
    return [round(i * (length - tile) / (count - 1)) for i in range(count)]


def tile_grid(
    height: int, width: int, tile: int, overlap: float, most: int
) -> list[tuple[int, int, int]]:
    """Square tiles (x, y, side) covering the photo: at most `most`, larger ones if need be."""
    tile = max(1, min(tile, height, width))
    while True:
        xs, ys = _tile_origins(width, tile, overlap), _tile_origins(height, tile, overlap)
        if len(xs) * len(ys) <= most or tile >= min(height, width):
            break
        tile = min(round(tile * 1.15) + 1, min(height, width))
    grid = [(x, y, tile) for y in ys for x in xs]
    return grid[:most]


def _empty() -> blazeface.Detections:
    return blazeface.Detections(np.zeros((0, 4)), np.zeros((0, 6, 2)), np.zeros(0))


def _join(parts: list[blazeface.Detections]) -> blazeface.Detections:
    parts = [p for p in parts if len(p.scores)] or [_empty()]
    return blazeface.Detections(
        np.concatenate([p.boxes for p in parts]),
        np.concatenate([p.keypoints for p in parts]),
        np.concatenate([p.scores for p in parts]),
    )


def _select(found: blazeface.Detections, keep: np.ndarray) -> blazeface.Detections:
    return blazeface.Detections(found.boxes[keep], found.keypoints[keep], found.scores[keep])


def _overlaps(box: np.ndarray, others: np.ndarray, threshold: float) -> bool:
    """Whether `box` is the same face as one of `others`: IoU above `threshold`, or mostly
    inside one (a face cut by a tile's edge), or holding one mostly inside it."""
    if not len(others):
        return False
    inter = blazeface.intersections(box, others)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (others[:, 2] - others[:, 0]) * (others[:, 3] - others[:, 1])
    iou = inter / np.maximum(area + areas - inter, 1e-12)
    inside = inter / np.maximum(np.minimum(area, areas), 1e-12)
    return bool(np.any((iou > threshold) | (inside > 0.5)))


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

    def detect(self, pixels: np.ndarray, deadline: Deadline | None = None) -> list[Face]:
        """Every face in an HxWx3 uint8 RGB photo (up to `most_faces`), largest first.

        Raises OutOfTime when `deadline` passes between two model passes."""
        search = _Search(self, pixels, deadline)
        return self._to_faces(search.run(), pixels.shape[1], pixels.shape[0])

    def _pass(
        self,
        model: _BlazeFaceModel,
        pixels: np.ndarray,
        padding: float,
        min_score: float,
        origin: tuple[int, int] = (0, 0),
        samples: int = 4,
    ) -> blazeface.Detections:
        """One model run on a whole photo or a region of it; boxes in the photo's pixels."""
        square, scale, offset = _letterbox(pixels, model.spec.input_size, padding, samples)
        raw = model.run(square, min_score)
        size = model.spec.input_size
        shift = np.asarray(origin, dtype=np.float64)
        return blazeface.Detections(
            (raw.boxes * size - np.tile(offset, 2)) / scale + np.tile(shift, 2),
            (raw.keypoints * size - offset) / scale + shift,
            raw.scores,
        )

    def _to_faces(self, found: blazeface.Detections, width: int, height: int) -> list[Face]:
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
        faces.sort(key=lambda face: face.area, reverse=True)
        return faces[: self.options.most_faces]


class _Search:
    """One photo's search: its passes so far, counted against the options' cap."""

    def __init__(self, detector: FaceDetector, pixels: np.ndarray, deadline: Deadline | None):
        self.detector = detector
        self.options = detector.options
        self.pixels = pixels
        self.deadline = deadline
        self.passes = 0
        self.short_side = min(pixels.shape[:2])

    def _run_pass(
        self, model, region, padding, min_score, origin=(0, 0), samples=4
    ) -> blazeface.Detections:
        if self.deadline is not None:
            self.deadline.check()
        self.passes += 1
        return self.detector._pass(model, region, padding, min_score, origin, samples)

    def run(self) -> blazeface.Detections:
        """The cascade: a confirmed portrait ends after one look; anything else is searched."""
        opts, detector = self.options, self.detector
        candidates = self._run_pass(
            detector._short_range, self.pixels, opts.short_range_padding, opts.rival_score
        )
        strong = candidates.scores >= opts.short_range_min_score
        short_range = self._confirmed(_select(candidates, strong))
        merged = blazeface.weighted_nms(short_range, opts.nms_threshold)
        if self._is_portrait(merged, _select(candidates, ~strong)):
            return merged
        full_range = self._run_pass(
            detector._full_range, self.pixels, 0.0, opts.full_range_min_score
        )
        if self._largest(merged) >= opts.large_face * self.short_side:
            base, extra = merged, [full_range]
        else:
            base = blazeface.weighted_nms(_join([short_range, full_range]), opts.nms_threshold)
            extra = []
        extra.extend(
            self._tiles(opts.wide_tile_fraction, opts.wide_tile_overlap, opts.wide_tile_min_score)
        )
        extra.extend(self._tiles(opts.tile_fraction, opts.tile_overlap, opts.tile_min_score))
        found = self._add(base, extra)
        smallest = np.min(found.boxes[:, 3] - found.boxes[:, 1]) if len(found.scores) else 0.0
        if not len(found.scores) or smallest < opts.fine_below * self.short_side:
            extra.extend(
                self._tiles(opts.fine_tile_fraction, opts.tile_overlap, opts.fine_tile_min_score)
            )
            found = self._add(base, extra)
        return found

    def _confirmed(self, found: blazeface.Detections) -> blazeface.Detections:
        """Drop the largest face when it is large and a second look at its surroundings, at
        a finer scale, does not find it again (a false face spanning several small ones)."""
        if not len(found.scores):
            return found
        heights = found.boxes[:, 3] - found.boxes[:, 1]
        largest = int(np.argmax(heights))
        if heights[largest] < self.options.large_face * self.short_side:
            return found
        box = found.boxes[largest]
        side = 1.4 * max(box[2] - box[0], box[3] - box[1])
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        height, width = self.pixels.shape[:2]
        x0, y0 = max(0, round(cx - side / 2)), max(0, round(cy - side / 2))
        x1, y1 = min(width, round(cx + side / 2)), min(height, round(cy + side / 2))
        again = self._run_pass(
            self.detector._short_range,
            self.pixels[y0:y1, x0:x1],
            self.options.short_range_padding,
            self.options.short_range_min_score,
            (x0, y0),
            samples=2,
        )
        if len(again.scores) and blazeface.iou(box, again.boxes).max() >= 0.5:
            return found
        keep = np.ones(len(found.scores), dtype=bool)
        keep[largest] = False
        return _select(found, keep)

    def _is_portrait(self, merged: blazeface.Detections, weak: blazeface.Detections) -> bool:
        """One large face and no other candidate anywhere: a portrait, searched no further."""
        if len(merged.scores) != 1:
            return False
        box = merged.boxes[0]
        if box[3] - box[1] < self.options.portrait_face * max(self.pixels.shape[:2]):
            return False
        return not any(
            blazeface.iou(other, merged.boxes)[0] <= self.options.nms_threshold
            for other in weak.boxes
        )

    @staticmethod
    def _largest(found: blazeface.Detections) -> float:
        return float(np.max(found.boxes[:, 3] - found.boxes[:, 1], initial=0.0))

    def _tiles(
        self, fraction: float, overlap: float, min_score: float
    ) -> list[blazeface.Detections]:
        """Short-range passes over overlapping square tiles, within the photo's pass cap.

        The photo is resized once so that a tile is the model's input, then cut. A face cut by
        a tile's inner edge is left to the neighbouring tile that holds it whole."""
        opts = self.options
        height, width = self.pixels.shape[:2]
        most = opts.max_passes - self.passes
        if most <= 0:
            return []
        grid = tile_grid(height, width, max(64, round(self.short_side * fraction)), overlap, most)
        size = self.detector._short_range.spec.input_size
        scale = size / grid[0][2]
        step = max(1, int(1 / scale) // 4)
        source = every_nth_pixel(self.pixels, step) if step > 1 else self.pixels
        shape = (max(size, round(width * scale)), max(size, round(height * scale)))
        interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        resized = cv2.resize(source, shape, interpolation=interpolation)
        results = []
        for x, y, side in grid:
            if self.deadline is not None:
                self.deadline.check()
            self.passes += 1
            u, v = min(round(x * scale), shape[0] - size), min(round(y * scale), shape[1] - size)
            raw = self.detector._short_range.run(
                np.ascontiguousarray(resized[v : v + size, u : u + size]), min_score
            )
            shift = np.array([u, v], dtype=np.float64)
            boxes = (raw.boxes * size + np.tile(shift, 2)) / scale
            edge = 0.01 * side
            inner = (
                ((boxes[:, 0] < x + edge) & (x > 0))
                | ((boxes[:, 1] < y + edge) & (y > 0))
                | ((boxes[:, 2] > x + side - edge) & (x + side < width))
                | ((boxes[:, 3] > y + side - edge) & (y + side < height))
            )
            part = blazeface.Detections(boxes, (raw.keypoints * size + shift) / scale, raw.scores)
            results.append(_select(part, ~inner))
        return results

    def _add(
        self, base: blazeface.Detections, extra: list[blazeface.Detections]
    ) -> blazeface.Detections:
        """`base` as it is, plus the merged `extra` faces that are not already in it; a face
        holding `container_holds` smaller faces (a false face spanning several) is dropped."""
        merged = blazeface.weighted_nms(_join(extra), self.options.nms_threshold)
        holders = self._holders(_join([base, merged]))
        if holders.any():
            count = len(base.scores)
            base, merged = _select(base, ~holders[:count]), _select(merged, ~holders[count:])
        keep, boxes = [], base.boxes
        for i in np.argsort(-merged.scores):
            if not _overlaps(merged.boxes[i], boxes, self.options.nms_threshold):
                keep.append(i)
                boxes = np.vstack([boxes, merged.boxes[i]])
        return _join([base, _select(merged, np.array(keep, dtype=int))])

    def _holders(self, found: blazeface.Detections) -> np.ndarray:
        """Which faces hold, mostly inside them, `container_holds` faces under `held_face` of
        their height, or one such face scoring `held_margin` more: false faces spanning others."""
        boxes, scores = found.boxes, found.scores
        holders = np.zeros(len(scores), dtype=bool)
        if not self.options.container_holds:
            return holders
        heights = boxes[:, 3] - boxes[:, 1]
        areas = (boxes[:, 2] - boxes[:, 0]) * heights
        for i, box in enumerate(boxes):
            inter = blazeface.intersections(box, boxes)
            held = (heights < self.options.held_face * heights[i]) & (inter > 0.5 * areas)
            holders[i] = held.sum() >= self.options.container_holds or bool(
                np.any(held & (scores > scores[i] + self.options.held_margin))
            )
        return holders
