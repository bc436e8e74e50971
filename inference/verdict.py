"""From model outputs to what the bot says: big enough to judge, child or grown-up, gender at
the kind threshold, beauty verdict."""

from __future__ import annotations

from xinh.inference.types import Attributes, Face, Outcome, RatedFace


def rate_face(
    face: Face,
    attributes: Attributes,
    female_threshold: float,
    beautiful_threshold: float,
    child_age: float | None = None,
    min_face_height: float = 0.0,
) -> RatedFace:
    """Label one face. A face less than `min_face_height` pixels tall is too small to judge, and
    one that looks younger than `child_age` is a child's: neither gets a gender or a verdict;
    women get a verdict. The thresholds are chosen so women are rarely called men and children
    rarely rated (see models/MODEL_CARD.md).

    The beauty verdict compares the score as shown (one decimal), so equal scores read equal."""
    too_small = face.box[3] < min_face_height
    child = (
        not too_small
        and child_age is not None
        and attributes.age is not None
        and attributes.age < child_age
    )
    if too_small or child:
        return RatedFace(
            face=face,
            female_probability=attributes.female_probability,
            gender=None,
            beauty=attributes.beauty,
            verdict=None,
            age=attributes.age,
            child=child,
            too_small=too_small,
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
    """`rated` if any woman, `male` if any man but no woman, `child` if every face is a
    child's, `face_too_small` for the rest (no one judged, some face too small), else
    `no_face`."""
    if not faces:
        return Outcome.NO_FACE
    if any(face.gender == "female" for face in faces):
        return Outcome.RATED
    if any(face.gender == "male" for face in faces):
        return Outcome.MALE
    if all(face.child for face in faces):
        return Outcome.CHILD
    return Outcome.FACE_TOO_SMALL
