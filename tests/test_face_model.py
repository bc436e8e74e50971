"""The shipped face model under LiteRT: the mirror pass its metadata asks for, and the peer gender
network joined with the main one by the mean of their logits."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from xinh.inference.align import align
from xinh.inference.decode import decode
from xinh.inference.detector import FaceDetector
from xinh.inference.face_model import (
    METADATA_FILE,
    FaceModel,
    MirrorWhen,
    ModelSpec,
    joined_probability,
    reads_mirror,
)
from xinh.inference.model_files import models_dir


def _crop(detector: FaceDetector, photo: bytes, spec: ModelSpec) -> np.ndarray:
    """The astronaut's face as the engine crops it."""
    pixels = decode(photo).pixels
    return align(pixels, detector.detect(pixels)[0], spec.input_size, spec.margin)


def test_the_mirror_pass_averages_a_face_with_its_mirror_image(
    detector: FaceDetector, astronaut_jpeg: bytes
) -> None:
    spec = replace(ModelSpec.load(models_dir()), peer_path=None, mirror_when=None)
    assert spec.mirror_average
    crop = _crop(detector, astronaut_jpeg, spec)
    mirrored = np.ascontiguousarray(crop[:, ::-1])
    one_pass = FaceModel(replace(spec, mirror_average=False))
    both = FaceModel(spec)
    expected = np.mean(
        [[a.female_probability, a.beauty] for a in map(one_pass.predict, (crop, mirrored))], axis=0
    )
    for image in (crop, mirrored):
        answer = both.predict(image)
        assert np.allclose([answer.female_probability, answer.beauty], expected, atol=1e-5)


def _peer_female(spec: ModelSpec, image: np.ndarray) -> float:
    """The peer graph alone on one crop, fed as FaceModel feeds it."""
    from ai_edge_litert.interpreter import Interpreter

    runner = Interpreter(model_path=str(spec.peer_path)).get_signature_runner()
    (name,) = runner.get_input_details()
    tensor = (image / 255 - np.array(spec.mean)) / np.array(spec.std)
    return float(runner(**{name: tensor[None].astype(np.float32)})["female"][0])


def _joined(p: float, q: float) -> float:
    logit = lambda x: np.log(x / (1 - x))  # noqa: E731
    return float(1 / (1 + np.exp(-(logit(p) + logit(q)) / 2)))


@pytest.mark.parametrize("between", [(0.0, 1.0), None, "around the face", "not around it"])
def test_the_peer_joins_by_the_mean_of_logits_and_mirrors_only_inside_its_range(
    detector: FaceDetector, astronaut_jpeg: bytes, between
) -> None:
    spec = replace(ModelSpec.load(models_dir()), mirror_when=None)
    assert spec.peer_path is not None and spec.peer_path.is_file()
    crop = _crop(detector, astronaut_jpeg, spec)
    main = FaceModel(replace(spec, peer_path=None)).predict(crop)
    alone = _peer_female(spec, crop)
    both = (alone + _peer_female(spec, np.ascontiguousarray(crop[:, ::-1]))) / 2
    first = _joined(main.female_probability, alone)
    if between == "around the face":
        between = (first - 0.01, first + 0.01)
    elif between == "not around it":
        between = (first + 0.01, 1.0)
    mirrors = between is not None and between[0] <= first <= between[1]
    expected = _joined(main.female_probability, both if mirrors else alone)
    joined = FaceModel(replace(spec, peer_mirror_between=between)).predict(crop)
    assert joined.female_probability == pytest.approx(expected, abs=1e-5)
    assert (joined.beauty, joined.age) == (main.beauty, main.age)


@pytest.mark.parametrize("uncertain", ["gender", "age", "neither"])
def test_the_main_network_reads_the_mirror_image_only_where_mirror_when_says(
    detector: FaceDetector, astronaut_jpeg: bytes, uncertain: str
) -> None:
    spec = replace(ModelSpec.load(models_dir()), peer_mirror_between=None, mirror_when=None)
    crop = _crop(detector, astronaut_jpeg, spec)
    one_pass = FaceModel(replace(spec, mirror_average=False)).predict(crop)
    joined, age = one_pass.female_probability, one_pass.age
    nowhere = (2.0, 3.0)
    when = MirrorWhen(
        female_between=(joined - 0.01, joined + 0.01) if uncertain == "gender" else nowhere,
        age_between=(age - 1, age + 1) if uncertain == "age" else nowhere,
    )
    answer = FaceModel(replace(spec, mirror_when=when)).predict(crop)
    always = FaceModel(spec).predict(crop)
    expected = one_pass if uncertain == "neither" else always
    assert answer.female_probability == pytest.approx(expected.female_probability, abs=1e-6)
    assert (answer.beauty, answer.age) == pytest.approx((expected.beauty, expected.age), abs=1e-5)
    assert uncertain == "neither" or always.beauty != pytest.approx(one_pass.beauty, abs=1e-6)


def test_mirror_when_asks_for_uncertain_gender_or_age_and_reads_the_metadata(
    tmp_path: Path,
) -> None:
    when = MirrorWhen(female_between=(0.05, 0.8), age_between=(11.0, 22.0))
    joined = np.array([0.01, 0.5, 0.9, 0.9, 0.01])
    age = np.array([30.0, 30.0, 30.0, 15.0, 22.5])
    assert when.wanted(joined, age).tolist() == [False, True, False, True, False]
    assert when.wanted(joined, None).tolist() == [False, True, False, False, False]
    for name in (METADATA_FILE, "xinh_face.tflite", "peer_gender.tflite"):
        shutil.copy(models_dir() / name, tmp_path / name)
    meta = json.loads((tmp_path / METADATA_FILE).read_text())
    meta["input"]["mirror_when"] = {"female_between": [0.05, 0.8], "age_between": [11, 22]}
    (tmp_path / METADATA_FILE).write_text(json.dumps(meta))
    assert ModelSpec.load(tmp_path).mirror_when == when


def test_reads_mirror_inside_the_range_only() -> None:
    joined = np.array([0.01, 0.05, 0.3, 0.8, 0.95])
    assert reads_mirror(joined, (0.05, 0.8)).tolist() == [False, True, True, True, False]
    assert not reads_mirror(joined, None).any()
    assert reads_mirror(joined, (0.0, 1.0)).all()


def test_joined_probability_is_symmetric_and_bounded() -> None:
    assert joined_probability([0.2, 0.8]) == pytest.approx(0.5)
    assert joined_probability([0.9, 0.9]) == pytest.approx(0.9)
    assert 0 < joined_probability([0.0, 0.0]) < joined_probability([1.0, 0.0]) < 1


def test_clipped_join_bounds_what_one_confident_network_can_say() -> None:
    sure_no, doubtful_yes = 1e-6, 0.7
    unclipped = joined_probability([sure_no, doubtful_yes])
    clipped = joined_probability([sure_no, doubtful_yes], clip=3.0)
    assert unclipped < 0.01 < clipped < 0.5
    assert joined_probability([0.2, 0.8], clip=3.0) == pytest.approx(0.5)
    assert joined_probability([0.9, 0.6], clip=3.0) == pytest.approx(joined_probability([0.9, 0.6]))
    assert joined_probability([1.0, 1.0], clip=3.0) == pytest.approx(1 / (1 + np.exp(-3.0)))


def test_the_shipped_metadata_says_how_the_join_is_clipped() -> None:
    spec = ModelSpec.load(models_dir())
    meta = json.loads((models_dir() / METADATA_FILE).read_text())
    assert spec.logit_clip == meta["peer"].get("logit_clip")


def test_the_clip_changes_the_answer_only_not_which_faces_get_a_second_look(
    detector: FaceDetector, astronaut_jpeg: bytes
) -> None:
    spec = ModelSpec.load(models_dir())
    face = _crop(detector, astronaut_jpeg, spec)
    noise = np.random.default_rng(0).integers(0, 256, face.shape, dtype=np.uint8)
    plain = FaceModel(replace(spec, logit_clip=None))
    clipped = FaceModel(replace(spec, logit_clip=0.5))
    for crop in (face, noise):
        a, b = plain.predict(crop), clipped.predict(crop)
        assert (a.age, a.beauty) == (b.age, b.beauty)
        assert 1 / (1 + np.exp(0.5)) <= b.female_probability <= 1 / (1 + np.exp(-0.5))
    assert plain.predict(face).female_probability > clipped.predict(face).female_probability
