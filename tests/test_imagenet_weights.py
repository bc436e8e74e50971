"""torchvision's ImageNet MobileNetV2 weights, read without torch and mapped onto Keras."""

from __future__ import annotations

import numpy as np
import pytest

from training.imagenet_weights import (
    fetch_weights,
    mobilenet_v2_imagenet,
    normalise,
    read_legacy_state_dict,
)
from training.package_files import default_cache_dir

CAT_IDS = {281, 282, 283, 284, 285}  # tabby, tiger cat, Persian, Siamese, Egyptian cat
COFFEE_IDS = {967, 968, 504}  # espresso, cup, coffee mug


@pytest.fixture(scope="module")
def weights_path():
    try:
        return fetch_weights(default_cache_dir())
    except ConnectionError as e:
        pytest.skip(f"ImageNet weights not cached and not downloadable (no network?): {e}")


def test_reads_legacy_state_dict(weights_path):
    state = read_legacy_state_dict(weights_path)
    assert len(state) == 314
    assert state["features.0.0.weight"].shape == (32, 3, 3, 3)
    assert state["features.1.conv.0.0.weight"].shape == (32, 1, 3, 3)
    assert state["features.18.1.running_var"].shape == (1280,)
    assert state["features.18.1.num_batches_tracked"].dtype == np.int64
    assert state["classifier.1.weight"].shape == (1000, 1280)
    assert state["classifier.1.bias"].dtype == np.float32


def _square_224(image: np.ndarray) -> np.ndarray:
    from skimage.transform import resize

    h, w = image.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    crop = image[top : top + side, left : left + side]
    return (resize(crop, (224, 224), anti_aliasing=True) * 255).round().astype(np.uint8)


def test_classifies_imagenet_images(weights_path):
    pytest.importorskip("tensorflow")
    skimage_data = pytest.importorskip("skimage.data")
    import keras

    model = mobilenet_v2_imagenet((224, 224, 3), include_top=True, cache_dir=weights_path.parent)
    # torch semantics, which the top-5 check alone would not catch: symmetric padding, BN eps 1e-5
    layers = model.layers
    pads = {la.padding for la in layers if isinstance(la, keras.layers.ZeroPadding2D)}
    eps = {la.epsilon for la in layers if isinstance(la, keras.layers.BatchNormalization)}
    assert (pads, eps) == ({((1, 1), (1, 1))}, {1e-5})
    images = np.stack([_square_224(skimage_data.chelsea()), _square_224(skimage_data.coffee())])
    probs = model.predict(normalise(images), verbose=0)
    top5 = np.argsort(-probs, axis=1)[:, :5]
    assert top5[0][0] in CAT_IDS, top5[0]
    assert COFFEE_IDS & set(top5[1].tolist()), top5[1]
