"""Input normalisation and training augmentation of aligned uint8 crops, in TensorFlow."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from training.imagenet_weights import IMAGENET_MEAN, IMAGENET_STD


@dataclass(frozen=True, slots=True)
class Augmentation:
    """Mirror, small shifts and zoom, light and colour jitter, random erasing with probability
    `erase_prob` (hides hair, clothes or features, so no one cue is relied on), and with
    probability `lowres_prob` the crop as a small face in a group photo gives it (shrunk to a
    side within `lowres_sides`, then enlarged back as the aligner enlarges it); the crops stay
    aligned."""

    input_size: int
    erase_prob: float = 0.5
    lowres_prob: float = 0.0
    lowres_sides: tuple[int, int] = (24, 80)

    def __call__(self, pixels: tf.Tensor) -> tf.Tensor:
        """One augmented, normalised crop from a uint8 crop."""
        size = self.input_size
        image = tf.image.random_flip_left_right(pixels)
        pad = size // 12
        image = tf.image.resize_with_crop_or_pad(image, size + 2 * pad, size + 2 * pad)
        side = tf.random.uniform([], size, size + 2 * pad + 1, dtype=tf.int32)
        image = tf.image.random_crop(image, [side, side, 3])
        image = tf.image.resize(image, [size, size])
        if self.lowres_prob > 0:
            image = tf.cond(
                tf.random.uniform([]) < self.lowres_prob, lambda: self.shrink(image), lambda: image
            )
        image = tf.image.random_brightness(image, 20)
        image = tf.image.random_contrast(image, 0.8, 1.2)
        image = tf.image.random_saturation(image, 0.8, 1.2)
        if self.erase_prob > 0:
            image = tf.cond(
                tf.random.uniform([]) < self.erase_prob, lambda: self.erase(image), lambda: image
            )
        return normalise(tf.clip_by_value(image, 0, 255))

    def shrink(self, image: tf.Tensor) -> tf.Tensor:
        """The crop at a random lower resolution: averaged down to a side in `lowres_sides`
        (as a camera sees a small face), enlarged back bilinearly (as `align` enlarges it)."""
        low, high = self.lowres_sides
        side = tf.random.uniform([], low, high + 1, dtype=tf.int32)
        small = tf.image.resize(image, [side, side], method="area")
        return tf.image.resize(small, [self.input_size, self.input_size])

    def erase(self, image: tf.Tensor) -> tf.Tensor:
        """Grey out one random rectangle (2-20% of the crop)."""
        size = self.input_size
        area = tf.random.uniform([], 0.02, 0.2) * size**2
        aspect = tf.exp(tf.random.uniform([], np.log(0.3), np.log(3.3)))
        h = tf.cast(tf.minimum(tf.sqrt(area * aspect), size), tf.int32)
        w = tf.cast(tf.minimum(tf.sqrt(area / aspect), size), tf.int32)
        top = tf.random.uniform([], 0, size - h + 1, dtype=tf.int32)
        left = tf.random.uniform([], 0, size - w + 1, dtype=tf.int32)
        rows, cols = tf.range(size)[:, None], tf.range(size)[None, :]
        inside = (rows >= top) & (rows < top + h) & (cols >= left) & (cols < left + w)
        return tf.where(inside[..., None], _mean_pixel(), image)


@dataclass(frozen=True, slots=True)
class Surroundings:
    """With probability `prob`, what lies beyond a crop's photo (where the aligner repeated the
    photo's edges) is filled anew: half the time with another training crop (a neighbour in a
    group photo, a scene), else with noise or one flat colour; so no answer rests on the edges
    that tight face crops repeat. Applied before `Augmentation`, on uint8 crops."""

    prob: float = 0.0

    def __call__(self, pixels: tf.Tensor, beyond: tf.Tensor, other: tf.Tensor) -> tf.Tensor:
        """`pixels` with the area `beyond` (a bool mask of the crop) refilled, or unchanged."""
        if self.prob <= 0:
            return pixels
        roll = tf.random.uniform([])
        noise = tf.random.uniform(tf.shape(pixels), 0, 256, dtype=tf.int32)
        colour = tf.random.uniform([3], 0, 256, dtype=tf.int32)
        flat = tf.broadcast_to(colour, tf.shape(pixels))
        fill = tf.cast(tf.where(roll < 0.75, noise, flat), pixels.dtype)
        fill = tf.where(roll < 0.5, other, fill)
        refilled = tf.where(beyond[..., None], fill, pixels)
        return tf.cond(tf.random.uniform([]) < self.prob, lambda: refilled, lambda: pixels)


def _mean_pixel() -> tf.Tensor:
    return tf.constant(np.array(IMAGENET_MEAN, np.float32) * 255)


def normalise(pixels) -> tf.Tensor:
    """uint8 (or float 0-255) RGB to the network's input: ImageNet mean and spread."""
    inv_std = tf.constant(1 / (np.array(IMAGENET_STD, np.float32) * 255))
    return (tf.cast(pixels, tf.float32) - _mean_pixel()) * inv_std
