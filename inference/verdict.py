"""From model outputs to what the bot says: child or grown-up, gender at the kind threshold,
beauty verdict."""

from __future__ import annotations

from xinh.inference.types import Attributes, Face, Outcome, RatedFace


def rate_face(
    face: Face,
    attributes: Attributes,
    female_threshold: float,
    beautiful_threshold: float,
    child_age: float | None = None,
) -> RatedFace:
    """Label one face. A face that looks younger than `child_age` is a child's and gets no
    gender and no verdict; women get a verdict. The thresholds are chosen so women are rarely
    called men and children rarely rated (see models/MODEL_CARD.md).

    The beauty verdict compares the score as shown (one decimal), so equal scores read equal."""
    if child_age is not None and attributes.age is not None and attributes.age < child_age:
        return RatedFace(
            face=face,
            female_probability=attributes.female_probability,
            gender=None,
            beauty=attributes.beauty,
            verdict=None,
            age=attributes.age,
            child=True,
        )
    female = attributes.female_probability >= female_threshold
    verdict = None
    if female:
        shown = round(attributes.beauty, 1)
        verdict = "beautiful" if shown >= round(beautiful_threshold, 1) else "average"
    return RatedFace(
        face=face,
        female_probability=attributes.female_probability,
        gender="female" if female else "male",
        beauty=attributes.beauty,
        verdict=verdict,
        age=attributes.age,
    )


def photo_outcome(faces: list[RatedFace] | tuple[RatedFace, ...]) -> Outcome:
    """`rated` if any woman, `male` if grown-ups but all men, `child` if every face is a
    child's, else `no_face`."""
    if not faces:
        return Outcome.NO_FACE
    if any(face.gender == "female" for face in faces):
        return Outcome.RATED
    if all(face.child for face in faces):
        return Outcome.CHILD
    return Outcome.MALE
