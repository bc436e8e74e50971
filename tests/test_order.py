"""The order in which a photo's faces are numbered: rows, then left to right."""

from __future__ import annotations

from xinh.inference.order import reading_order
from xinh.inference.types import Face


def _face(x: float, y: float, side: float = 100) -> Face:
    return Face(box=(x, y, side, side), score=0.9, keypoints=())


def test_rows_top_to_bottom_left_to_right_within_a_row() -> None:
    faces = [_face(500, 40), _face(20, 0), _face(260, 420), _face(300, 30), _face(10, 400)]
    assert [f.box[:2] for f in reading_order(faces)] == [
        (20, 0),
        (300, 30),
        (500, 40),
        (10, 400),
        (260, 420),
    ]
