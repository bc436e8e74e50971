"""Detection on group photos: collages of validation faces with known boxes, scored by face size.

Each collage (2 to 12 faces, seeded, built in memory and never written) tiles validation faces
of ../shared/data (MEBeauty's own split, the stable-hash tenth of UTKFace, FairFace and SCUT)
at several sizes, some tilted, on plain or photo backgrounds. A face's box is the detector's
own box on that face alone, upright and full size, moved with its tile: the evaluation says
what grouping, shrinking and tilting cost. Prints recall and precision (IoU >= 0.4) by face
size, as a share of the photo's short side, and the share of photos with every face found,
for Xinh's detector, OpenCV's Haar cascade and (with --dlib) dlib's HOG detector.

    python bench/group_photos.py [--photos 150] [--seed 0] [--dlib]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from training.datasets import stable_split  # noqa: E402
from xinh.inference.decode import decode  # noqa: E402
from xinh.inference.detector import DetectorOptions, FaceDetector  # noqa: E402
from xinh.inference.model_files import detector_files  # noqa: E402

DATA = Path(os.environ.get("XINH_SHARED_DATA", ROOT.parent / "shared" / "data"))
CANVASES = ((1280, 960), (1440, 720), (1600, 900), (1080, 1350), (960, 1280), (2048, 1536))
SIZE_BINS = (0.0, 0.04, 0.08, 0.15, 0.3, 1.01)
MIN_IOU = 0.4
Detect = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True, slots=True)
class SourceFace:
    """A square picture of one face and that face's box (x0, y0, x1, y1) in its pixels."""

    pixels: np.ndarray
    box: np.ndarray


@dataclass(frozen=True, slots=True)
class Collage:
    """A group photo made of tiles, and the box of every face in it."""

    pixels: np.ndarray
    boxes: np.ndarray  # (N, 4) x0, y0, x1, y1


def _validation_paths(rng: np.random.Generator, per_source: int) -> list[Path]:
    """A seeded sample of each training set's validation pictures."""
    with open(DATA / "mebeauty" / "scores.csv", newline="") as handle:
        mebeauty = [
            DATA / "mebeauty" / r["image"] for r in csv.DictReader(handle) if r["split"] == "val"
        ]
    utkface = [p for p in sorted((DATA / "utkface").glob("*.jpg")) if stable_split(p.name) == "val"]
    others = []
    for name, table in (("fairface", "labels.csv"), ("scut", "scores.csv")):
        with open(DATA / name / table, newline="") as handle:
            others.append(
                [
                    DATA / name / r["image"]
                    for r in csv.DictReader(handle)
                    if stable_split(r["image"]) == "val"
                ]
            )
    paths = []
    for group in (mebeauty, utkface, *others):
        picked = rng.choice(len(group), min(per_source, len(group)), replace=False)
        paths.extend(group[i] for i in sorted(picked))
    return paths


def source_faces(
    detector: FaceDetector, rng: np.random.Generator, per_source: int
) -> list[SourceFace]:
    """Validation pictures cut square around their face; those without exactly one are left out."""
    faces = []
    for path in _validation_paths(rng, per_source):
        decoded = decode(path.read_bytes())
        if not decoded.ok:
            continue
        found = detector.detect(decoded.pixels)
        if not found:
            continue
        x, y, w, h = found[0].box
        side = round(2.2 * max(w, h))
        cx, cy = round(x + w / 2), round(y + h / 2)
        half = side // 2
        square = cv2.copyMakeBorder(decoded.pixels, half, half, half, half, cv2.BORDER_REPLICATE)
        square = square[cy : cy + side, cx : cx + side]
        if min(decoded.pixels.shape[:2]) <= side:  # a tight crop already: keep it whole
            square = decoded.pixels
        alone = detector.detect(square)
        if len(alone) != 1:
            continue
        bx, by, bw, bh = alone[0].box
        faces.append(SourceFace(np.ascontiguousarray(square), np.array([bx, by, bx + bw, by + bh])))
    return faces


def _background(
    rng: np.random.Generator, width: int, height: int, scenes: list[np.ndarray]
) -> np.ndarray:
    """A face-free photo stretched over the canvas, or a noisy colour gradient."""
    if scenes and rng.random() < 0.5:
        scene = scenes[rng.integers(len(scenes))]
        return cv2.resize(scene, (width, height), interpolation=cv2.INTER_LINEAR)
    a, b = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
    ramp = np.linspace(0, 1, width)[None, :, None]
    canvas = (a * (1 - ramp) + b * ramp) * np.ones((height, 1, 1))
    canvas += rng.normal(0, 6, canvas.shape)
    return canvas.clip(0, 255).astype(np.uint8)


def build_collage(
    rng: np.random.Generator, faces: list[SourceFace], scenes: list[np.ndarray]
) -> Collage:
    """2 to 12 faces in a jittered grid, one tile size per photo (some small), some tilted."""
    width, height = CANVASES[rng.integers(len(CANVASES))]
    count = int(rng.integers(2, 13))
    cols = int(np.ceil(np.sqrt(count * width / height)))
    rows = int(np.ceil(count / cols))
    cell_w, cell_h = width / cols, height / rows
    scale = rng.uniform(0.2, 1.0)
    canvas = _background(rng, width, height, scenes)
    boxes = []
    for cell in sorted(rng.choice(rows * cols, count, replace=False)):
        row, col = divmod(int(cell), cols)
        face = faces[rng.integers(len(faces))]
        angle = rng.uniform(8, 30) * rng.choice([-1, 1]) if rng.random() < 0.3 else 0.0
        spread = abs(np.cos(np.radians(angle))) + abs(np.sin(np.radians(angle)))
        side = max(24, round(min(cell_w, cell_h) * scale * rng.uniform(0.85, 1.0) / spread))
        span = int(np.ceil(side * spread))
        x0 = col * cell_w + rng.uniform(0, max(0.0, cell_w - span))
        y0 = row * cell_h + rng.uniform(0, max(0.0, cell_h - span))
        centre = np.array([x0 + span / 2, y0 + span / 2])
        zoom = side / face.pixels.shape[0]
        # Source pixels to canvas: scale about the tile's centre, rotate, move to `centre`.
        matrix = cv2.getRotationMatrix2D(
            (face.pixels.shape[1] / 2, face.pixels.shape[0] / 2), angle, zoom
        )
        matrix[:, 2] += centre - np.array([face.pixels.shape[1] / 2, face.pixels.shape[0] / 2])
        flags = cv2.INTER_AREA if zoom < 1 else cv2.INTER_LINEAR
        warped = cv2.warpAffine(face.pixels, matrix, (width, height), flags=flags)
        mask = cv2.warpAffine(
            np.full(face.pixels.shape[:2], 255, np.uint8), matrix, (width, height)
        )
        canvas[mask > 127] = warped[mask > 127]
        box_centre = matrix[:, :2] @ ((face.box[:2] + face.box[2:]) / 2) + matrix[:, 2]
        half = (face.box[2:] - face.box[:2]) * zoom / 2
        boxes.append(np.concatenate([box_centre - half, box_centre + half]))
    return Collage(canvas, np.array(boxes))


def collages(
    seed: int, count: int, faces: list[SourceFace], scenes: list[np.ndarray]
) -> Iterator[Collage]:
    """The same `count` collages for the same seed and faces."""
    rng = np.random.default_rng(seed)
    for _ in range(count):
        yield build_collage(rng, faces, scenes)


def _iou(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    x0 = np.maximum(box[0], others[:, 0])
    y0 = np.maximum(box[1], others[:, 1])
    x1 = np.minimum(box[2], others[:, 2])
    y1 = np.minimum(box[3], others[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    areas = (others[:, 2] - others[:, 0]) * (others[:, 3] - others[:, 1])
    return inter / ((box[2] - box[0]) * (box[3] - box[1]) + areas - inter)


def match(truth: np.ndarray, found: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Greedy one-to-one matching at IoU >= MIN_IOU: which true faces and detections matched."""
    hit_truth = np.zeros(len(truth), bool)
    hit_found = np.zeros(len(found), bool)
    if len(truth) and len(found):
        pairs = np.array([_iou(box, found) for box in truth])
        for flat in np.argsort(-pairs, axis=None):
            i, j = np.unravel_index(flat, pairs.shape)
            if pairs[i, j] < MIN_IOU:
                break
            if not hit_truth[i] and not hit_found[j]:
                hit_truth[i] = hit_found[j] = True
    return hit_truth, hit_found


@dataclass
class Score:
    """Counts for one detector: by size bin, true faces found of all, detections right of all."""

    found: np.ndarray
    truth: np.ndarray
    right: np.ndarray
    detections: np.ndarray
    complete: int = 0
    complete_from_4: int = 0
    photos: int = 0
    seconds: float = 0.0

    @classmethod
    def empty(cls) -> Score:
        zeros = np.zeros(len(SIZE_BINS) - 1, int)
        return cls(zeros.copy(), zeros.copy(), zeros.copy(), zeros.copy())

    def add(self, collage: Collage, found: np.ndarray, seconds: float) -> None:
        short = min(collage.pixels.shape[:2])
        hit_truth, hit_found = match(collage.boxes, found)
        truth_bins = np.digitize((collage.boxes[:, 3] - collage.boxes[:, 1]) / short, SIZE_BINS) - 1
        np.add.at(self.truth, truth_bins, 1)
        np.add.at(self.found, truth_bins, hit_truth)
        if len(found):
            found_bins = np.digitize((found[:, 3] - found[:, 1]) / short, SIZE_BINS) - 1
            np.add.at(self.detections, found_bins.clip(0, len(SIZE_BINS) - 2), 1)
            np.add.at(self.right, found_bins.clip(0, len(SIZE_BINS) - 2), hit_found)
        self.complete += bool(hit_truth.all())
        self.complete_from_4 += bool(hit_truth[truth_bins > 0].all())
        self.photos += 1
        self.seconds += seconds


def xinh_detector() -> Detect:
    detector = FaceDetector.create(*detector_files(), DetectorOptions(max_faces=100))

    def detect(pixels: np.ndarray) -> np.ndarray:
        faces = detector.detect(pixels)
        return np.array([[x, y, x + w, y + h] for x, y, w, h in (f.box for f in faces)]).reshape(
            -1, 4
        )

    return detect


def haar_detector() -> Detect:
    """OpenCV's frontal-face Haar cascade, usual settings (the original project's detector)."""
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")

    def detect(pixels: np.ndarray) -> np.ndarray:
        grey = cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY)
        found = cascade.detectMultiScale(grey, scaleFactor=1.1, minNeighbors=5, minSize=(20, 20))
        boxes = np.array(found, dtype=np.float64).reshape(-1, 4)
        boxes[:, 2:] += boxes[:, :2]
        return boxes

    return detect


_DLIB_WORKER = """
import json, sys
import dlib, numpy as np
detector = dlib.get_frontal_face_detector()
while header := sys.stdin.buffer.read(8):
    height, width = np.frombuffer(header, np.uint32)
    pixels = np.frombuffer(sys.stdin.buffer.read(int(height) * int(width) * 3), np.uint8)
    found = detector(pixels.reshape(int(height), int(width), 3), 1)
    print(json.dumps([[r.left(), r.top(), r.right(), r.bottom()] for r in found]), flush=True)
"""


class DlibDetector:
    """dlib's HOG detector (upsampled once) in the peer environment, fed pixels through a pipe."""

    def __init__(self) -> None:
        from training.peer_env import peer_python

        python = peer_python(ROOT / ".cache" / "peer-venv")
        self.process = subprocess.Popen(
            [str(python), "-c", _DLIB_WORKER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=False,
        )

    def __call__(self, pixels: np.ndarray) -> np.ndarray:
        header = np.array(pixels.shape[:2], np.uint32).tobytes()
        self.process.stdin.write(header + np.ascontiguousarray(pixels).tobytes())
        self.process.stdin.flush()
        return np.array(json.loads(self.process.stdout.readline()), np.float64).reshape(-1, 4)

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait()


def report(name: str, score: Score) -> None:
    """One detector's table: recall and precision by face size, then whole photos and time."""
    per_photo = score.seconds / score.photos * 1000
    print(f"\n{name}: {score.photos} photos, {score.truth.sum()} faces, {per_photo:.0f} ms a photo")
    header = ("face size (short side)", "faces", "recall", "found", "precision")
    print("  {:<24} {:>6} {:>8} {:>6} {:>10}".format(*header))
    row = "  {:<24} {:>6} {:>8.1%} {:>6} {:>10.1%}"
    for i in range(len(SIZE_BINS) - 1):
        low, high = SIZE_BINS[i], min(SIZE_BINS[i + 1], 1.0)
        recall = score.found[i] / score.truth[i] if score.truth[i] else float("nan")
        precision = score.right[i] / score.detections[i] if score.detections[i] else float("nan")
        print(
            row.format(
                f"{low:.0%}-{high:.0%}", score.truth[i], recall, score.detections[i], precision
            )
        )
    every = score.found[1:].sum() / score.truth[1:].sum()
    precise = score.right.sum() / max(1, score.detections.sum())
    print(row.format("all from 4%", score.truth[1:].sum(), every, score.detections.sum(), precise))
    print(
        f"  every face found: {score.complete / score.photos:.1%} of photos; "
        f"every face from 4%: {score.complete_from_4 / score.photos:.1%}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--photos", type=int, default=150)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--faces", type=int, default=60, help="source faces per training set")
    parser.add_argument("--dlib", action="store_true", help="also dlib's HOG (peer environment)")
    parser.add_argument("--no-haar", action="store_true", help="leave out OpenCV's Haar cascade")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    detectors: dict[str, Detect] = {"Xinh (BlazeFace cascade)": xinh_detector()}
    if not args.no_haar:
        detectors["OpenCV Haar cascade"] = haar_detector()
    if args.dlib:
        detectors["dlib HOG (upsampled once)"] = DlibDetector()
    faces = source_faces(FaceDetector.create(*detector_files()), rng, args.faces)
    scenes = [
        decode((ROOT / "tests" / "data" / f"{n}.jpg").read_bytes()).pixels
        for n in ("coffee", "chelsea", "rocket")
    ]
    print(
        f"{args.photos} collages of 2-12 faces (seed {args.seed}) from {len(faces)} "
        f"validation faces; IoU >= {MIN_IOU}"
    )
    scores = {name: Score.empty() for name in detectors}
    for collage in collages(args.seed, args.photos, faces, scenes):
        for name, detect in detectors.items():
            started = time.perf_counter()
            found = detect(collage.pixels)
            scores[name].add(collage, found, time.perf_counter() - started)
    for name, score in scores.items():
        report(name, score)
    for detect in detectors.values():
        if isinstance(detect, DlibDetector):
            detect.close()


if __name__ == "__main__":
    main()
