"""The peer gender network inside Xinh: face-api's age and gender network, reading Xinh's crops.

The peer (`age_gender_model` of face-api, Vincent Mühler's MIT-licensed network, as shipped in
npm `@vladmandic/face-api`) ranks everyday women above men with different errors from Xinh's
own network, and the mean of the two networks' logits ranks better than either
(models/MODEL_CARD.md, "The peer network"). Its graph takes the very tensor `FaceModel` gives
Xinh's network (a 112-pixel aligned crop, normalised with ImageNet's mean and std), cuts the
64-pixel square the peer reads best (chosen on training faces), enlarges it to the peer's 112
pixels and normalises it as face-api does. The weights (stored as 8-bit steps) are read from the
package's TensorFlow.js manifest and folded into Keras layers; the LiteRT export keeps them in
half precision (874 kB, so that both networks fit in 10 MB) and is checked against face-api's
own graph, run by node on TensorFlow.js (`peer_reference.cjs`): they agree within 1e-3.

    python -m training.peer_network --models_dir=models   # writes peer_gender.tflite, links it
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from training.configurator import settings_of
from training.package_files import PackageFile, default_cache_dir, fetch_package_file
from xinh.inference.face_model import METADATA_FILE

# --- settings (override any as --name=value) ---------------------------------------------
models_dir = "models"  # the model folder the peer joins (its metadata gains a "peer" entry)
cache_dir = ""  # where the verified files are kept ("" for $XINH_CACHE_DIR or ~/.cache/xinh)
# -------------------------------------------------------------------------------------------

PACKAGE = "@vladmandic/face-api@1.7.15"
MANIFEST = PackageFile(
    package=PACKAGE,
    member="model/age_gender_model-weights_manifest.json",
    sha256="74b60bf3ebf981bf4e661e9cca3a185614e10b25d797118b62e2a68d3ff2569f",
    registry="npm",
)
WEIGHTS = PackageFile(
    package=PACKAGE,
    member="model/age_gender_model.bin",
    sha256="49f92bbc0afef2342c4385e4a2b0acb6d7a727c6f0aa539499719a81acf9abaa",
    registry="npm",
)
REFERENCE_PACKAGES = (PACKAGE, "@tensorflow/tfjs@4.22.0", "@tensorflow/tfjs-backend-wasm@4.22.0")
PEER_FILE = "peer_gender.tflite"
CROP_SIZE = 112  # the Xinh crop the square is cut from, and the peer's own input size
SQUARE_TOP, SQUARE_LEFT, SQUARE_SIZE = 32, 24, 64  # centred 8 pixels below the crop's centre
FACE_API_MEAN = np.array([122.782, 117.001, 104.298], dtype=np.float32)
FACE_API_SCALE = 1 / 255
MAIN_BLOCKS = 2
# The peer reads the mirror image too only where the crop alone leaves the joined probability
# in this range, around every gender threshold the rule has chosen for a join (0.16 to 0.5): a
# mirror pass for every face would cost 2 ms, taking the whole verdict over its 15 ms aim
# (models/MODEL_CARD.md, "Training").
MIRROR_BETWEEN = (0.05, 0.80)


def join_sentence(clip: float | None) -> str:
    """The metadata's sentence for how the two networks' answers are joined (`clip`: each logit
    clipped to +-clip first, None: not)."""
    join = "female = sigmoid(mean of the two networks' logits of female"
    return f"{join})" if clip is None else f"{join}, each clipped to +-{clip:g})"


def peer_weights(cache: Path) -> dict[str, np.ndarray]:
    """The peer's weights by name, fetched (once) and verified, 8-bit steps turned to floats."""
    manifest = json.loads(fetch_package_file(MANIFEST, cache).read_text())
    data = fetch_package_file(WEIGHTS, cache).read_bytes()
    weights, offset = {}, 0
    for entry in manifest[0]["weights"]:
        count = int(np.prod(entry["shape"]))
        step = entry.get("quantization")
        if step:
            values = np.frombuffer(data, np.uint8, count, offset).astype(np.float32)
            values = values * np.float32(step["scale"]) + np.float32(step["min"])
            offset += count
        else:
            values = np.frombuffer(data, np.float32, count, offset).copy()
            offset += 4 * count
        weights[entry["name"]] = values.reshape(entry["shape"])
    if offset != len(data):
        raise ValueError(f"{WEIGHTS.member}: the manifest reads {offset} of {len(data)} bytes")
    return weights


def as_shipped(weights: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The weights rounded to half precision, as the LiteRT file stores them: a Keras model
    built from them answers as the shipped file does."""
    return {name: w.astype(np.float16).astype(np.float32) for name, w in weights.items()}


def build_peer(weights: dict[str, np.ndarray], mean: np.ndarray, std: np.ndarray):
    """A Keras model from a Xinh-normalised `CROP_SIZE` crop to {"female": probability}:
    face-api's TinyXception (two main blocks) and its gender layer, layer for layer."""
    import keras

    layers = keras.layers
    loads = []  # (layer, weight names), set once the graph is built

    def conv(x, name, strides):
        size, _, _, filters = weights[f"{name}/filters"].shape
        layer = layers.Conv2D(filters, size, strides, padding="same")
        loads.append((layer, (f"{name}/filters", f"{name}/bias")))
        return layer(x)

    def separable(x, name):
        layer = layers.SeparableConv2D(
            weights[f"{name}/pointwise_filter"].shape[-1], 3, padding="same"
        )
        names = ("depthwise_filter", "pointwise_filter", "bias")
        loads.append((layer, tuple(f"{name}/{n}" for n in names)))
        return layer(x)

    def reduction(x, name, activate_input=True):
        out = layers.ReLU()(x) if activate_input else x
        out = separable(out, f"{name}/separable_conv0")
        out = separable(layers.ReLU()(out), f"{name}/separable_conv1")
        out = layers.MaxPooling2D(3, 2, padding="same")(out)
        return layers.Add()([out, conv(x, f"{name}/expansion_conv", 2)])

    def main_block(x, name):
        out = x
        for i in range(3):
            out = separable(layers.ReLU()(out), f"{name}/separable_conv{i}")
        return layers.Add()([out, x])

    image = keras.Input((CROP_SIZE, CROP_SIZE, 3), name="image")
    crop_bottom = CROP_SIZE - SQUARE_TOP - SQUARE_SIZE
    crop_right = CROP_SIZE - SQUARE_LEFT - SQUARE_SIZE
    x = layers.Cropping2D(((SQUARE_TOP, crop_bottom), (SQUARE_LEFT, crop_right)))(image)
    byte_scale, byte_offset = std * 255, mean * 255  # back to 0-255 pixels, then face-api's input
    x = layers.Rescaling(
        scale=byte_scale * FACE_API_SCALE, offset=(byte_offset - FACE_API_MEAN) * FACE_API_SCALE
    )(x)
    x = layers.Resizing(CROP_SIZE, CROP_SIZE, interpolation="bilinear")(x)
    x = layers.ReLU()(conv(x, "entry_flow/conv_in", 2))
    x = reduction(x, "entry_flow/reduction_block_0", activate_input=False)
    x = reduction(x, "entry_flow/reduction_block_1")
    for i in range(MAIN_BLOCKS):
        x = main_block(x, f"middle_flow/main_block_{i}")
    x = reduction(x, "exit_flow/reduction_block")
    x = layers.ReLU()(separable(x, "exit_flow/separable_conv"))
    gender = layers.Dense(2)
    loads.append((gender, ("fc/gender/weights", "fc/gender/bias")))
    probabilities = layers.Softmax()(gender(layers.GlobalAveragePooling2D()(x)))
    female = layers.Lambda(lambda p: p[:, 1], name="female")(probabilities)  # (male, female)
    model = keras.Model(image, {"female": female})
    for layer, names in loads:
        layer.set_weights([weights[n] for n in names])
    return model


def peer_squares(crops: np.ndarray) -> np.ndarray:
    """The squares the peer reads, as float32 `CROP_SIZE` pixels: each uint8 crop's square
    enlarged bilinearly (pixel centres aligned, as the Keras graph does)."""
    import cv2

    rows, columns = (
        slice(SQUARE_TOP, SQUARE_TOP + SQUARE_SIZE),
        slice(SQUARE_LEFT, SQUARE_LEFT + SQUARE_SIZE),
    )
    size = (CROP_SIZE, CROP_SIZE)
    return np.stack(
        [
            cv2.resize(square.astype(np.float32), size, interpolation=cv2.INTER_LINEAR)
            for square in crops[:, rows, columns]
        ]
    )


def reference_female(crops: np.ndarray, cache: Path) -> np.ndarray:
    """face-api's own answer on uint8 `CROP_SIZE` crops: its graph run by node on TensorFlow.js'
    CPU backend (packages installed once into the cache), fed `peer_squares(crops)`.

    Raises ConnectionError when node or npm is missing or cannot install the packages."""
    node_dir = Path(cache) / "peer-node"
    model_dir = fetch_package_file(WEIGHTS, cache).parent
    fetch_package_file(MANIFEST, cache)
    script = Path(__file__).with_name("peer_reference.cjs")
    try:
        if not (node_dir / "node_modules" / "@vladmandic" / "face-api").is_dir():
            node_dir.mkdir(parents=True, exist_ok=True)
            subprocess.run(
                ["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix",
                 str(node_dir), *REFERENCE_PACKAGES],
                check=True, capture_output=True, text=True, timeout=600,
            )  # fmt: skip
        with tempfile.TemporaryDirectory() as tmp:
            squares, answer = Path(tmp) / "squares.f32", Path(tmp) / "female.json"
            peer_squares(crops).astype("<f4").tofile(squares)
            subprocess.run(
                ["node", str(script), str(model_dir), str(squares), str(len(crops)), str(answer)],
                cwd=node_dir, check=True, capture_output=True, text=True, timeout=600,
            )  # fmt: skip
            return np.array(json.loads(answer.read_text()), dtype=np.float64)
    except (FileNotFoundError, subprocess.CalledProcessError, subprocess.TimeoutExpired) as e:
        detail = getattr(e, "stderr", "") or str(e)
        raise ConnectionError(f"face-api's reference run failed: {detail[-2000:]}") from e


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


def write_peer(tflite: bytes, folder: Path, metadata: dict, cache: Path) -> dict:
    """Write the exported peer into `folder`, check it against face-api's own graph, and return
    the metadata entry that names it (`metadata` says how FaceModel feeds the folder's crops)."""
    (folder / PEER_FILE).write_bytes(tflite)
    spec_input = metadata["input"]
    noise = np.random.default_rng(0).integers(0, 256, (16, CROP_SIZE, CROP_SIZE, 3), np.uint8)
    mean, std = np.array(spec_input["mean"], np.float32), np.array(spec_input["std"], np.float32)
    lite = lite_female(folder / PEER_FILE, noise, mean, std)
    gap = float(np.max(np.abs(lite - reference_female(noise, cache))))
    return {
        "model_file": PEER_FILE,
        "join": join_sentence(None),
        "mirror_between": list(MIRROR_BETWEEN),
        "source": (
            f"{WEIGHTS.member} (sha256 {WEIGHTS.sha256}) and {Path(MANIFEST.member).name} "
            f"(sha256 {MANIFEST.sha256}) in npm {PACKAGE}"
        ),
        "licence": "MIT: face-api.js's age and gender network, (c) 2018 Vincent Mühler",
        "litert_parity_max_abs": gap,
    }


def main() -> None:
    from training.network import litert_bytes

    settings = settings_of(globals(), sys.argv[1:])
    folder = Path(settings["models_dir"])
    meta_file = folder / METADATA_FILE
    meta = json.loads(meta_file.read_text())
    if meta["input"]["size"] != CROP_SIZE:
        raise SystemExit(f"the peer reads {CROP_SIZE}-pixel crops; {folder} feeds another size")
    cache = Path(settings["cache_dir"] or default_cache_dir())
    mean, std = np.array(meta["input"]["mean"]), np.array(meta["input"]["std"])
    with tempfile.TemporaryDirectory() as tmp:
        peer = build_peer(as_shipped(peer_weights(cache)), mean, std)
        tflite = litert_bytes(peer, Path(tmp) / "peer", float16=True)
    meta["peer"] = write_peer(tflite, folder, meta, cache)
    meta_file.write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n")
    print(
        f"wrote {folder / PEER_FILE} ({len(tflite) / 1e3:.0f} kB); LiteRT vs face-api "
        f"{meta['peer']['litert_parity_max_abs']:.1e}"
    )


if __name__ == "__main__":
    main()
