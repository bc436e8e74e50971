"""Fine-tune the peer gender network on the four sets' gender labels, starting from its weights.

The peer (face-api's network, training/peer_network.py) was trained by its author on other
photos: it ranks MEBeauty's faces better than Xinh's network and FairFace's everyday faces
worse. Here it learns from the same training faces as Xinh's network (UTKFace as reviewed,
MEBeauty, FairFace, SCUT; children under 10 left out; a woman's error weighs four times a
man's), for a few epochs at a low learning rate so that it keeps what its own photos taught it.
The folder's peer_gender.tflite is replaced (half precision, as before) and its metadata entry
says how it was made; `training.retune` then chooses the join's thresholds again.

    python -m training.peer_tune --models_dir=/tmp/cand   # a folder with the peer joined
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

from training.configurator import settings_of

# --- settings (override any as --name=value) ---------------------------------------------
data_dir = "../shared/data"
models_dir = "models"  # its peer_gender.tflite is replaced by the fine-tuned one
cache_dir = ".cache"
package_cache = ""  # where face-api's files are kept ("" for $XINH_CACHE_DIR or ~/.cache/xinh)
epochs = 2
learning_rate = 1e-4
batch_size = 64
female_weight = 4.0  # a woman's gender error costs this many men's
utkface_share = 0.4  # UTKFace's plentiful 20-49-year-olds: this share of them
mebeauty_repeat = 4  # small sets: their faces this many times an epoch
scut_repeat = 2
hard_repeat = 2  # FairFace's adult women 50+, Black and Indian: this many times an epoch
erase_prob = 0.5
label_review = "training/label_review.csv"
seed = 1337
# -------------------------------------------------------------------------------------------
SETTINGS = settings_of(dict(globals()), sys.argv[1:])
globals().update(SETTINGS)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from training.augment import Augmentation, normalise  # noqa: E402
from training.datasets import (  # noqa: E402
    all_records,
    apply_review,
    cached_crops,
    load_label_review,
)
from training.losses import weighted_bce  # noqa: E402
from training.metrics import ethnicity_group, is_young_child  # noqa: E402
from training.network import litert_bytes  # noqa: E402
from training.package_files import default_cache_dir  # noqa: E402
from training.peer_network import (  # noqa: E402
    CROP_SIZE,
    PEER_FILE,
    as_shipped,
    build_peer,
    lite_female,
    peer_weights,
)
from xinh.inference.face_model import METADATA_FILE  # noqa: E402

keras.utils.set_random_seed(seed)
rng = np.random.default_rng(seed)
folder = Path(models_dir)
meta = json.loads((folder / METADATA_FILE).read_text())
if "peer" not in meta:
    raise SystemExit(f"{folder} has no peer: run training.peer_network there first")
mean, std = np.array(meta["input"]["mean"]), np.array(meta["input"]["std"])


# --- data: the training faces with a gender the bot may tell ---------------------------------
def repeats(source: str, record) -> int:
    """How many times an epoch shows this training face (see settings)."""
    if source == "utkface":
        return int(not 20 <= record.age < 50 or rng.random() < utkface_share)
    if source == "fairface":
        hard = (
            record.female
            and record.age_low >= 20
            and (record.age_low >= 50 or ethnicity_group(record) in ("black", "indian"))
        )
        return hard_repeat if hard else 1
    return {"mebeauty": mebeauty_repeat, "scut": scut_repeat}[source]


records, _ = all_records(Path(data_dir))
pixels, targets = [], []
for source, recs in records.items():
    crops, found = cached_crops(
        recs, CROP_SIZE, meta["input"]["margin"], Path(cache_dir) / "crops", source
    )
    if source == "utkface" and label_review:
        recs = apply_review(recs, load_label_review(Path(label_review), flagged=False))
    rows = [
        i
        for i, r in enumerate(recs)
        if r and r.split == "train" and found[i] and not is_young_child(r)
        for _ in range(repeats(source, r))
    ]
    pixels.append(crops[rows])
    targets.append(np.array([float(recs[i].female) for i in rows], np.float32))
    print(f"{source}: {len(rows)} faces an epoch", flush=True)
train_x, train_y = np.concatenate(pixels), np.concatenate(targets)

augmentation = Augmentation(CROP_SIZE, erase_prob)
train_ds = (
    tf.data.Dataset.from_tensor_slices((train_x, train_y))
    .shuffle(len(train_x), seed=seed, reshuffle_each_iteration=True)
    .map(lambda x, y: (augmentation(x), {"female": y}), num_parallel_calls=tf.data.AUTOTUNE)
    .batch(batch_size)
    .prefetch(tf.data.AUTOTUNE)
)

# --- the peer, from face-api's weights as shipped, fine-tuned ----------------------------------
peer = build_peer(as_shipped(peer_weights(Path(package_cache or default_cache_dir()))), mean, std)
peer.compile(
    optimizer=keras.optimizers.Adam(learning_rate),
    loss={"female": weighted_bce(female_weight)},
)
peer.fit(train_ds, epochs=epochs, verbose=2)

# --- export in half precision, checked against Keras on real crops -----------------------------
with tempfile.TemporaryDirectory() as tmp:
    tflite = litert_bytes(peer, Path(tmp) / "peer", float16=True)
(folder / PEER_FILE).write_bytes(tflite)
check = train_x[rng.choice(len(train_x), 64, replace=False)]
keras_female = np.asarray(peer(normalise(check), training=False)["female"]).reshape(-1)
gap = float(np.max(np.abs(lite_female(folder / PEER_FILE, check, mean, std) - keras_female)))
command = "python -m training.peer_tune " + " ".join(sys.argv[1:])
meta["peer"]["source"] += f"; fine-tuned here on the four sets' gender labels ({command})"
meta["peer"]["fine_tuning"] = SETTINGS
meta["peer"]["litert_parity_max_abs"] = gap
(folder / METADATA_FILE).write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n")
print(f"wrote {folder / PEER_FILE} ({len(tflite) / 1e3:.0f} kB); LiteRT vs Keras {gap:.1e}")
