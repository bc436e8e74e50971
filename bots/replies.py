"""What Xinh says about a photo, in one language, on one platform: shared by every front end.

`compose` answers an engine `Analysis`; `refuse` answers a photo turned away before the engine
(a `Refusal`). Refusals and file errors read `errors.<name>` from locales/, or the platform's
own wording `errors.<platform>.<name>` where it has one (the demo page says "choose a photo",
only Telegram can shrink a photo sent "as a photo, not a file").
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import StrEnum

from xinh.inference.annotate import annotate, encode_jpeg
from xinh.inference.types import Analysis, Limits, Outcome, RatedFace
from xinh.locales import Catalog


class Platform(StrEnum):
    """Where a reply goes: its wording, its length limit and which photos come back numbered."""

    TELEGRAM = "telegram"
    DISCORD = "discord"
    DEMO = "demo"


class Refusal(StrEnum):
    """Why a photo got no verdict without the engine deciding; each has `errors.<value>`."""

    RATE_LIMITED = "rate_limited"
    NOT_IMAGE = "not_image"
    TOO_LARGE = "too_large"
    BUSY = "busy"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class _Style:
    """A platform's constraints: longest text (UTF-16 units), numbered photo, its size."""

    max_text: int | None = None
    number_single_face: bool = False
    photo_max_side: int = 2560  # Telegram refuses photos over 10,000 px (width + height)


_STYLES = {
    Platform.TELEGRAM: _Style(max_text=4096),  # a message; a caption is 1024 (see telegram_photos)
    Platform.DISCORD: _Style(max_text=2000),
    Platform.DEMO: _Style(number_single_face=True, photo_max_side=1280),
}
_ERROR_NAMES = {
    Outcome.NO_FACE: "no_face",
    Outcome.UNREADABLE: "unreadable",
    Outcome.UNSUPPORTED: "unsupported",
    Outcome.TOO_LARGE: "too_large",
    Outcome.TOO_SMALL: "too_small",
    Outcome.BUSY: "busy",
    Outcome.TIMEOUT: "busy",
}
_VERDICTS = (Outcome.RATED, Outcome.MALE, Outcome.CHILD, Outcome.FACE_TOO_SMALL)


@dataclass(frozen=True, slots=True)
class Reply:
    """A reply: its text and, for photos of several faces, the numbered photo as JPEG."""

    outcome: Outcome | Refusal
    text: str
    annotated_jpeg: bytes | None = None

    @property
    def is_error(self) -> bool:
        """True for replies about the file rather than a face (wrong type, size, no face...)."""
        return self.outcome not in _VERDICTS


def text_length(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units); never less than Discord's count."""
    return len(text.encode("utf-16-le")) // 2


def refuse(
    refusal: Refusal,
    language: str,
    catalog: Catalog,
    limits: Limits,
    platform: Platform | None = None,
    per_minute: int = 0,
) -> Reply:
    """The kind line for a photo turned away before the engine saw it."""
    text = _error_text(catalog, language, refusal.value, platform, limits, limit=per_minute)
    return Reply(refusal, text)


def compose(
    analysis: Analysis,
    language: str,
    catalog: Catalog,
    limits: Limits | None = None,
    rng: random.Random | None = None,
    platform: Platform | None = None,
) -> Reply:
    """The reply to one analysed photo. Several faces bring a numbered photo and a line per face
    in the engine's order; faces beyond the engine's limit are counted in one line."""
    outcome = analysis.outcome
    if outcome in _ERROR_NAMES:
        text = _error_text(catalog, language, _ERROR_NAMES[outcome], platform, limits or Limits())
        return Reply(outcome, text)
    style = _STYLES.get(platform, _Style())
    faces = analysis.faces
    if len(faces) == 1 and not analysis.unrated_faces:
        return Reply(outcome, _one_face(catalog, language, faces[0], rng), _photo(analysis, style))
    lines = [_face_line(catalog, language, n, face) for n, face in enumerate(faces, start=1)]
    before = [catalog.text(language, "lines.several", rng)]
    after = []
    if outcome is Outcome.MALE:
        after.append(catalog.text(language, "male.lines", rng))
    if outcome is Outcome.CHILD:
        after.append(catalog.text(language, "child.lines", rng))
    if outcome is Outcome.FACE_TOO_SMALL:
        after.append(catalog.text(language, "small.lines", rng))
    after.append(f"\n{catalog.text(language, 'verdict.disclaimer')}")
    hidden = 0
    while True:
        text = "\n".join(before + lines + _more_faces(catalog, language, analysis, hidden) + after)
        if style.max_text is None or text_length(text) <= style.max_text or not lines:
            break
        lines.pop()
        hidden += 1
    return Reply(outcome, text, _photo(analysis, style, several=True))


def _one_face(catalog: Catalog, language: str, face: RatedFace, rng: random.Random | None) -> str:
    if face.too_small:
        return (
            f"{catalog.text(language, 'small.title')}\n{catalog.text(language, 'small.lines', rng)}"
        )
    if face.child:
        return (
            f"{catalog.text(language, 'child.title')}\n{catalog.text(language, 'child.lines', rng)}"
        )
    if face.verdict is None:
        return (
            f"{catalog.text(language, 'male.title')}\n{catalog.text(language, 'male.lines', rng)}"
        )
    headline = catalog.text(
        language,
        "verdict.score",
        verdict=catalog.text(language, f"verdict.{face.verdict}"),
        score=_score(face),
    )
    line = catalog.text(language, f"lines.{face.verdict}", rng)
    return f"{headline}\n{line}\n\n{catalog.text(language, 'verdict.disclaimer')}"


def _face_line(catalog: Catalog, language: str, number: int, face: RatedFace) -> str:
    if face.too_small:
        return catalog.text(language, "verdict.face_line_small", number=number)
    if face.child:
        return catalog.text(language, "verdict.face_line_child", number=number)
    if face.verdict is None:
        return catalog.text(language, "verdict.face_line_male", number=number)
    return catalog.text(
        language,
        "verdict.face_line",
        number=number,
        verdict=catalog.text(language, f"verdict.{face.verdict}"),
        score=_score(face),
    )


def _more_faces(catalog: Catalog, language: str, analysis: Analysis, hidden: int) -> list[str]:
    """The line counting faces not listed: beyond the engine's limit, or cut to fit the text."""
    count = analysis.unrated_faces + hidden
    if count == 0:
        return []
    if count == 1:
        return [catalog.text(language, "verdict.more_faces_one")]
    return [catalog.text(language, "verdict.more_faces", count=count)]


def _score(face: RatedFace) -> str:
    return f"{face.beauty:.1f}"


def _photo(analysis: Analysis, style: _Style, several: bool = False) -> bytes | None:
    """The photo with its faces boxed and numbered, where the platform shows one."""
    if analysis.pixels is None or not analysis.faces:
        return None
    if not (several or style.number_single_face):
        return None
    pixels = annotate(analysis.pixels, [rated.face for rated in analysis.faces])
    return encode_jpeg(pixels, max_side=style.photo_max_side)


def _error_text(
    catalog: Catalog,
    language: str,
    name: str,
    platform: Platform | None,
    limits: Limits,
    **values: object,
) -> str:
    key = f"errors.{platform}.{name}" if platform is not None else ""
    if not catalog.has(language, key):
        key = f"errors.{name}"
    return catalog.text(
        language,
        key,
        max_mb=limits.max_bytes // (1024 * 1024),
        min_side=limits.min_side,
        **values,
    )


def greeting(catalog: Catalog, language: str) -> str:
    """The /start text: the original page's title and intro."""
    page = {
        key: catalog.text(language, f"page.{key}")
        for key in (
            "title",
            "intro_question",
            "intro_answer",
            "intro_ladies_only",
            "intro_first_run",
        )
    }
    return catalog.text(language, "bot.start", **page)
