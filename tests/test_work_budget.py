"""One photo's work and memory are bounded whatever arrives: crafted files in a fresh process."""

from __future__ import annotations

from bench.pipeline import costs
from tests import badfiles
from xinh.inference.budget import Deadline
from xinh.inference.engine import Engine
from xinh.inference.types import Outcome


def test_crafted_files_cost_at_most_one_photo() -> None:
    """Thin, huge and many-frame files: each answered in well under 2 s (the thin ones once
    took 80 s and more), and the process stays near the README's 200 MB at its peak."""
    files = badfiles.crafted()
    results = costs(list(files.values()))
    assert len(results) == len(files)
    accepted = {"7300x5470 JPEG (40 MP)", "4080x3060 PNG (12.5 MP)", "1280x128 PNG (10:1)"}
    for name, cost in zip(files, results, strict=True):
        assert cost.seconds < 2, name
        refused = cost.outcome in ("too_large", "unsupported")
        assert cost.outcome == "no_face" if name in accepted else refused, (name, cost.outcome)
    assert results[-1].peak_mb < 250
    assert results[-1].peak_mb - results[0].ready_mb < 120


def test_a_passed_deadline_answers_timeout(engine: Engine, astronaut_jpeg: bytes) -> None:
    assert engine.analyze_now(astronaut_jpeg, Deadline(at=0.0)).outcome is Outcome.TIMEOUT
