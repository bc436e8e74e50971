"""The face model's losses: kind gender cross-entropy, masked regression and age intervals.
Targets below zero mean "no label"."""

from __future__ import annotations

import tensorflow as tf

NO_AGE = -1.0  # fills both ends of the age target of a face whose age is unknown


def weighted_bce(female_weight: float):
    """Cross-entropy where women's errors weigh `female_weight` times men's; targets below
    zero are left out (children's faces, whose gender the bot never answers)."""

    def loss(y_true, y_pred):
        y_true = tf.reshape(y_true, [-1])
        y_pred = tf.clip_by_value(tf.reshape(y_pred, [-1]), 1e-6, 1 - 1e-6)
        mask = tf.cast(y_true >= 0, tf.float32)
        y_true = tf.maximum(y_true, 0.0)
        weight = mask * (1 + (female_weight - 1) * y_true)
        errors = y_true * tf.math.log(y_pred) + (1 - y_true) * tf.math.log(1 - y_pred)
        return -tf.reduce_sum(weight * errors) / tf.maximum(tf.reduce_sum(mask), 1.0)

    return loss


def masked_mse(y_true, y_pred):
    """Mean squared error over the faces with a target (>= 0)."""
    y_true, y_pred = tf.reshape(y_true, [-1]), tf.reshape(y_pred, [-1])
    mask = tf.cast(y_true >= 0, tf.float32)
    return tf.reduce_sum(mask * tf.square(y_true - y_pred)) / tf.maximum(tf.reduce_sum(mask), 1.0)


def interval_mse(y_true, y_pred):
    """Squared distance from the prediction to the target interval [low, high] (columns of
    `y_true`; zero inside it): exact ages are intervals of one point, FairFace's age groups
    wider ones. Faces without an age (NO_AGE) are left out."""
    low, high, y_pred = y_true[:, 0], y_true[:, 1], tf.reshape(y_pred, [-1])
    mask = tf.cast(low > NO_AGE / 2, tf.float32)
    below, above = tf.nn.relu(low - y_pred), tf.nn.relu(y_pred - high)
    errors = tf.square(below) + tf.square(above)
    return tf.reduce_sum(mask * errors) / tf.maximum(tf.reduce_sum(mask), 1.0)
