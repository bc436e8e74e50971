"""Train Xinh's face model: one MobileNetV2 backbone (ImageNet start), three shipped heads.

Outputs: the probability that a face is a woman's (UTKFace, MEBeauty, FairFace and SCUT
gender labels; not children's), a beauty score on MEBeauty's 1-10 scale (MEBeauty's mean
ratings and SCUT-FBP5500's, mapped onto that scale: training/datasets.py, BeautyScale) and the
age as log(1 + years) (UTKFace's ages, FairFace's age groups as intervals, SCUT's 15-60), from
which the bot tells children, whom it never rates. Faces are cropped by the engine's own
detector and aligner (training/datasets.py); UTKFace's gender labels are those of
training/label_review.csv, by default only the decisions a person made by looking. The network,
losses and augmentation live in training/network.py, losses.py and augment.py.

    python -m training.train                          # the settings below
    python -m training.train --epochs=2               # a quicker, weaker model

Writes models/xinh_face.tflite and models/xinh-face.json (input, thresholds, metrics, and
this command), and a log in models/training-log.txt.
"""

from __future__ import annotations

import json
import logging
import os
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
epochs = 7  # then the whole network
head_learning_rate = 1e-3
learning_rate = 4e-4  # peak for fine-tuning, cosine decay to 0
weight_decay = 1e-4
utkface_share = 0.4  # UTKFace's plentiful 20-49-year-olds: this share of them an epoch
mebeauty_repeat = 4  # small sets: show their faces this many times an epoch
scut_repeat = 2
fairface_repeat = 1  # everyday photos: every FairFace face this many times an epoch
hard_repeat = 2  # FairFace's adult women 50+, Black and Indian: this many times an epoch
asian_repeat = 1  # FairFace's East and Southeast Asian adults (the bot's audience): as above
beauty_weight = 0.5
female_weight = 4.0  # a woman's gender error costs this many men's: kindness first
age_weight = 1.0
erase_prob = 0.5  # random erasing (hides hair, clothes, features)
lowres_prob = 0.0  # this share of crops shrunk to 24-80 pixels and enlarged back (small faces)
surround_prob = 0.0  # this share of crops filled anew beyond their photo's edges (wider photos)
dropout = 0.2
mirror_average = True  # the bot averages each face with its mirror image (metadata says so)
eval_every = 2  # validation report every this many epochs (and after each stage)
label_review = "training/label_review.csv"  # reviewed UTKFace labels ("" for the raw ones)
review_flagged = False  # also drop the training faces the review flagged unseen
seed = 1337
subset = 0  # >0: train on only this many faces (a quick check of the whole script)
version = "2.0.0"
# -------------------------------------------------------------------------------------------
SETTINGS = settings_of(dict(globals()), sys.argv[1:])
globals().update(SETTINGS)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from training.augment import Augmentation, Surroundings, normalise  # noqa: E402
from training.datasets import (  # noqa: E402
    all_records,
    apply_review,
    cached_beyond,
    cached_crops,
    load_label_review,
)
from training.imagenet_weights import IMAGENET_MEAN, IMAGENET_STD  # noqa: E402
from training.losses import NO_AGE, interval_mse, masked_mse, weighted_bce  # noqa: E402
from training.metrics import (  # noqa: E402
    CHILD_BELOW,
    ethnicity_group,
    evaluate_predictions,
    is_young_child,
)
from training.network import (  # noqa: E402
    SHIPPED_OUTPUTS,
    NetworkSpec,
    build_network,
    litert_bytes,
    served,
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
keras.utils.set_random_seed(seed)
rng = np.random.default_rng(seed)

# --- data: aligned crops, cached --------------------------------------------------------------
records, beauty_scale = all_records(Path(data_dir))
log.info("SCUT ratings on MEBeauty's scale: %s", beauty_scale)
crops = {
    name: cached_crops(recs, input_size, margin, Path(cache_dir) / "crops", name)
    for name, recs in records.items()
}
log.info("faces found: %s", {s: f"{found.mean():.1%}" for s, (_, found) in crops.items()})
beyond = {  # where each crop lies beyond its photo (only needed to fill it anew)
    name: cached_beyond(recs, input_size, margin, Path(cache_dir) / "crops", name)
    if surround_prob
    else np.zeros((len(recs), 1, 1), bool)
    for name, recs in records.items()
}
if label_review:  # after cropping: the crop cache follows the raw records' order
    review = load_label_review(Path(label_review), flagged=review_flagged)
    records["utkface"] = apply_review(records["utkface"], review)


def female_target(source: str, i: int) -> float:
    """The gender a face trains on: its label, or -1 for a child under 10, whose gender is
    never told."""
    record = records[source][i]
    return -1.0 if is_young_child(record) else float(record.female)


def beauty_target(source: str, i: int) -> float:
    """The rating a face trains on (one scale), or -1 where the source has none."""
    rating = records[source][i].beauty
    return rating if rating == rating else -1.0


def age_target(source: str, i: int) -> tuple[float, float]:
    """The age interval a face trains on, as log(1 + years); an exact age is the year it names
    (UTKFace), an age group its years (FairFace, SCUT); NO_AGE where the source says nothing."""
    record = records[source][i]
    if record.age_low != record.age_low:
        return NO_AGE, NO_AGE
    high = record.age_high + 1 if record.age_high == record.age_low else record.age_high
    return float(np.log1p(record.age_low)), float(np.log1p(high))


def rows_of(source: str, split: str) -> list[int]:
    """The faces of one source and split that were found and not left out by the label review."""
    found = crops[source][1]
    return [i for i, r in enumerate(records[source]) if r and r.split == split and found[i]]


def table(source: str, split: str):
    """Crops and targets of one source and split (`rows_of`)."""
    pixels = crops[source][0]
    rows = rows_of(source, split)
    targets = {
        "female": np.array([female_target(source, i) for i in rows], np.float32),
        "beauty": np.array([beauty_target(source, i) for i in rows], np.float32),
        "log_age": np.array([age_target(source, i) for i in rows], np.float32),
    }
    return pixels[rows], targets, [records[source][i] for i in rows]


def epoch_rows(source: str, recs: list) -> np.ndarray:
    """Which training faces of `source` an epoch shows, repeats included (see settings)."""
    everyone = np.arange(len(recs))
    if source == "utkface":
        plentiful = np.array([20 <= r.age < 50 for r in recs])
        keep = ~plentiful | (rng.random(len(recs)) < utkface_share)
        return everyone[keep]
    if source == "fairface":
        hard = np.array(
            [
                r.female
                and r.age_low >= 20
                and (r.age_low >= 50 or ethnicity_group(r) in ("black", "indian"))
                for r in recs
            ]
        )
        asian = np.array(
            [
                r.age_low >= 20 and ethnicity_group(r) in ("east_asian", "southeast_asian")
                for r in recs
            ]
        )
        extra_hard = max(hard_repeat - fairface_repeat, 0)
        extra_asian = max(asian_repeat - fairface_repeat, 0)
        return np.concatenate(
            [everyone] * fairface_repeat
            + [everyone[hard]] * extra_hard
            + [everyone[asian]] * extra_asian
        )
    repeat = {"mebeauty": mebeauty_repeat, "scut": scut_repeat}[source]
    return np.tile(everyone, repeat)


parts = []
for source in records:
    pixels, targets, recs = table(source, "train")
    rows = epoch_rows(source, recs)
    edges = beyond[source][rows_of(source, "train")][rows]
    parts.append((pixels[rows], edges, {k: v[rows] for k, v in targets.items()}))
    log.info("train faces from %s: %d (%d distinct)", source, len(rows), len(recs))
train_x = np.concatenate([p[0] for p in parts])
train_beyond = np.concatenate([p[1] for p in parts])
train_y = {k: np.concatenate([p[2][k] for p in parts]) for k in parts[0][2]}
if subset:
    pick = rng.permutation(len(train_x))[:subset]
    train_x, train_beyond = train_x[pick], train_beyond[pick]
    train_y = {k: v[pick] for k, v in train_y.items()}
val = {source: table(source, "val") for source in records}
log.info("train faces: %d; val faces: %s", len(train_x), {s: len(v[0]) for s, v in val.items()})

augmentation = Augmentation(input_size, erase_prob, lowres_prob)
surroundings = Surroundings(surround_prob)
faces_ds = tf.data.Dataset.from_tensor_slices((train_x, train_beyond, train_y))
if surround_prob:  # each face meets another training crop that may fill its surroundings
    others = tf.data.Dataset.from_tensor_slices(train_x).shuffle(len(train_x), seed=seed + 1)
    faces_ds = tf.data.Dataset.zip((faces_ds, others.repeat())).map(
        lambda face, other: (surroundings(face[0], face[1], other), face[2]),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
else:
    faces_ds = faces_ds.map(lambda x, edges, y: (x, y))
train_ds = (
    faces_ds.shuffle(len(train_x), seed=seed, reshuffle_each_iteration=True)
    .map(lambda x, y: (augmentation(x), y), num_parallel_calls=tf.data.AUTOTUNE)
    .batch(batch_size)
    .prefetch(tf.data.AUTOTUNE)
)

# --- model --------------------------------------------------------------------------------
known_age = train_y["log_age"][:, 0] > NO_AGE / 2
spec = NetworkSpec(
    input_size=input_size,
    dropout=dropout,
    mean_beauty=float(np.mean(train_y["beauty"][train_y["beauty"] >= 0])),
    mean_log_age=float(np.mean(train_y["log_age"][known_age])),
    seed=seed,
)
model, backbone = build_network(spec, Path(cache_dir) / "xinh")
shipped = served(model, input_size)  # what xinh_face.tflite holds
losses = {
    "female": weighted_bce(female_weight),
    "beauty": masked_mse,
    "log_age": interval_mse,
}
loss_weights = {"female": 1.0, "beauty": beauty_weight, "log_age": age_weight}


def forward(pixels: np.ndarray) -> dict[str, np.ndarray]:
    """The shipped network's outputs on uint8 crops, in Keras, one pass."""
    outputs = {name: [] for name in shipped.output}
    for start in range(0, len(pixels), 256):
        batch = shipped(normalise(pixels[start : start + 256]), training=False)
        for key in outputs:
            outputs[key].append(np.asarray(batch[key]).reshape(-1))
    return {key: np.concatenate(parts) for key, parts in outputs.items()}


def predict(pixels: np.ndarray) -> dict[str, np.ndarray]:
    """The network's own answers, as `FaceModel` reads them before any join: with
    `mirror_average`, the mean with the mirror image's outputs; the age in years.
    (`training.peer_network` then joins the peer, and `training.retune` rechooses the
    thresholds for the pair.)"""
    outputs = forward(pixels)
    if mirror_average:
        mirrored = forward(pixels[:, :, ::-1])
        outputs = {key: (outputs[key] + mirrored[key]) / 2 for key in outputs}
    outputs["age"] = np.expm1(outputs.pop("log_age"))
    return outputs


def report(stage: str) -> None:
    """Validation metrics at a neutral 0.5 threshold and the 13-year child cut."""
    results = {
        source: evaluate_predictions(predict(pixels), recs, 0.5, CHILD_BELOW)
        for source, (pixels, _, recs) in val.items()
    }
    log.info("%s val: %s", stage, json.dumps(results, default=float))


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
model.fit(train_ds, epochs=head_epochs, callbacks=[EpochLog("heads")], verbose=2)

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
model.fit(train_ds, epochs=epochs, callbacks=[EpochLog("fine-tune")], verbose=2)

# --- export: what `served` ships, checked against Keras on real crops -----------------------
tflite_bytes = litert_bytes(shipped, Path(cache_dir) / "saved_model")
model_file = out / "xinh_face.tflite"
model_file.write_bytes(tflite_bytes)

from ai_edge_litert.interpreter import Interpreter  # noqa: E402

runner = Interpreter(model_content=tflite_bytes).get_signature_runner()
input_name = next(iter(runner.get_input_details()))
check_pixels = np.concatenate([v[0][:16] for v in val.values()])
keras_out = forward(check_pixels)
lite_out = {name: [] for name in SHIPPED_OUTPUTS}
for crop in check_pixels:
    result = runner(**{input_name: np.asarray(normalise(crop[None]))})
    for key in lite_out:
        lite_out[key].append(float(result[key].reshape(-1)[0]))
parity = {k: float(np.max(np.abs(np.array(lite_out[k]) - keras_out[k]))) for k in lite_out}
log.info("LiteRT vs Keras on %d real crops, max abs difference: %s", len(check_pixels), parity)

# --- thresholds on validation, then metadata --------------------------------------------------
val_outputs = {source: predict(v[0]) for source, v in val.items()}
val_records = [r for v in val.values() for r in v[2]]
thresholds = choose_thresholds(
    np.concatenate([val_outputs[s]["female"] for s in val]),
    val_records,
    beautiful_cut([r for s in ("mebeauty", "scut") for r in records[s]]),
    np.concatenate([val_outputs[s]["age"] for s in val]),
)
log.info("thresholds: %s", thresholds)
metrics = {
    source: evaluate_predictions(
        val_outputs[source], val[source][2], thresholds.female, thresholds.child_age
    )
    for source in val
}
log.info("validation at the chosen thresholds: %s", json.dumps(metrics, default=float))
metadata = {
    "version": version,
    "model_file": model_file.name,
    "input": {
        "size": input_size,
        "margin": margin,
        "layout": "NHWC RGB, aligned by inference.align",
        "normalisation": "(x/255 - mean) / std",
        "mean": [float(v) for v in IMAGENET_MEAN],
        "std": [float(v) for v in IMAGENET_STD],
        "mirror_average": mirror_average,
    },
    "outputs": {
        "female": "probability the face is a woman's",
        "beauty": "predicted mean rating on MEBeauty's 1-10 scale",
        "log_age": "estimated age as log(1 + years)",
    },
    "thresholds": asdict(thresholds),
    "beauty_scale": {
        "scut_offset": beauty_scale.offset,
        "scut_slope": beauty_scale.slope,
        "why": "SCUT-FBP5500's 1-5 ratings mapped linearly onto MEBeauty's 1-10 scale so that "
        "SCUT's training faces get the mean and standard deviation of MEBeauty's",
    },
    "training": {
        "command": "python -m training.train " + " ".join(sys.argv[1:]),
        "settings": SETTINGS,
        "data": "UTKFace (gender, age; hashed 10% val split; labels as reviewed in "
        f"{label_review or 'no review'}), MEBeauty (gender, beauty; the dataset's 2022 "
        "train/val split), FairFace (gender, age group, race; hashed 10% val split; CC BY 4.0) "
        "and SCUT-FBP5500 (gender, beauty; its 60% training split, hashed 10% val split). "
        "UTKFace, MEBeauty and SCUT-FBP5500: non-commercial research only.",
        "litert_parity_max_abs": parity,
    },
    "validation": metrics,
}
(out / "xinh-face.json").write_text(json.dumps(metadata, indent=2, default=float) + "\n")
log.info("wrote %s (%.1f MB) and %s", model_file, len(tflite_bytes) / 1e6, out / "xinh-face.json")
