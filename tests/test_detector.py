"""The real BlazeFace models on real pictures: portraits, crops, selfies, groups, no faces."""

from __future__ import annotations

import csv
import random
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests import badfiles
from xinh.inference import blazeface
from xinh.inference.budget import Deadline, OutOfTime
from xinh.inference.decode import decode
from xinh.inference.detector import (
    DetectorOptions,
    FaceDetector,
    _Search,
    every_nth_pixel,
    tile_grid,
)
from xinh.inference.model_files import detector_files


@pytest.fixture(scope="module")
def astronaut(astronaut_jpeg: bytes) -> np.ndarray:
    return decode(astronaut_jpeg).pixels


@pytest.fixture(scope="module")
def astronaut_face(detector: FaceDetector, astronaut: np.ndarray) -> np.ndarray:
    """The astronaut's head with a little margin, cut from the photo."""
    x, y, w, h = (round(v) for v in detector.detect(astronaut)[0].box)
    return astronaut[y - h // 4 : y + h + h // 8, x - w // 8 : x + w + w // 8]


def _upright(face) -> bool:
    (lx, ly), (rx, ry), (_, ny), (_, my) = face.keypoints[:4]
    return lx < rx and max(ly, ry) < ny < my


def test_astronaut_has_one_upright_face(detector: FaceDetector, astronaut: np.ndarray) -> None:
    faces = detector.detect(astronaut)
    assert len(faces) == 1
    face = faces[0]
    x, y, w, h = face.box
    assert 150 < x + w / 2 < 260 and 80 < y + h / 2 < 160 and 80 < w < 140
    assert face.score > 0.8 and _upright(face)


@pytest.mark.parametrize("name", ["coffee", "chelsea", "rocket"])
def test_no_face_in_face_free_photos(detector: FaceDetector, photos: Path, name: str) -> None:
    assert detector.detect(decode((photos / f"{name}.jpg").read_bytes()).pixels) == []


def test_exif_rotated_photo_is_found_upright(detector: FaceDetector, astronaut) -> None:
    pixels = decode(badfiles.exif_rotated_jpeg(astronaut)).pixels
    faces = detector.detect(pixels)
    assert len(faces) == 1 and _upright(faces[0])


def test_tight_crop_like_utkface(detector: FaceDetector, astronaut_face: np.ndarray) -> None:
    crop = cv2.resize(astronaut_face, (200, 200), interpolation=cv2.INTER_AREA)
    faces = detector.detect(crop)
    assert len(faces) == 1 and faces[0].area > 0.3 * 200 * 200


def test_selfie_filling_the_frame(detector: FaceDetector, astronaut_face: np.ndarray) -> None:
    selfie = cv2.resize(astronaut_face, (900, 1100), interpolation=cv2.INTER_CUBIC)
    faces = detector.detect(selfie)
    assert len(faces) == 1 and _upright(faces[0])


def _group_photo(face: np.ndarray, face_share: float, width=1280, height=960) -> tuple:
    """A grey canvas tiled with copies of `face`, each `face_share` of the short side tall."""
    canvas = np.full((height, width, 3), 90, np.uint8)
    tile_h = round(height * face_share * face.shape[0] / (face.shape[0] * 0.75))
    tile = cv2.resize(face, (round(tile_h * face.shape[1] / face.shape[0]), tile_h))
    count = 0
    for y in range(20, height - tile.shape[0], tile.shape[0] + 40):
        for x in range(20, width - tile.shape[1], tile.shape[1] + 40):
            canvas[y : y + tile.shape[0], x : x + tile.shape[1]] = tile
            count += 1
    return canvas, count


@pytest.mark.parametrize("face_share", [0.08, 0.12, 0.2])
def test_group_photo_faces_down_to_8_percent(astronaut_face: np.ndarray, face_share) -> None:
    detector = FaceDetector.create(*detector_files(), DetectorOptions(max_faces=100))
    canvas, count = _group_photo(astronaut_face, face_share)
    assert len(detector.detect(canvas)) == count


def test_every_face_largest_first(detector: FaceDetector, astronaut_face) -> None:
    canvas, count = _group_photo(astronaut_face, 0.12)
    big = cv2.resize(astronaut_face, (300, 360))
    canvas[500:860, 900:1200] = big
    faces = detector.detect(canvas)
    assert count > 10 and len(faces) >= count - 2
    assert faces[0].box[0] > 850 and faces[0].box[1] > 450
    areas = [f.area for f in faces]
    assert areas == sorted(areas, reverse=True)


def test_eight_large_portraits_in_a_row_are_eight_faces(astronaut_face: np.ndarray) -> None:
    """The issue's case: a 4x2 collage of large faces once gave one false face."""
    tile = cv2.resize(astronaut_face, (300, 340))
    canvas = np.full((720, 1440, 3), 200, np.uint8)
    for i in range(8):
        row, col = divmod(i, 4)
        canvas[20 + row * 360 : 360 + row * 360, 40 + col * 350 : 340 + col * 350] = tile
    detector = FaceDetector.create(*detector_files())
    assert len(detector.detect(canvas)) == 8


def test_twelve_faces_of_5_percent_are_found(astronaut_face: np.ndarray) -> None:
    canvas = np.full((960, 1280, 3), 90, np.uint8)
    tile = cv2.resize(astronaut_face, (56, 64), interpolation=cv2.INTER_AREA)
    for i in range(12):
        row, col = divmod(i, 4)
        y, x = 100 + row * 300 + 37 * col, 120 + col * 300 + 23 * row
        canvas[y : y + 64, x : x + 56] = tile
    assert len(FaceDetector.create(*detector_files()).detect(canvas)) == 12


@pytest.mark.parametrize("shape", [(100, 1000), (32, 320), (3000, 300), (960, 1280)])
def test_passes_are_capped_whatever_the_shape(shape: tuple[int, int]) -> None:
    grid = tile_grid(*shape, 40, 0.4, 30)
    assert 1 <= len(grid) <= 30
    for x, y, side in grid:
        assert x + side <= shape[1] and y + side <= shape[0]


def test_a_passed_deadline_stops_the_search(detector: FaceDetector, astronaut) -> None:
    with pytest.raises(OutOfTime):
        detector.detect(astronaut, Deadline(at=0.0))
    stop = threading.Event()
    stop.set()
    with pytest.raises(OutOfTime):
        detector.detect(astronaut, Deadline(at=float("inf"), stop=stop))


def test_rated_face_found_in_mebeauty_val(detector: FaceDetector, shared_data: Path) -> None:
    with open(shared_data / "mebeauty" / "scores.csv", newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["split"] == "val"]
    found = sum(
        bool(detector.detect(decode((shared_data / "mebeauty" / r["image"]).read_bytes()).pixels))
        for r in rows
    )
    assert found / len(rows) >= 0.99


def test_face_found_in_utkface_crops(detector: FaceDetector, shared_data: Path) -> None:
    paths = sorted((shared_data / "utkface").glob("*.jpg"))
    sample = random.Random(7).sample(paths, 1500)
    found = sum(bool(detector.detect(decode(p.read_bytes()).pixels)) for p in sample)
    assert found / len(sample) >= 0.98


def _found(boxes: list[list[float]], scores: list[float]) -> blazeface.Detections:
    return blazeface.Detections(
        np.array(boxes, dtype=np.float64), np.zeros((len(boxes), 6, 2)), np.array(scores)
    )


@pytest.mark.parametrize(
    ("small", "scores", "kept"),
    [
        ([[10, 10, 30, 30], [50, 50, 70, 70]], [0.8, 0.8], 2),  # two faces inside: false face
        ([[10, 10, 30, 30]], [0.9], 1),  # one face inside, scoring clearly higher: false face
        ([[10, 10, 30, 30]], [0.8], 1),  # one face inside, no better: the large face stays
    ],
)
def test_a_large_face_holding_smaller_ones_is_dropped(
    detector: FaceDetector, small: list[list[float]], scores: list[float], kept: int
) -> None:
    search = _Search(detector, np.zeros((200, 200, 3), np.uint8), None)
    found = search._add(_found([[0, 0, 100, 100]], [0.75]), [_found(small, scores)])
    heights = found.boxes[:, 3] - found.boxes[:, 1]
    assert len(found.scores) == kept
    assert (heights == 100).any() == (kept == 1 and scores[0] < 0.85)


def test_every_nth_pixel_is_numpys_strided_slice() -> None:
    photo = np.random.default_rng(0).integers(0, 256, (101, 77, 3), np.uint8)
    for pixels in (photo, photo[10:90, 5:60], photo[:, ::-1]):
        for step in (2, 3, 7):
            picked = every_nth_pixel(pixels, step)
            assert picked.flags["C_CONTIGUOUS"]
            np.testing.assert_array_equal(picked, pixels[::step, ::step])
