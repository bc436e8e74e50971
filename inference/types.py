"""Typed results that cross module boundaries: outcomes, faces, photo analyses."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np


class Outcome(StrEnum):
    """What became of one photo; every path through the engine ends in exactly one."""

    OK = "ok"
    RATED = "rated"
    MALE = "male"
    CHILD = "child"
    FACE_TOO_SMALL = "face_too_small"
    NO_FACE = "no_face"
    UNREADABLE = "unreadable"
    UNSUPPORTED = "unsupported"
    TOO_LARGE = "too_large"
    TOO_SMALL = "too_small"
    BUSY = "busy"
    TIMEOUT = "timeout"


@dataclass(frozen=True, slots=True)
class Limits:
    """What the decoder refuses before spending memory on it; all configurable."""

    max_bytes: int = 20 * 1024 * 1024
    max_pixels: int = 40_000_000  # JPEG, which decodes reduced (1/2, 1/4, 1/8)
    min_side: int = 32
    max_full_pixels: int = 12_500_000  # formats decoded whole: PNG, GIF, TIFF, WebP, HEIF...
    max_aspect: float = 10.0  # long side over short side
    work_pixels: int = 8_000_000  # larger photos are reduced while or right after decoding


@dataclass(frozen=True, slots=True)
class Decoded:
    """A decoded photo (`pixels`: HxWx3 uint8 RGB, upright) or the reason it was refused."""

    outcome: Outcome
    pixels: np.ndarray | None = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.OK


@dataclass(frozen=True, slots=True)
class Face:
    """One detected face in original-image pixels.

    `box` is (x, y, width, height); `keypoints` are six (x, y) points in BlazeFace order:
    the eye on the image's left, the eye on the image's right, nose tip, mouth centre,
    the ear on the image's left, the ear on the image's right.
    """

    box: tuple[float, float, float, float]
    score: float
    keypoints: tuple[tuple[float, float], ...]

    @property
    def area(self) -> float:
        return self.box[2] * self.box[3]


@dataclass(frozen=True, slots=True)
class Attributes:
    """What the face models say about one aligned face."""

    female_probability: float
    beauty: float
    age: float | None = None  # estimated years; None for a model without an age output


@dataclass(frozen=True, slots=True)
class RatedFace:
    """A face with its attributes and the verdict derived from the operating thresholds.

    A child's face (`child`) gets no gender and no verdict: Xinh rates grown-ups only. Nor does
    a face too small in the photo to judge (`too_small`): at a few dozen pixels the models
    take children for adults and women for men."""

    face: Face
    female_probability: float
    gender: str | None
    beauty: float
    verdict: str | None
    age: float | None = None
    child: bool = False
    too_small: bool = False


@dataclass(frozen=True, slots=True)
class Analysis:
    """Everything the engine says about one photo; `pixels` is kept only for annotation."""

    outcome: Outcome
    faces: tuple[RatedFace, ...] = ()
    unrated_faces: int = 0  # faces found beyond the most rated in one photo (max_faces)
    pixels: np.ndarray | None = field(default=None, repr=False, compare=False)
