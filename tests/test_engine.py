"""The whole engine with the shipped model: verdicts, refusals, the bounded pool."""

from __future__ import annotations

import asyncio
import csv
from pathlib import Path

from inference.engine import Engine, EngineOptions
from inference.types import Outcome


def test_a_womans_portrait_is_rated(engine: Engine, woman_jpeg: bytes) -> None:
    analysis = engine.analyze_now(woman_jpeg)
    assert analysis.outcome is Outcome.RATED
    face = analysis.faces[0]
    assert face.gender == "female" and face.verdict in ("beautiful", "average")
    assert face.female_probability >= engine.spec.female_threshold
    assert 1 <= face.beauty <= 10


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


def test_women_are_rated(engine: Engine, shared_data: Path) -> None:
    assert _outcomes(engine, shared_data, "female").count(Outcome.RATED) >= 19


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
