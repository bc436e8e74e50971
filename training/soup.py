"""Average the weights of several trained runs of the one network into one model (a "model
soup"): the runs' answers pooled at one network's cost, where two networks would cost two.

Every run starts from the same ImageNet weights and the same seed, so their weights stay close
enough to average. The LiteRT files are averaged as exported: every float constant (each
convolution's weights and bias, batch normalisation folded in) is the mean of the runs'; the
graphs must be the same. The metadata is the first run's, its thresholds to be re-chosen:

    python -m training.soup --models=models,/tmp/run2 --out_dir=/tmp/soup
    python -m training.retune --models_dir=/tmp/soup --version=2.1.0
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from training.configurator import settings_of
from xinh.inference.face_model import METADATA_FILE, ModelSpec

# --- settings (override any as --name=value) ---------------------------------------------
models = "models"  # comma-separated models dirs, each a metadata file beside its model
out_dir = "/tmp/soup"
# -------------------------------------------------------------------------------------------

FLOAT32 = 0  # the LiteRT schema's TensorType


def soup_bytes(paths: list[Path]) -> bytes:
    """One LiteRT model whose float constants are the mean of the same graph's in `paths`."""
    from tensorflow.lite.tools import flatbuffer_utils

    runs = [flatbuffer_utils.read_model(str(path)) for path in paths]
    first = runs[0]
    for path, run in zip(paths[1:], runs[1:], strict=True):
        if not _same_graph(first, run):
            raise SystemExit(f"{path} is not the same network as {paths[0]}: pick runs of one")
    for tensor in first.subgraphs[0].tensors:
        buffer = first.buffers[tensor.buffer]
        if tensor.type != FLOAT32 or buffer.data is None or not len(buffer.data):
            continue
        weights = [
            np.frombuffer(bytes(run.buffers[tensor.buffer].data), np.float32) for run in runs
        ]
        buffer.data = np.mean(weights, axis=0, dtype=np.float64).astype(np.float32).view(np.uint8)
    return bytes(flatbuffer_utils.convert_object_to_bytearray(first))


def _same_graph(one, other) -> bool:
    """Same tensors (names, shapes, types) and the same operators in the same order."""
    a, b = one.subgraphs[0], other.subgraphs[0]
    return [(t.name, list(t.shape), t.type) for t in a.tensors] == [
        (t.name, list(t.shape), t.type) for t in b.tensors
    ] and [(o.opcodeIndex, list(o.inputs), list(o.outputs)) for o in a.operators] == [
        (o.opcodeIndex, list(o.inputs), list(o.outputs)) for o in b.operators
    ]


def main() -> None:
    settings = settings_of(globals(), sys.argv[1:])
    folders = [Path(d) for d in settings["models"].split(",") if d]
    specs = [ModelSpec.load(folder) for folder in folders]
    out = Path(settings["out_dir"])
    out.mkdir(parents=True, exist_ok=True)
    (out / specs[0].path.name).write_bytes(soup_bytes([spec.path for spec in specs]))
    metadata = json.loads((folders[0] / METADATA_FILE).read_text())
    metadata["training"] = {
        "command": "python -m training.soup " + " ".join(sys.argv[1:]),
        "soup_of": [
            json.loads((folder / METADATA_FILE).read_text())["training"] | {"folder": str(folder)}
            for folder in folders
        ],
        "data": metadata["training"]["data"],
    }
    metadata.pop("validation", None)
    (out / METADATA_FILE).write_text(json.dumps(metadata, indent=2, default=float) + "\n")
    print(f"{out / specs[0].path.name}: the mean of {len(folders)} runs; now retune it")


if __name__ == "__main__":
    main()
