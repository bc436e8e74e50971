"""What Xinh says about an analysed photo, in one language: shared by every front end."""

from __future__ import annotations

import random
from dataclasses import dataclass

from inference.annotate import annotate, encode_jpeg
from inference.types import Analysis, Limits, Outcome, RatedFace
from locales import Catalog

# Chat platforms refuse large photos (Telegram: width + height at most 10,000, 10 MB).
ANNOTATED_MAX_SIDE = 2560

_ERROR_KEYS = {
    Outcome.NO_FACE: "errors.no_face",
    Outcome.UNREADABLE: "errors.unreadable",
    Outcome.UNSUPPORTED: "errors.unsupported",
    Outcome.TOO_LARGE: "errors.too_large",
    Outcome.TOO_SMALL: "errors.too_small",
    Outcome.BUSY: "errors.busy",
    Outcome.TIMEOUT: "errors.busy",
}


@dataclass(frozen=True, slots=True)
class Reply:
    """A reply: its text and, for photos of several faces, the numbered photo as JPEG."""

    outcome: Outcome
    text: str
    annotated_jpeg: bytes | None = None

    @property
    def is_error(self) -> bool:
        """True for replies about the file rather than a face (wrong type, size, no face...)."""
        return self.outcome not in (Outcome.RATED, Outcome.MALE)


def _score(face: RatedFace) -> str:
    return f"{face.beauty:.1f}"


def _face_line(catalog: Catalog, language: str, number: int, face: RatedFace) -> str:
    if face.verdict is None:
        return catalog.text(language, "verdict.face_line_male", number=number)
    return catalog.text(
        language,
        "verdict.face_line",
        number=number,
        verdict=catalog.text(language, f"verdict.{face.verdict}"),
        score=_score(face),
    )


def compose(
    analysis: Analysis,
    language: str,
    catalog: Catalog,
    limits: Limits | None = None,
    rng: random.Random | None = None,
) -> Reply:
    """The reply to one photo. Several faces bring a numbered photo and a line per face."""
    outcome = analysis.outcome
    limits = limits or Limits()
    if outcome in _ERROR_KEYS:
        text = catalog.text(
            language,
            _ERROR_KEYS[outcome],
            max_mb=limits.max_bytes // (1024 * 1024),
            min_side=limits.min_side,
        )
        return Reply(outcome, text)
    faces = analysis.faces
    if outcome is Outcome.MALE and len(faces) == 1:
        title = catalog.text(language, "male.title")
        return Reply(outcome, f"{title}\n{catalog.text(language, 'male.lines', rng)}")
    disclaimer = catalog.text(language, "verdict.disclaimer")
    if len(faces) == 1:
        face = faces[0]
        headline = catalog.text(
            language,
            "verdict.score",
            verdict=catalog.text(language, f"verdict.{face.verdict}"),
            score=_score(face),
        )
        line = catalog.text(language, f"lines.{face.verdict}", rng)
        return Reply(outcome, f"{headline}\n{line}\n\n{disclaimer}")
    lines = [catalog.text(language, "lines.several", rng)]
    lines += [_face_line(catalog, language, n, face) for n, face in enumerate(faces, start=1)]
    if outcome is Outcome.MALE:
        lines.append(catalog.text(language, "male.lines", rng))
    annotated = None
    if analysis.pixels is not None:
        pixels = annotate(analysis.pixels, [f.face for f in faces])
        annotated = encode_jpeg(pixels, max_side=ANNOTATED_MAX_SIDE)
    return Reply(outcome, "\n".join(lines) + f"\n\n{disclaimer}", annotated)


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
