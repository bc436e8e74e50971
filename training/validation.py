"""A model's answers on the cached validation crops of the four sources: what `retune` chooses
thresholds on and `crossfit` compares models with.

Each model runs through the bots' own `FaceModel` (mirror pass as its metadata says); UTKFace's
labels are the reviewed ones, and faces the review leaves out are dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from training.datasets import Record, apply_review, cached_crops, load_label_review
from xinh.inference.face_model import FaceModel, ModelSpec


@dataclass(frozen=True)
class SourceAnswers:
    """One source's validation faces (where one was found) and a model's answers on them."""

    records: list[Record]
    female: np.ndarray  # probability of a woman's face
    beauty: np.ndarray  # score on the one 1-10 scale
    age: np.ndarray  # estimated age in years (NaN for a model without an age head)

    def outputs(self) -> dict[str, np.ndarray]:
        """The answers as `training.metrics.evaluate_predictions` takes them."""
        return {"female": self.female, "beauty": self.beauty, "age": self.age}


@dataclass(frozen=True)
class SourceFaces:
    """One source's validation faces where one was found, and their aligned crops."""

    records: list[Record]
    crops: np.ndarray  # (N, size, size, 3) uint8


def validation_faces(
    records: dict[str, list[Record]],
    size: int,
    margin: float,
    cache_dir: Path,
    label_review: str = "",
) -> dict[str, SourceFaces]:
    """Every source's validation faces and crops (`records` as `all_records` gives them;
    `label_review` the reviewed UTKFace labels' file, "" for none), read once for any number of
    models."""
    review = load_label_review(Path(label_review)) if label_review else {}
    faces = {}
    for source, recs in records.items():
        crops, found = cached_crops(recs, size, margin, cache_dir, source)
        labels = apply_review(recs, review) if source == "utkface" else recs
        rows = [i for i, r in enumerate(labels) if r and r.split == "val" and found[i]]
        faces[source] = SourceFaces([labels[i] for i in rows], crops[rows])
    return faces


def validation_answers(spec: ModelSpec, faces: dict[str, SourceFaces]) -> dict[str, SourceAnswers]:
    """The model's answers on every validation face of each source."""
    model = FaceModel(spec)
    answers = {}
    for source, part in faces.items():
        seen = [model.predict(crop) for crop in part.crops]
        answers[source] = SourceAnswers(
            records=part.records,
            female=np.array([a.female_probability for a in seen]),
            beauty=np.array([a.beauty for a in seen]),
            age=np.array([np.nan if a.age is None else a.age for a in seen]),
        )
    return answers


def mean_answers(members: Sequence[dict[str, SourceAnswers]]) -> dict[str, SourceAnswers]:
    """Several models' answers on the same faces averaged, as one model made of them would
    answer: probability and score as they are, age in log(1 + years), the scale it is learnt in."""
    return {
        source: SourceAnswers(
            records=first.records,
            female=np.mean([m[source].female for m in members], axis=0),
            beauty=np.mean([m[source].beauty for m in members], axis=0),
            age=np.expm1(np.mean([np.log1p(m[source].age) for m in members], axis=0)),
        )
        for source, first in members[0].items()
    }


def all_answers(answers: dict[str, SourceAnswers]) -> SourceAnswers:
    """Every source's answers in one, in the sources' order."""
    parts = list(answers.values())
    return SourceAnswers(
        records=[r for part in parts for r in part.records],
        female=np.concatenate([part.female for part in parts]),
        beauty=np.concatenate([part.beauty for part in parts]),
        age=np.concatenate([part.age for part in parts]),
    )
