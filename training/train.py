"""Train Xinh's face model: one MobileNetV2 backbone (ImageNet start), two heads.

Outputs: the probability that a face is a woman's (UTKFace and MEBeauty gender labels) and a
beauty score on MEBeauty's 1-10 scale (MEBeauty's mean ratings, both genders, and the beauty
teacher's ratings of UTKFace's faces: training/teacher.py). Two auxiliary heads teach the
backbone more about faces and are dropped at export: age (UTKFace ages) and the teacher's
face-recognition embedding of every training face (feature distillation).
Faces are cropped by the engine's own detector and aligner (training/datasets.py); UTKFace's
gender labels are those of training/label_review.csv (see training/flag_labels.py), by default
only the decisions a person made by looking.

    python -m training.train                          # the settings below
    python -m training.train --epochs=2                     # a quicker, weaker model

Writes models/xinh_face.tflite and models/xinh-face.json (input, thresholds, metrics, and
this command), and a log in models/training-log.txt.
"""

from __future__ import annotations

import json
import logging
import os
import random
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from training.configurator import settings_of

# --- settings (override any as --name=value) ---------------------------------------------
data_dir = "../shared/data"
out_dir = "models"
cache_dir = ".cache"
input_size = 112
margin = 0.25
batch_size = 64
head_epochs = 1  # backbone frozen: the new heads settle first
epochs = 8  # then the whole network
beauty_epochs = 0  # then the whole network on MEBeauty alone (it hurt with the teacher)
head_learning_rate = 1e-3
learning_rate = 4e-4  # peak for fine-tuning, cosine decay to 0
beauty_learning_rate = 1e-4  # peak for the MEBeauty stage
weight_decay = 1e-4
mebeauty_repeat = 8  # MEBeauty is small: show it this many times an epoch
beauty_weight = 0.5
female_weight = 4.0  # a woman's gender error costs this many men's: kindness first
erase_prob = 0.5  # random erasing (hides hair, clothes, features) in the joint stages
age_weight = 0.1
dropout = 0.2
mirror_average = 1  # the bot averages each face with its mirror image (metadata says so)
eval_every = 2  # validation report every this many epochs (and after each stage)
label_review = "training/label_review.csv"  # reviewed UTKFace labels ("" for the raw ones)
review_flagged = 0  # also drop the training faces the review flagged unseen (1), not only
# those a person looked at: they are hard cases, and the teacher's gender targets soften them
teacher = 1  # learn from the teacher too: beauty ratings, gender, embeddings (0: labels alone)
embedding_weight = 1.0  # with the teacher: the student also learns its face embeddings (0: off)
gender_teacher = 0.5  # with the teacher: this share of a training face's gender target is the
# teacher's probability of female (a logistic regression on its embeddings), the rest the label
peer_env = ".cache/peer-venv"  # where the teacher's face-recognition network runs
seed = 1337
subset = 0  # >0: train on only this many faces (a quick check of the whole script)
version = "1.1.0"
# -------------------------------------------------------------------------------------------
SETTINGS = settings_of(dict(globals()), sys.argv[1:])
globals().update(SETTINGS)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from training.datasets import (  # noqa: E402
    apply_review,
    cached_crops,
    load_label_review,
    mebeauty_records,
    utkface_records,
)
from training.imagenet_weights import (  # noqa: E402
    IMAGENET_MEAN,
    IMAGENET_STD,
    mobilenet_v2_imagenet,
)
from training.metrics import evaluate_predictions  # noqa: E402
from training.peer_env import peer_python  # noqa: E402
from training.teacher import (  # noqa: E402
    gender_probe,
    standardised,
    teacher_embeddings,
    teacher_ratings,
)
from training.thresholds import beautiful_cut, choose_thresholds  # noqa: E402

out = Path(out_dir)
out.mkdir(parents=True, exist_ok=True)
logging.basicConfig(
    level=logging.INFO,
    format="%(asctime)s %(message)s",
    handlers=[logging.FileHandler(out / "training-log.txt", mode="w"), logging.StreamHandler()],
)
log = logging.getLogger("train")
log.info("command: python -m training.train %s", " ".join(sys.argv[1:]))
log.info("settings: %s", json.dumps(SETTINGS))
random.seed(seed)
np.random.seed(seed)
keras.utils.set_random_seed(seed)

# --- data: aligned crops, cached --------------------------------------------------------------
data = Path(data_dir)
crops_dir = Path(cache_dir) / "crops"
records = {
    "utkface": utkface_records(data / "utkface"),
    "mebeauty": mebeauty_records(data / "mebeauty"),
}
crops = {
    name: cached_crops(recs, input_size, margin, crops_dir, name) for name, recs in records.items()
}
# The teacher's view of each face, per source, in the raw records' order (NaN: no face):
taught = {}  # beauty ratings of UTKFace's faces
female_taught = {}  # probabilities of female
embedded = {}  # embeddings, standardised
NO_EMBEDDING = -100.0  # fills the embedding target of a face the teacher could not embed
teacher_x = {}
if teacher:
    teacher_x = teacher_embeddings(records, Path(cache_dir), peer_python(Path(peer_env)))
    ratings, ridge = teacher_ratings(records, teacher_x)
    taught = {"utkface": ratings["utkface"]}
    log.info("beauty teacher: ridge penalty %g (cross-validated on training faces)", ridge.alpha)
if label_review:  # after cropping: the crop cache follows the raw records' order
    review = load_label_review(Path(label_review), flagged=bool(review_flagged))
    records["utkface"] = apply_review(records["utkface"], review)
if teacher_x and gender_teacher:
    probe = gender_probe(records, teacher_x)
    female_taught = {s: probe.predict(e) for s, e in teacher_x.items()}
if teacher_x and embedding_weight:
    embedded = {
        s: np.nan_to_num(e, nan=NO_EMBEDDING).astype(np.float32)
        for s, e in standardised(teacher_x).items()
    }


def beauty_target(source: str, split: str, i: int) -> float:
    """The rating a face trains the beauty head on: MEBeauty's, else the teacher's for
    training faces, else -1 (none)."""
    rating = records[source][i].beauty
    if rating != rating and split == "train" and source in taught:
        rating = float(taught[source][i])
    return rating if rating == rating else -1


def female_target(source: str, split: str, i: int) -> float:
    """The gender a face trains on: its label, mixed with the teacher's probability for
    training faces the teacher saw."""
    label = float(records[source][i].female)
    p = female_taught[source][i] if source in female_taught else float("nan")
    if split != "train" or p != p:
        return label
    return (1 - gender_teacher) * label + gender_teacher * float(p)


def table(source: str, split: str):
    """Crops and targets of one source and split, faces found and not left out by the label
    review only. Missing targets are -1."""
    pixels, found = crops[source]
    rows = [i for i, r in enumerate(records[source]) if r and r.split == split and found[i]]
    recs = [records[source][i] for i in rows]
    targets = {
        "female": np.array([female_target(source, split, i) for i in rows], np.float32),
        "beauty": np.array([beauty_target(source, split, i) for i in rows], np.float32),
        "age": np.array([r.age / 50 if r.age == r.age else -1 for r in recs], np.float32),
    }
    if embedded:
        targets["embedding"] = embedded[source][rows]
    return pixels[rows], targets, recs


train_parts = [table("utkface", "train")] + [table("mebeauty", "train")] * mebeauty_repeat
train_x = np.concatenate([p[0] for p in train_parts])
train_y = {k: np.concatenate([p[1][k] for p in train_parts]) for k in train_parts[0][1]}
if subset:
    pick = np.random.default_rng(seed).permutation(len(train_x))[:subset]
    train_x, train_y = train_x[pick], {k: v[pick] for k, v in train_y.items()}
val = {source: table(source, "val") for source in records}
log.info(
    "train faces: %d (MEBeauty x%d); val faces: %s",
    len(train_x),
    mebeauty_repeat,
    {s: len(v[0]) for s, v in val.items()},
)

mean = tf.constant(np.array(IMAGENET_MEAN, np.float32) * 255)
inv_std = tf.constant(1 / (np.array(IMAGENET_STD, np.float32) * 255))


def normalise(pixels):
    return (tf.cast(pixels, tf.float32) - mean) * inv_std


def erase(image):
    """Grey out one random rectangle (2-20% of the crop), so no single cue is relied upon."""
    area = tf.random.uniform([], 0.02, 0.2) * input_size**2
    aspect = tf.exp(tf.random.uniform([], np.log(0.3), np.log(3.3)))
    h = tf.cast(tf.minimum(tf.sqrt(area * aspect), input_size), tf.int32)
    w = tf.cast(tf.minimum(tf.sqrt(area / aspect), input_size), tf.int32)
    top = tf.random.uniform([], 0, input_size - h + 1, dtype=tf.int32)
    left = tf.random.uniform([], 0, input_size - w + 1, dtype=tf.int32)
    rows, cols = tf.range(input_size)[:, None], tf.range(input_size)[None, :]
    inside = (rows >= top) & (rows < top + h) & (cols >= left) & (cols < left + w)
    return tf.where(inside[..., None], mean, image)


def augment(pixels, targets, erasing: bool):
    """Mirror, small shifts and zoom, light and colour jitter, and (if `erasing`) random
    erasing; the crops stay aligned."""
    image = tf.image.random_flip_left_right(pixels)
    pad = input_size // 12
    image = tf.image.resize_with_crop_or_pad(image, input_size + 2 * pad, input_size + 2 * pad)
    side = tf.random.uniform([], input_size, input_size + 2 * pad + 1, dtype=tf.int32)
    image = tf.image.random_crop(image, [side, side, 3])
    image = tf.image.resize(image, [input_size, input_size])
    image = tf.image.random_brightness(image, 20)
    image = tf.image.random_contrast(image, 0.8, 1.2)
    image = tf.image.random_saturation(image, 0.8, 1.2)
    if erasing:
        image = tf.cond(tf.random.uniform([]) < erase_prob, lambda: erase(image), lambda: image)
    return normalise(tf.clip_by_value(image, 0, 255)), targets


def batches(pixels: np.ndarray, targets: dict, erasing: bool) -> tf.data.Dataset:
    """Shuffled, augmented training batches."""
    return (
        tf.data.Dataset.from_tensor_slices((pixels, targets))
        .shuffle(len(pixels), seed=seed, reshuffle_each_iteration=True)
        .map(lambda x, y: augment(x, y, erasing), num_parallel_calls=tf.data.AUTOTUNE)
        .batch(batch_size)
        .prefetch(tf.data.AUTOTUNE)
    )


train_ds = batches(train_x, train_y, erasing=erase_prob > 0)
beauty_x, beauty_y, _ = table("mebeauty", "train")


# --- model --------------------------------------------------------------------------------
def weighted_bce(y_true, y_pred):
    """Cross-entropy where women's errors weigh `female_weight` times men's."""
    y_true = tf.reshape(y_true, [-1])
    y_pred = tf.clip_by_value(tf.reshape(y_pred, [-1]), 1e-6, 1 - 1e-6)
    weight = 1 + (female_weight - 1) * y_true
    return -tf.reduce_mean(
        weight * (y_true * tf.math.log(y_pred) + (1 - y_true) * tf.math.log(1 - y_pred))
    )


def masked_mse(y_true, y_pred):
    y_true, y_pred = tf.reshape(y_true, [-1]), tf.reshape(y_pred, [-1])
    mask = tf.cast(y_true >= 0, tf.float32)
    return tf.reduce_sum(mask * tf.square(y_true - y_pred)) / tf.maximum(tf.reduce_sum(mask), 1.0)


def embedding_mse(y_true, y_pred):
    """Mean squared error over the embedding's dimensions, faces without one left out."""
    mask = tf.cast(y_true[:, 0] > NO_EMBEDDING / 2, tf.float32)
    errors = tf.reduce_mean(tf.square(y_true - y_pred), axis=1)
    return tf.reduce_sum(mask * errors) / tf.maximum(tf.reduce_sum(mask), 1.0)


backbone = mobilenet_v2_imagenet(
    (input_size, input_size, 3), include_top=False, cache_dir=Path(cache_dir) / "xinh"
)
features = keras.layers.GlobalAveragePooling2D()(backbone.output)
features = keras.layers.Dropout(dropout, seed=seed)(features)
female = keras.layers.Dense(1, activation="sigmoid", name="female")(features)
mean_beauty = float(np.mean(train_y["beauty"][train_y["beauty"] >= 0]))
beauty = keras.layers.Dense(
    1, name="beauty", bias_initializer=keras.initializers.Constant(mean_beauty)
)(features)
age = keras.layers.Dense(1, name="age")(features)
heads = {"female": female, "beauty": beauty, "age": age}
losses = {"female": weighted_bce, "beauty": masked_mse, "age": masked_mse}
loss_weights = {"female": 1.0, "beauty": beauty_weight, "age": age_weight}
if embedded:  # dropped at export, like the age head
    width = next(iter(embedded.values())).shape[1]
    heads["embedding"] = keras.layers.Dense(width, name="embedding")(features)
    losses["embedding"], loss_weights["embedding"] = embedding_mse, embedding_weight
model = keras.Model(backbone.input, heads)


def served(network: keras.Model) -> keras.Model:
    """What ships: the network with only its female and beauty outputs."""
    image = keras.Input((input_size, input_size, 3), name="image")
    outputs = network(image)
    return keras.Model(image, {"female": outputs["female"], "beauty": outputs["beauty"]})


shipped = served(model)  # shares the trained layers, so it always reflects the latest weights


def forward(pixels: np.ndarray) -> dict[str, np.ndarray]:
    """The shipped network's outputs on uint8 crops, in Keras, one pass."""
    outputs = {"female": [], "beauty": []}
    for start in range(0, len(pixels), 256):
        batch = shipped(normalise(pixels[start : start + 256]), training=False)
        for key in outputs:
            outputs[key].append(np.asarray(batch[key]).reshape(-1))
    return {key: np.concatenate(parts) for key, parts in outputs.items()}


def predict(pixels: np.ndarray) -> dict[str, np.ndarray]:
    """What the bot will answer: one pass, or with `mirror_average` the mean with the mirror's."""
    outputs = forward(pixels)
    if mirror_average:
        mirrored = forward(pixels[:, :, ::-1])
        outputs = {key: (outputs[key] + mirrored[key]) / 2 for key in outputs}
    return outputs


def report(stage: str) -> dict:
    """Validation metrics at a neutral 0.5 threshold, logged after every stage."""
    results = {}
    for source, (pixels, _, recs) in val.items():
        results[source] = evaluate_predictions(predict(pixels), recs, 0.5)
    log.info("%s val: %s", stage, json.dumps(results, default=float))
    return results


class EpochLog(keras.callbacks.Callback):
    def __init__(self, stage: str) -> None:
        super().__init__()
        self.stage, self.started = stage, time.time()

    def on_train_end(self, logs=None):
        report(f"{self.stage} end")

    def on_epoch_end(self, epoch, logs=None):
        log.info(
            "%s epoch %d: %s (%.0f s)",
            self.stage,
            epoch + 1,
            {k: round(float(v), 4) for k, v in (logs or {}).items()},
            time.time() - self.started,
        )
        if (epoch + 1) % eval_every == 0 and epoch + 1 < self.params["epochs"]:
            report(f"{self.stage} epoch {epoch + 1}")


# --- stage 1: heads only ------------------------------------------------------------------
backbone.trainable = False
model.compile(
    optimizer=keras.optimizers.Adam(head_learning_rate), loss=losses, loss_weights=loss_weights
)
model.fit(train_ds, epochs=head_epochs, callbacks=[EpochLog("heads")], verbose=1)

# --- stage 2: everything ------------------------------------------------------------------
backbone.trainable = True
steps = epochs * int(np.ceil(len(train_x) / batch_size))
schedule = keras.optimizers.schedules.CosineDecay(
    learning_rate / 10, steps, alpha=0.0, warmup_target=learning_rate, warmup_steps=steps // 20
)
model.compile(
    optimizer=keras.optimizers.AdamW(schedule, weight_decay=weight_decay),
    loss=losses,
    loss_weights=loss_weights,
)
model.fit(train_ds, epochs=epochs, callbacks=[EpochLog("fine-tune")], verbose=1)

# --- stage 3: MEBeauty alone, gentler ---------------------------------------------------------
if beauty_epochs:
    steps = beauty_epochs * int(np.ceil(len(beauty_x) / batch_size))
    model.compile(
        optimizer=keras.optimizers.AdamW(
            keras.optimizers.schedules.CosineDecay(beauty_learning_rate, steps),
            weight_decay=weight_decay,
        ),
        loss=losses,
        loss_weights={**{k: 0.0 for k in heads}, "female": 1.0, "beauty": 1.0},
    )
    model.fit(
        batches(beauty_x, beauty_y, erasing=False),
        epochs=beauty_epochs,
        callbacks=[EpochLog("beauty")],
        verbose=1,
    )

# --- export: what `served` ships, checked against Keras on real crops -----------------------
saved_dir = Path(cache_dir) / "saved_model"
shipped.export(str(saved_dir), format="tf_saved_model", verbose=False)
tflite_bytes = tf.lite.TFLiteConverter.from_saved_model(str(saved_dir)).convert()
model_file = out / "xinh_face.tflite"
model_file.write_bytes(tflite_bytes)

from ai_edge_litert.interpreter import Interpreter  # noqa: E402

runner = Interpreter(model_content=tflite_bytes).get_signature_runner()
input_name = next(iter(runner.get_input_details()))
check_pixels = val["mebeauty"][0][:64]
keras_out = forward(check_pixels)
lite_out = {"female": [], "beauty": []}
for crop in check_pixels:
    result = runner(**{input_name: np.asarray(normalise(crop[None]))})
    for key in lite_out:
        lite_out[key].append(float(result[key].reshape(-1)[0]))
parity = {k: float(np.max(np.abs(np.array(lite_out[k]) - keras_out[k]))) for k in lite_out}
log.info("LiteRT vs Keras on %d real crops, max abs difference: %s", len(check_pixels), parity)

# --- thresholds on validation, then metadata --------------------------------------------------
val_outputs = {source: predict(v[0]) for source, v in val.items()}
val_records = [r for v in val.values() for r in v[2]]
p_female = np.concatenate([val_outputs[s]["female"] for s in val])
thresholds = choose_thresholds(p_female, val_records, beautiful_cut(records["mebeauty"]))
log.info("thresholds: %s", thresholds)
metrics = {
    source: evaluate_predictions(val_outputs[source], val[source][2], thresholds.female)
    for source in val
}
log.info("validation at the chosen threshold: %s", json.dumps(metrics, default=float))
metadata = {
    "version": version,
    "model_file": model_file.name,
    "input": {
        "size": input_size,
        "margin": margin,
        "layout": "NHWC RGB, aligned by inference.align",
        "normalisation": "(x/255 - mean) / std",
        "mean": list(IMAGENET_MEAN),
        "std": list(IMAGENET_STD),
        "mirror_average": bool(mirror_average),
    },
    "outputs": {
        "female": "probability the face is a woman's",
        "beauty": "predicted mean rating on MEBeauty's 1-10 scale",
    },
    "thresholds": asdict(thresholds),
    "training": {
        "command": "python -m training.train " + " ".join(sys.argv[1:]),
        "settings": SETTINGS,
        "data": "UTKFace (gender, age; hashed 10% val split; labels as reviewed in "
        f"{label_review or 'no review'}; beauty {'from the teacher' if teacher else 'none'}"
        f"{'; embeddings from the teacher' if embedded else ''}"
        f"{'; gender targets mixed with the teacher' if female_taught else ''}) "
        "and MEBeauty (gender, beauty; the dataset's 2022 train/val split). "
        "Non-commercial research.",
        "litert_parity_max_abs": parity,
    },
    "validation": metrics,
}
(out / "xinh-face.json").write_text(json.dumps(metadata, indent=2, default=float) + "\n")
log.info("wrote %s (%.1f MB) and %s", model_file, len(tflite_bytes) / 1e6, out / "xinh-face.json")
