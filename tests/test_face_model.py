"""The shipped face model under LiteRT: the mirror pass its metadata asks for."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from xinh.inference.align import align
from xinh.inference.decode import decode
from xinh.inference.detector import FaceDetector
from xinh.inference.face_model import FaceModel, ModelSpec
from xinh.inference.model_files import models_dir


def _crop(detector: FaceDetector, photo: bytes, spec: ModelSpec) -> np.ndarray:
    """The astronaut's face as the engine crops it."""
    pixels = decode(photo).pixels
    return align(pixels, detector.detect(pixels)[0], spec.input_size, spec.margin)


def test_the_mirror_pass_averages_a_face_with_its_mirror_image(
    detector: FaceDetector, astronaut_jpeg: bytes
) -> None:
    spec = ModelSpec.load(models_dir())
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
