"""The reply composer: one text per outcome, numbered photo for several faces."""

from __future__ import annotations

import random

import numpy as np
import pytest

from bots.replies import compose, greeting
from inference.types import Analysis, Face, Limits, Outcome, RatedFace
from locales import Catalog

CATALOG = Catalog.load()
FACE = Face(box=(10, 10, 50, 50), score=0.9, keypoints=((20, 30),) * 6)


def _rated(gender: str, beauty: float, verdict: str | None) -> RatedFace:
    return RatedFace(FACE, 0.9 if gender == "female" else 0.1, gender, beauty, verdict)


@pytest.mark.parametrize("language", ["en", "vi"])
def test_one_woman_gets_verdict_score_line_and_disclaimer(language: str) -> None:
    analysis = Analysis(Outcome.RATED, (_rated("female", 7.26, "beautiful"),))
    reply = compose(analysis, language, CATALOG, rng=random.Random(1))
    assert CATALOG.text(language, "verdict.beautiful") in reply.text
    assert "7.3/10" in reply.text
    assert CATALOG.text(language, "verdict.disclaimer") in reply.text
    assert reply.annotated_jpeg is None and not reply.is_error


def test_a_man_gets_the_mock_refusal() -> None:
    reply = compose(Analysis(Outcome.MALE, (_rated("male", 5.0, None),)), "en", CATALOG)
    assert reply.text.startswith("Sorry...?")
    assert "/10" not in reply.text


def test_several_faces_bring_a_numbered_photo_and_a_line_each() -> None:
    faces = (_rated("female", 6.0, "average"), _rated("male", 5.0, None))
    pixels = np.zeros((100, 100, 3), np.uint8)
    reply = compose(Analysis(Outcome.RATED, faces, pixels), "en", CATALOG)
    assert "1. Average · 6.0/10" in reply.text and "2. Sorry...?" in reply.text
    assert reply.annotated_jpeg.startswith(b"\xff\xd8")


@pytest.mark.parametrize(
    "outcome",
    [
        Outcome.NO_FACE,
        Outcome.UNREADABLE,
        Outcome.UNSUPPORTED,
        Outcome.TOO_LARGE,
        Outcome.TOO_SMALL,
        Outcome.BUSY,
        Outcome.TIMEOUT,
    ],
)
@pytest.mark.parametrize("language", ["en", "vi"])
def test_every_refusal_has_a_kind_localized_line(outcome: Outcome, language: str) -> None:
    reply = compose(Analysis(outcome), language, CATALOG, Limits(max_bytes=20 * 1024 * 1024))
    assert reply.is_error and reply.text and "{" not in reply.text
    if outcome is Outcome.TOO_LARGE:
        assert "20 MB" in reply.text


def test_greeting_quotes_the_original_intro() -> None:
    text = greeting(CATALOG, "vi")
    assert "Ứng dụng đánh giá nhan sắc phái nữ" in text
    assert "Hãy để chúng tôi trả lời giúp bạn" in text


def test_huge_annotated_photos_are_shrunk_for_chat_platforms() -> None:
    import cv2

    faces = (_rated("female", 6.0, "average"), _rated("female", 7.0, "beautiful"))
    reply = compose(
        Analysis(Outcome.RATED, faces, np.zeros((3000, 6000, 3), np.uint8)), "en", CATALOG
    )
    image = cv2.imdecode(np.frombuffer(reply.annotated_jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert max(image.shape[:2]) == 2560
