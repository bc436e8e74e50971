"""The order in which a photo's faces are numbered and answered: read like text."""

from __future__ import annotations

from xinh.inference.types import Face


def reading_order(faces: list[Face], row_overlap: float = 0.5) -> list[Face]:
    """Faces in rows from top to bottom, left to right within a row.

    A face joins the current row when its vertical centre is within `row_overlap` of a face
    height of the row's mean centre; rows are formed top-down from the sorted centres."""
    rows: list[list[Face]] = []
    for face in sorted(faces, key=_centre_y):
        if rows:
            row = rows[-1]
            centre = sum(_centre_y(f) for f in row) / len(row)
            height = sum(f.box[3] for f in row) / len(row)
            if abs(_centre_y(face) - centre) <= row_overlap * max(height, face.box[3]):
                row.append(face)
                continue
        rows.append([face])
    return [face for row in rows for face in sorted(row, key=lambda f: f.box[0] + f.box[2] / 2)]


def _centre_y(face: Face) -> float:
    return face.box[1] + face.box[3] / 2
