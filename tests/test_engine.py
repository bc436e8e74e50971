"""The whole engine with the shipped model: verdicts, refusals, the bounded pool."""

from __future__ import annotations

import asyncio
import csv
import json
import shutil
import threading
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from tests import badfiles
from xinh.inference.engine import Engine, EngineOptions
from xinh.inference.model_files import models_dir
from xinh.inference.types import Outcome


def test_a_womans_portrait_is_rated(engine: Engine, woman_jpeg: bytes) -> None:
    analysis = engine.analyze_now(woman_jpeg)
    assert analysis.outcome is Outcome.RATED
    face = analysis.faces[0]
    assert face.gender == "female" and face.verdict in ("beautiful", "average")
    assert face.female_probability >= engine.spec.female_threshold
    assert 1 <= face.beauty <= 10


def test_a_face_smaller_than_the_model_may_judge_gets_no_verdict(
    engine: Engine, woman_jpeg: bytes, tmp_path: Path
) -> None:
    for name in ("xinh-face.json", "xinh_face.tflite", "peer_gender.tflite"):
        shutil.copy(models_dir() / name, tmp_path / name)
    metadata = json.loads((tmp_path / "xinh-face.json").read_text())
    height = engine.analyze_now(woman_jpeg).faces[0].face.box[3]
    metadata["small_faces"] = {"min_face_height": height + 1, "why": "a test"}
    (tmp_path / "xinh-face.json").write_text(json.dumps(metadata))
    strict = Engine.create(tmp_path)
    try:
        assert strict.spec.min_face_height == height + 1
        analysis = strict.analyze_now(woman_jpeg)
    finally:
        strict.close()
    assert analysis.outcome is Outcome.FACE_TOO_SMALL
    (face,) = analysis.faces
    assert face.too_small and face.gender is None and face.verdict is None


def test_no_face_and_bad_bytes(engine: Engine, photos: Path) -> None:
    assert engine.analyze_now((photos / "coffee.jpg").read_bytes()).outcome is Outcome.NO_FACE
    assert engine.analyze_now(b"\xff\xd8\xff garbage").outcome is Outcome.UNREADABLE
    assert engine.analyze_now(b"").outcome is Outcome.UNREADABLE


def _outcomes(engine: Engine, shared_data: Path, gender: str, count: int = 20) -> list[Outcome]:
    """The engine's outcomes on the first MEBeauty validation photos of one gender."""
    with open(shared_data / "mebeauty" / "scores.csv", newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["split"] == "val" and r["gender"] == gender]
    return [
        engine.analyze_now((shared_data / "mebeauty" / r["image"]).read_bytes()).outcome
        for r in rows[:count]
    ]


def test_men_get_the_refusal(engine: Engine, shared_data: Path) -> None:
    assert _outcomes(engine, shared_data, "male").count(Outcome.MALE) >= 16


def test_women_are_rated_or_seen_as_too_young_never_men(engine: Engine, shared_data: Path) -> None:
    """The child cut leans towards refusing, so a few young-looking women hear "grown-ups
    only"; at most one is called a man."""
    outcomes = _outcomes(engine, shared_data, "female")
    assert outcomes.count(Outcome.MALE) <= 1
    assert outcomes.count(Outcome.RATED) >= 15


async def test_async_analyze_runs_in_the_pool(engine: Engine, astronaut_jpeg: bytes) -> None:
    results = await asyncio.gather(*(engine.analyze(astronaut_jpeg) for _ in range(4)))
    assert all(r.outcome in (Outcome.RATED, Outcome.MALE) and r.faces for r in results)
    assert engine.queue_depth == 0


async def test_a_full_pool_answers_busy_at_once(astronaut_jpeg: bytes) -> None:
    engine = Engine.create(options=EngineOptions(workers=1, queue_limit=1))
    try:
        results = await asyncio.gather(*(engine.analyze(astronaut_jpeg) for _ in range(5)))
    finally:
        engine.close()
    outcomes = [r.outcome for r in results]
    assert outcomes.count(Outcome.BUSY) == 3
    assert all(o in (Outcome.RATED, Outcome.MALE) for o in outcomes if o is not Outcome.BUSY)


async def test_a_slow_photo_times_out(astronaut_jpeg: bytes) -> None:
    engine = Engine.create(options=EngineOptions(workers=1, timeout_s=1e-4))
    try:
        assert (await engine.analyze(astronaut_jpeg)).outcome is Outcome.TIMEOUT
    finally:
        engine.close()


def _collage(face: np.ndarray, rows: int, cols: int) -> bytes:
    """A JPEG grid of `rows` x `cols` copies of one face, each row a little staggered."""
    canvas = np.full((rows * 260 + 40, cols * 220 + 40, 3), 120, np.uint8)
    tile = cv2.resize(face, (180, 210))
    for row in range(rows):
        for col in range(cols):
            y, x = 20 + row * 260 + (col % 2) * 15, 20 + col * 220
            canvas[y : y + 210, x : x + 180] = tile
    return cv2.imencode(".jpg", cv2.cvtColor(canvas, cv2.COLOR_RGB2BGR))[1].tobytes()


def test_group_faces_are_rated_in_reading_order_and_the_rest_counted(
    engine: Engine, woman_jpeg: bytes
) -> None:
    pixels = engine.decode(woman_jpeg).pixels
    x, y, w, h = (round(v) for v in engine.find_faces(woman_jpeg)[1][0].box)
    face = pixels[max(0, y - h // 4) : y + h + h // 8, max(0, x - w // 8) : x + w + w // 8]
    analysis = engine.analyze_now(_collage(face, 3, 4))
    assert len(analysis.faces) == 10 and analysis.unrated_faces == 2
    centres = [(f.face.box[1] + f.face.box[3] / 2, f.face.box[0]) for f in analysis.faces]
    rows = [int(cy // 260) for cy, _ in centres]
    assert rows == sorted(rows)
    for row in set(rows):
        xs = [cx for (cy, cx), r in zip(centres, rows, strict=True) if r == row]
        assert xs == sorted(xs)


def test_crafted_long_photo_costs_a_header_read(engine: Engine) -> None:
    thin = badfiles.encode(Image.new("RGB", (100, 40_000)), "PNG")
    started = time.perf_counter()
    assert engine.analyze_now(thin).outcome is Outcome.UNSUPPORTED
    assert time.perf_counter() - started < 2


async def test_a_timed_out_photo_keeps_its_slot_until_its_worker_stops(
    astronaut_jpeg: bytes,
) -> None:
    engine = Engine.create(options=EngineOptions(workers=1, queue_limit=0, timeout_s=0.2))
    release = threading.Event()
    original = engine.find_faces

    def stalled(data, deadline=None):
        release.wait(5)
        return original(data, deadline)

    engine.find_faces = stalled
    try:
        assert (await engine.analyze(astronaut_jpeg)).outcome is Outcome.TIMEOUT
        assert engine.queue_depth == 1
        assert (await engine.analyze(astronaut_jpeg)).outcome is Outcome.BUSY
        release.set()
        for _ in range(100):
            if engine.queue_depth == 0:
                break
            await asyncio.sleep(0.05)
        assert engine.queue_depth == 0
    finally:
        release.set()
        engine.close()


async def test_close_returns_on_time_with_a_stalled_worker(astronaut_jpeg: bytes) -> None:
    engine = Engine.create(options=EngineOptions(workers=1, close_timeout_s=0.3))
    release = threading.Event()
    engine.find_faces = lambda data, deadline=None: release.wait(10)
    task = asyncio.ensure_future(engine.analyze(astronaut_jpeg))
    await asyncio.sleep(0.1)
    started = time.perf_counter()
    engine.close()
    assert time.perf_counter() - started < 2
    release.set()
    task.cancel()
