"""The face model's network: a MobileNetV2 backbone (ImageNet start) and its heads.

Shipped heads: `female` (probability the face is a woman's), `beauty` (rating on MEBeauty's
1-10 scale) and `log_age` (log(1 + years)). `served` is what ships; `litert_bytes` exports it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import keras

from training.imagenet_weights import mobilenet_v2_imagenet

SHIPPED_OUTPUTS = ("female", "beauty", "log_age")


@dataclass(frozen=True, slots=True)
class NetworkSpec:
    """The network's shape: input side, dropout before the heads and the regression heads'
    starting biases (the mean rating and the mean log age)."""

    input_size: int = 112
    dropout: float = 0.2
    mean_beauty: float = 6.0
    mean_log_age: float = 3.3
    seed: int = 1337


def build_network(spec: NetworkSpec, weights_cache: Path) -> tuple[keras.Model, keras.Model]:
    """The whole network (a dict of named outputs) and its backbone (to freeze or thaw)."""
    backbone = mobilenet_v2_imagenet(
        (spec.input_size, spec.input_size, 3), include_top=False, cache_dir=weights_cache
    )
    features = keras.layers.GlobalAveragePooling2D()(backbone.output)
    features = keras.layers.Dropout(spec.dropout, seed=spec.seed)(features)
    heads = {
        "female": keras.layers.Dense(1, activation="sigmoid", name="female")(features),
        "beauty": keras.layers.Dense(
            1, name="beauty", bias_initializer=keras.initializers.Constant(spec.mean_beauty)
        )(features),
        "log_age": keras.layers.Dense(
            1, name="log_age", bias_initializer=keras.initializers.Constant(spec.mean_log_age)
        )(features),
    }
    return keras.Model(backbone.input, heads), backbone


def served(network: keras.Model, input_size: int) -> keras.Model:
    """What ships: the network's shipped outputs as one model. It shares the network's layers,
    so it always reflects the latest weights."""
    image = keras.Input((input_size, input_size, 3), name="image")
    outputs = network(image)
    return keras.Model(image, {name: outputs[name] for name in SHIPPED_OUTPUTS})


def litert_bytes(model: keras.Model, saved_dir: Path, float16: bool = False) -> bytes:
    """The Keras model as LiteRT flatbuffer bytes, through a SavedModel written to `saved_dir`
    (training.quantize converts the shipped network's again from there). With `float16`, the
    weights are stored in half precision (half the file; LiteRT computes in float32)."""
    import tensorflow as tf

    model.export(str(saved_dir), format="tf_saved_model", verbose=False)
    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_dir))
    if float16:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    return converter.convert()
