"""From model outputs to what the bot says: gender at the kind threshold, beauty verdict."""

from __future__ import annotations

from inference.types import Attributes, Face, Outcome, RatedFace


def rate_face(
    face: Face, attributes: Attributes, female_threshold: float, beautiful_threshold: float
) -> RatedFace:
    """Label one face. Women get a verdict; the threshold is chosen so women are rarely
    called men (see models/MODEL_CARD.md)."""
    female = attributes.female_probability >= female_threshold
    verdict = None
    if female:
        verdict = "beautiful" if attributes.beauty >= beautiful_threshold else "average"
    return RatedFace(
        face=face,
        female_probability=attributes.female_probability,
        gender="female" if female else "male",
        beauty=attributes.beauty,
        verdict=verdict,
    )


def photo_outcome(faces: list[RatedFace] | tuple[RatedFace, ...]) -> Outcome:
    """`rated` if any woman, `male` if faces but all men, else `no_face`."""
    if not faces:
        return Outcome.NO_FACE
    if any(face.gender == "female" for face in faces):
        return Outcome.RATED
    return Outcome.MALE
