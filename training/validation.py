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


def validation_answers(
    spec: ModelSpec,
    records: dict[str, list[Record]],
    cache_dir: Path,
    label_review: str = "",
) -> dict[str, SourceAnswers]:
    """The model's answers on every validation face of each source (`records` as
    `all_records` gives them; `label_review` the reviewed UTKFace labels' file, "" for none)."""
    model = FaceModel(spec)
    review = load_label_review(Path(label_review)) if label_review else {}
    answers = {}
    for source, recs in records.items():
        crops, found = cached_crops(recs, spec.input_size, spec.margin, cache_dir, source)
        labels = apply_review(recs, review) if source == "utkface" else recs
        rows = [i for i, r in enumerate(labels) if r and r.split == "val" and found[i]]
        seen = [model.predict(crops[i]) for i in rows]
        answers[source] = SourceAnswers(
            records=[labels[i] for i in rows],
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
