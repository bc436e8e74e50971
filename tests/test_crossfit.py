"""Comparing models at thresholds chosen without the faces they answer (training.crossfit):
how the faces are dealt into parts, that cross-fitted answers are decided as their part's
thresholds say, the ship rule, models' answers averaged into one, and models of different input
sizes held to the same faces."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from training.crossfit import AIMS, cross_fitted, figures, fold_of, models_answers, ship_verdict
from training.datasets import Record
from training.validation import SourceAnswers, SourceFaces, all_answers, mean_answers


def _face(source: str, female: bool, age: float, ethnicity: str = "asian") -> Record:
    low, high = (age, age) if source == "utkface" else (age - age % 10, age - age % 10 + 10)
    return Record(Path("x.jpg"), source, "val", female, ethnicity, low, high, 4.0 + age / 20)


def _clean_answers(seed: int = 0) -> SourceAnswers:
    """Faces of every source whose answers the rule separates without doubt: women far above
    any gender cut, men far below, children far younger than any child cut."""
    rng = np.random.default_rng(seed)
    records, female, age = [], [], []
    for source in ("utkface", "mebeauty", "fairface", "scut"):
        for i in range(200):
            woman, years = bool(i % 2), 25.0 + i % 40
            if source == "fairface" and i % 5 == 0:
                years = 5.0
            records.append(_face(source, woman, years))
            female.append(rng.uniform(0.995, 1.0) if woman else rng.uniform(0.0, 0.005))
            age.append(3.0 if years < 10 else years + 20)
    beauty = np.array([r.beauty for r in records]) + rng.normal(0, 0.5, len(records))
    return SourceAnswers(records, np.array(female), beauty, np.array(age))


def test_each_sources_women_and_men_are_dealt_evenly_into_the_parts() -> None:
    records = [_face(s, bool(i % 3), 30.0) for s in ("utkface", "scut") for i in range(103)]
    part = fold_of(records, 5, np.random.default_rng(0))
    for source in ("utkface", "scut"):
        for woman in (True, False):
            rows = [i for i, r in enumerate(records) if r.source == source and r.female == woman]
            counts = np.bincount(part[rows], minlength=5)
            assert counts.max() - counts.min() <= 1
    again = fold_of(records, 5, np.random.default_rng(0))
    np.testing.assert_array_equal(part, again)


def test_cross_fitted_answers_are_decided_as_their_parts_thresholds_say() -> None:
    every = _clean_answers()
    part = fold_of(every.records, 5, np.random.default_rng(1))
    margins = cross_fitted(every, part, beautiful=6.0)
    female = np.array([r.female for r in every.records])
    assert np.all(margins.female[female] >= 0) and np.all(margins.female[~female] < 0)
    crossed = figures(margins, 0.0, 0.0)
    assert crossed["women called men, FairFace adults (20+)"] == 0.0
    assert crossed["men refused, FairFace adults (20+)"] == 1.0
    assert crossed["children 0-9 answered as children (FairFace)"] == 1.0
    assert crossed["adults 20+ answered as children, UTKFace"] == 0.0
    assert (
        crossed["beauty Pearson, women, SCUT"]
        == figures(every, 0.5, 13.0)["beauty Pearson, women, SCUT"]
    )


def _base() -> dict[str, float]:
    """Figures meeting every aim but men refused on MEBeauty and FairFace."""
    figures = {aim.name: aim.bound for aim in AIMS}
    figures["men refused, MEBeauty"] = 0.87
    figures["men refused, FairFace adults (20+)"] = 0.74
    return figures


def test_a_model_ships_only_by_the_rule() -> None:
    better = _base() | {"men refused, FairFace adults (20+)": 0.80, "men refused, MEBeauty": 0.865}
    assert ship_verdict(_base(), better) == []
    lost = better | {"children 0-9 answered as children (FairFace)": 0.89}
    assert ship_verdict(_base(), lost) == [
        "misses children 0-9 answered as children (FairFace) (0.890), which the shipped model meets"
    ]
    dropped = better | {"men refused, MEBeauty": 0.85}
    assert ship_verdict(_base(), dropped) == ["lowers men refused, MEBeauty by 0.020"]
    assert ship_verdict(_base(), _base()) == ["does not raise men refused, FairFace adults (20+)"]


def test_models_answers_average_into_one_with_ages_on_the_log_scale() -> None:
    records = [_face("scut", True, 30.0), _face("scut", False, 30.0)]
    one = SourceAnswers(records, np.array([0.2, 0.4]), np.array([5.0, 6.0]), np.array([3.0, 15.0]))
    two = SourceAnswers(records, np.array([0.6, 0.8]), np.array([7.0, 8.0]), np.array([15.0, 63.0]))
    pair = mean_answers([{"scut": one}, {"scut": two}])["scut"]
    np.testing.assert_allclose(pair.female, [0.4, 0.6])
    np.testing.assert_allclose(pair.beauty, [6.0, 7.0])
    np.testing.assert_allclose(pair.age, [7.0, 31.0])
    joined = all_answers({"a": one, "b": two})
    assert joined.records == records * 2 and joined.female.tolist() == pytest.approx(
        [0.2, 0.4, 0.6, 0.8]
    )


def test_models_of_different_input_sizes_must_answer_the_same_faces(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sizes = {"small": 112, "large": 128}
    monkeypatch.setattr(
        "training.crossfit.aged_spec",
        lambda folder: SimpleNamespace(input_size=sizes[folder.name], margin=0.25),
    )
    faces = {
        112: [_face("scut", True, 30.0)],
        128: [_face("scut", True, 30.0), _face("scut", False, 40.0)],
    }
    monkeypatch.setattr(
        "training.crossfit.validation_faces",
        lambda records, size, margin, crops, review: {
            "scut": SourceFaces(faces[size], np.zeros(0))
        },
    )
    with pytest.raises(SystemExit, match="hold different faces"):
        models_answers(["small", "large"], {}, Path("crops"), "")
