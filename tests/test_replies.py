"""The reply composer: one text per outcome, numbered photo for several faces, children,
faces beyond the limit, each platform's wording and length limit; the verdict's cut."""

from __future__ import annotations

import random

import numpy as np
import pytest

from xinh.bots.replies import Platform, Refusal, compose, greeting, refuse, text_length
from xinh.inference.types import Analysis, Attributes, Face, Limits, Outcome, RatedFace
from xinh.inference.verdict import photo_outcome, rate_face
from xinh.locales import Catalog

CATALOG = Catalog.load()
LANGUAGES = CATALOG.languages
FACE = Face(box=(10, 10, 50, 50), score=0.9, keypoints=((20, 30),) * 6)
LIMITS = Limits(max_bytes=20 * 1024 * 1024)


def _rated(gender: str, beauty: float, verdict: str | None) -> RatedFace:
    return RatedFace(FACE, 0.9 if gender == "female" else 0.1, gender, beauty, verdict)


def _child(age: float = 6.0) -> RatedFace:
    return RatedFace(FACE, 0.7, None, 6.5, None, age=age, child=True)


def _small() -> RatedFace:
    return RatedFace(FACE, 0.7, None, 6.5, None, age=30.0, too_small=True)


@pytest.mark.parametrize("language", LANGUAGES)
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
    reply = compose(Analysis(Outcome.RATED, faces, pixels=pixels), "en", CATALOG)
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
@pytest.mark.parametrize("language", LANGUAGES)
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
        Analysis(Outcome.RATED, faces, pixels=np.zeros((3000, 6000, 3), np.uint8)), "en", CATALOG
    )
    image = cv2.imdecode(np.frombuffer(reply.annotated_jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert max(image.shape[:2]) == 2560


def test_equal_shown_scores_read_equal() -> None:
    """6.77 and 6.79 both show as 6.8: with the cut at 6.78 both are Beautiful."""
    faces = [rate_face(FACE, Attributes(0.9, beauty), 0.5, 6.78) for beauty in (6.77, 6.79)]
    assert [face.verdict for face in faces] == ["beautiful", "beautiful"]
    texts = [compose(Analysis(Outcome.RATED, (f,)), "en", CATALOG).text for f in faces]
    assert [text.split("\n")[0] for text in texts] == ["Beautiful · 6.8/10"] * 2
    below = rate_face(FACE, Attributes(0.9, 6.74), 0.5, 6.78)
    assert below.verdict == "average"


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_child_alone_gets_the_kind_line(language: str) -> None:
    analysis = Analysis(photo_outcome((_child(),)), (_child(),))
    reply = compose(analysis, language, CATALOG, rng=random.Random(0))
    assert analysis.outcome is Outcome.CHILD and not reply.is_error
    assert reply.text.startswith(CATALOG.text(language, "child.title"))
    assert "/10" not in reply.text


@pytest.mark.parametrize("language", LANGUAGES)
def test_children_only_are_listed_and_answered_as_children(language: str) -> None:
    faces = (_child(4.0), _child(8.0))
    reply = compose(Analysis(photo_outcome(faces), faces), language, CATALOG)
    assert reply.outcome is Outcome.CHILD
    for number in (1, 2):
        assert CATALOG.text(language, "verdict.face_line_child", number=number) in reply.text
    assert any(line in reply.text for line in CATALOG.variants(language, "child.lines"))


def test_a_face_below_the_smallest_height_gets_no_gender_nor_age_verdict() -> None:
    woman_far_away = Attributes(0.95, 8.0, age=5.0)
    small = rate_face(FACE, woman_far_away, 0.5, 6.5, child_age=13, min_face_height=51)
    assert small.too_small and not small.child
    assert (small.gender, small.verdict) == (None, None)
    judged = rate_face(FACE, woman_far_away, 0.5, 6.5, child_age=13, min_face_height=50)
    assert judged.child and not judged.too_small


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_face_too_small_alone_gets_the_closer_photo_line(language: str) -> None:
    faces = (_small(),)
    reply = compose(Analysis(photo_outcome(faces), faces), language, CATALOG, rng=random.Random(0))
    assert reply.outcome is Outcome.FACE_TOO_SMALL and not reply.is_error
    assert reply.text.startswith(CATALOG.text(language, "small.title"))
    assert any(line in reply.text for line in CATALOG.variants(language, "small.lines"))
    assert "/10" not in reply.text


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_group_lists_faces_too_small_and_rates_the_rest(language: str) -> None:
    faces = (_rated("female", 7.0, "beautiful"), _small(), _child())
    reply = compose(Analysis(photo_outcome(faces), faces), language, CATALOG)
    assert reply.outcome is Outcome.RATED
    assert CATALOG.text(language, "verdict.face_line_small", number=2) in reply.text
    assert CATALOG.text(language, "verdict.face_line_child", number=3) in reply.text
    assert reply.text.count("/10") == 1
    only_small = (_small(), _child())
    assert photo_outcome(only_small) is Outcome.FACE_TOO_SMALL
    assert photo_outcome((_small(), _rated("male", 5.0, None))) is Outcome.MALE


def test_a_woman_with_her_child_stays_rated_and_the_child_unrated() -> None:
    faces = (_rated("female", 7.0, "beautiful"), _child())
    reply = compose(Analysis(photo_outcome(faces), faces), "en", CATALOG)
    assert reply.outcome is Outcome.RATED
    assert "1. Beautiful · 7.0/10" in reply.text
    assert CATALOG.text("en", "verdict.face_line_child", number=2) in reply.text
    assert reply.text.count("/10") == 1


@pytest.mark.parametrize("language", LANGUAGES)
def test_faces_beyond_the_limit_are_counted_in_one_line(language: str) -> None:
    faces = tuple(_rated("female", 5.0 + n / 10, "average") for n in range(10))
    reply = compose(Analysis(Outcome.RATED, faces, unrated_faces=3), language, CATALOG)
    numbers = [line.split(".")[0] for line in reply.text.splitlines() if line[:1].isdigit()]
    assert numbers == [str(n) for n in range(1, 11)]
    assert CATALOG.text(language, "verdict.more_faces", count=3) in reply.text
    one_more = compose(Analysis(Outcome.RATED, faces[:1], unrated_faces=1), language, CATALOG)
    assert "1. " in one_more.text
    assert CATALOG.text(language, "verdict.more_faces_one") in one_more.text


@pytest.mark.parametrize(
    ("platform", "limit"), [(Platform.TELEGRAM, 4096), (Platform.DISCORD, 2000)]
)
def test_a_long_group_list_stays_within_the_platforms_limit(platform: Platform, limit: int) -> None:
    faces = tuple(_rated("female", 6.0, "average") for _ in range(300))
    pixels = np.zeros((64, 64, 3), np.uint8)
    reply = compose(Analysis(Outcome.RATED, faces, pixels=pixels), "vi", CATALOG, platform=platform)
    assert text_length(reply.text) <= limit
    assert reply.text.startswith(tuple(CATALOG.variants("vi", "lines.several")))
    assert CATALOG.text("vi", "verdict.disclaimer") in reply.text
    listed = sum(1 for line in reply.text.splitlines() if line[:1].isdigit())
    more = CATALOG.text("vi", "verdict.more_faces", count=300 - listed)
    assert listed > 50 and more in reply.text
    assert reply.annotated_jpeg is not None


def test_ten_faces_fit_a_telegram_caption_or_go_as_text() -> None:
    """Ten faces is the default limit: the reply fits one Discord message either way."""
    faces = tuple(_rated("female", 6.0, "average") for _ in range(10))
    reply = compose(Analysis(Outcome.RATED, faces, unrated_faces=4), "vi", CATALOG)
    assert text_length(reply.text) <= 2000


def test_the_demo_numbers_even_a_single_face() -> None:
    pixels = np.zeros((100, 100, 3), np.uint8)
    single = Analysis(Outcome.RATED, (_rated("female", 6.0, "average"),), pixels=pixels)
    assert compose(single, "en", CATALOG, platform=Platform.DEMO).annotated_jpeg is not None
    assert compose(single, "en", CATALOG, platform=Platform.TELEGRAM).annotated_jpeg is None


@pytest.mark.parametrize("refusal", list(Refusal))
@pytest.mark.parametrize("platform", [*Platform, None])
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_refusal_has_a_line_on_every_platform(
    refusal: Refusal, platform: Platform | None, language: str
) -> None:
    reply = refuse(refusal, language, CATALOG, LIMITS, platform, per_minute=5)
    assert reply.is_error and reply.outcome is refusal
    assert reply.text and "{" not in reply.text


def test_only_telegram_suggests_sending_as_a_photo() -> None:
    telegram = refuse(Refusal.TOO_LARGE, "en", CATALOG, LIMITS, Platform.TELEGRAM).text
    assert "as a photo, not a file" in telegram
    for platform in (Platform.DISCORD, Platform.DEMO, None):
        text = refuse(Refusal.TOO_LARGE, "en", CATALOG, LIMITS, platform).text
        assert "20 MB" in text and "not a file" not in text


@pytest.mark.parametrize("outcome", [Outcome.UNREADABLE, Outcome.UNSUPPORTED, Outcome.TOO_SMALL])
def test_the_demo_asks_to_choose_not_to_send(outcome: Outcome) -> None:
    text = compose(Analysis(outcome), "en", CATALOG, LIMITS, platform=Platform.DEMO).text
    assert "send" not in text.lower() and "choose" in text.lower()
