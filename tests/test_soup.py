"""Averaging trained runs' weights into one model (training.soup): the mean of each float
constant, the same answers for a soup of one run, and no soup of different networks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from training.soup import soup_bytes
from xinh.inference.model_files import detector_files, models_dir

pytest.importorskip("tensorflow")


def _answers(model: Path | bytes) -> dict[str, np.ndarray]:
    from ai_edge_litert.interpreter import Interpreter

    source = {"model_path": str(model)} if isinstance(model, Path) else {"model_content": model}
    interpreter = Interpreter(**source)
    interpreter.allocate_tensors()
    image = np.random.default_rng(0).normal(size=(1, 112, 112, 3)).astype(np.float32)
    runner = interpreter.get_signature_runner()
    return {k: v.copy() for k, v in runner(image=image).items()}


def _float_constants(model: bytes) -> list[np.ndarray]:
    from tensorflow.lite.tools import flatbuffer_utils

    graph = flatbuffer_utils.convert_bytearray_to_object(bytearray(model))
    return [
        np.frombuffer(bytes(graph.buffers[t.buffer].data), np.float32)
        for t in graph.subgraphs[0].tensors
        if t.type == 0 and graph.buffers[t.buffer].data is not None
    ]


def _scaled(path: Path, factor: float, out: Path) -> Path:
    """The model at `path` with every float constant multiplied by `factor`."""
    from tensorflow.lite.tools import flatbuffer_utils

    graph = flatbuffer_utils.read_model(str(path))
    for tensor in graph.subgraphs[0].tensors:
        buffer = graph.buffers[tensor.buffer]
        if tensor.type == 0 and buffer.data is not None:
            weights = np.frombuffer(bytes(buffer.data), np.float32) * np.float32(factor)
            buffer.data = weights.view(np.uint8)
    flatbuffer_utils.write_model(graph, str(out))
    return out


def test_a_soup_of_one_run_answers_as_that_run() -> None:
    shipped = models_dir() / "xinh_face.tflite"
    alone, soup = _answers(shipped), _answers(soup_bytes([shipped, shipped]))
    for name in ("female", "beauty", "log_age"):
        np.testing.assert_array_equal(soup[name], alone[name])


def test_a_soups_weights_are_the_mean_of_its_runs(tmp_path: Path) -> None:
    shipped = models_dir() / "xinh_face.tflite"
    tripled = _scaled(shipped, 3.0, tmp_path / "tripled.tflite")
    soup = _float_constants(soup_bytes([shipped, tripled]))
    original = _float_constants(shipped.read_bytes())
    assert len(soup) == len(original) > 100
    for mean, one in zip(soup, original, strict=True):
        np.testing.assert_allclose(mean, 2 * one, rtol=1e-6)


def test_runs_of_different_networks_make_no_soup() -> None:
    full_range, _ = detector_files()
    with pytest.raises(SystemExit, match="not the same network"):
        soup_bytes([models_dir() / "xinh_face.tflite", full_range])
