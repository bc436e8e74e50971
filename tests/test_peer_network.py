"""The peer gender network rebuilt from face-api's weights (training.peer_network): the Keras
rebuild and the shipped LiteRT file answer as face-api's own graph (run by node on
TensorFlow.js) on real face crops."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from xinh.inference.align import align
from xinh.inference.decode import decode
from xinh.inference.detector import FaceDetector
from xinh.inference.face_model import ModelSpec
from xinh.inference.model_files import models_dir

pytest.importorskip("tensorflow")
if shutil.which("node") is None or shutil.which("npm") is None:
    pytest.skip("face-api's reference graph runs on node", allow_module_level=True)

from training.package_files import default_cache_dir
from training.peer_network import build_peer, lite_female, peer_weights, reference_female


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


@pytest.fixture(scope="module")
def reference(crops) -> np.ndarray:
    return reference_female(crops, default_cache_dir())


def test_the_keras_rebuild_answers_as_face_api(crops, reference) -> None:
    spec = ModelSpec.load(models_dir())
    weights = peer_weights(default_cache_dir())
    model = build_peer(weights, np.array(spec.mean), np.array(spec.std))
    tensor = ((crops / 255 - np.array(spec.mean)) / np.array(spec.std)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(model(tensor)["female"]), reference, atol=1e-5)


def test_the_shipped_peer_file_answers_as_face_api(crops, reference) -> None:
    """Within 2e-3: the file keeps the weights in half precision."""
    spec = ModelSpec.load(models_dir())
    assert spec.peer_path is not None
    shipped = lite_female(spec.peer_path, crops, np.array(spec.mean), np.array(spec.std))
    np.testing.assert_allclose(shipped, reference, atol=2e-3)
