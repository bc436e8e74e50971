"""Shared fixtures: test photos, the shared data folder, and one engine for the session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from inference.detector import FaceDetector
from inference.engine import Engine
from inference.model_files import detector_files

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
