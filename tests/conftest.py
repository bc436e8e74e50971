"""Shared fixtures: test photos, the shared data folder, and one engine for the session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from xinh.inference.detector import FaceDetector
from xinh.inference.engine import Engine
from xinh.inference.model_files import detector_files

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent


@pytest.fixture(scope="session")
def photos() -> Path:
    """tests/data: scikit-image's public-domain astronaut and three face-free photos."""
    return TESTS / "data"


@pytest.fixture(scope="session")
def astronaut_jpeg(photos: Path) -> bytes:
    return (photos / "astronaut.jpg").read_bytes()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The training data beside the checkout ($XINH_SHARED_DATA or ../shared/data)."""
    path = Path(os.environ.get("XINH_SHARED_DATA", ROOT.parent / "shared" / "data"))
    if not (path / "mebeauty" / "scores.csv").exists():
        pytest.skip(f"shared data not found at {path}")
    return path


@pytest.fixture(scope="session")
def detector() -> FaceDetector:
    return FaceDetector.create(*detector_files())


@pytest.fixture(scope="session")
def engine():
    """The real engine with the shipped models, shared by the session's tests."""
    engine = Engine.create()
    yield engine
    engine.close()


@pytest.fixture(scope="session")
def woman_jpeg(shared_data: Path) -> bytes:
    """A real woman's portrait that the shipped model rates: the first MEBeauty validation
    woman with one face and a confident verdict (a real portrait beside the public-domain
    astronaut, who is rated too)."""
    import csv

    from xinh.inference.types import Outcome

    with open(shared_data / "mebeauty" / "scores.csv", newline="") as handle:
        rows = [
            r for r in csv.DictReader(handle) if r["split"] == "val" and r["gender"] == "female"
        ]
    engine = Engine.create()
    try:
        for row in sorted(rows, key=lambda r: r["image"]):
            data = (shared_data / "mebeauty" / row["image"]).read_bytes()
            analysis = engine.analyze_now(data)
            if (
                analysis.outcome is Outcome.RATED
                and len(analysis.faces) == 1
                and analysis.faces[0].female_probability >= 0.9
            ):
                return data
    finally:
        engine.close()
    pytest.fail("no MEBeauty validation woman is confidently rated by the shipped model")
