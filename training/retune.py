"""Re-choose a trained model's thresholds on validation and rewrite its metadata file.

For when the threshold rule (training/thresholds.py), the label review, the mirror pass or
the join with the peer changes and the weights do not: the same choice training.train makes
after exporting, here made with the exported LiteRT model (it matches Keras to 1e-5) on the
same cached validation crops of all four sources.

    python -m training.retune                 # models/xinh-face.json, the settings below
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, replace
from pathlib import Path

from training.configurator import settings_of
from training.datasets import all_records
from training.metrics import evaluate_predictions
from training.peer_network import join_sentence
from training.thresholds import beautiful_cut, choose_thresholds
from training.validation import all_answers, validation_answers, validation_faces
from xinh.inference.face_model import METADATA_FILE, MirrorWhen, ModelSpec

# --- settings (override any as --name=value) ---------------------------------------------
data_dir = "../shared/data"
models_dir = "models"
cache_dir = ".cache"
label_review = "training/label_review.csv"  # reviewed UTKFace labels ("" for the raw ones)
version = ""  # the model's new version ("" keeps it)
mirror_average = "keep"  # true: also run each face mirrored and average the two; false: do not
# where the main network reads the mirror image: "always", or four numbers, the joined female
# probability's range and the age's (years) in which the crop alone leaves the verdict uncertain
mirror_when = "keep"
# with a peer network: each network's logit clipped to +-this before the join ("none": not)
logit_clip = "keep"
# -------------------------------------------------------------------------------------------


def mirror_when_of(setting: str) -> MirrorWhen | None:
    """`mirror_when`'s setting as ranges: "always" is None, else "f_low,f_high,age_low,age_high"."""
    if setting == "always":
        return None
    low, high, young, old = (float(v) for v in setting.split(","))
    return MirrorWhen(female_between=(low, high), age_between=(young, old))


def logit_clip_of(setting: str) -> float | None:
    """`logit_clip`'s setting as a bound: "none" is None, else a positive number."""
    if setting == "none":
        return None
    try:
        clip = float(setting)
    except ValueError:
        clip = 0.0
    if not clip > 0:
        raise SystemExit(f"--logit_clip={setting}: give a positive number, or none")
    return clip


def main() -> None:
    settings = settings_of(globals(), sys.argv[1:])
    data, models = Path(settings["data_dir"]), Path(settings["models_dir"])
    spec = ModelSpec.load(models)
    if settings["mirror_average"] != "keep":
        spec = replace(spec, mirror_average=settings["mirror_average"].lower() == "true")
    if settings["mirror_when"] != "keep":
        spec = replace(spec, mirror_when=mirror_when_of(settings["mirror_when"]))
    if settings["logit_clip"] != "keep":
        if spec.peer_path is None:
            raise SystemExit("--logit_clip joins a peer network's answer: this model has none")
        spec = replace(spec, logit_clip=logit_clip_of(settings["logit_clip"]))
    records, _ = all_records(data)
    crops = Path(settings["cache_dir"]) / "crops"
    faces = validation_faces(records, spec.input_size, spec.margin, crops, settings["label_review"])
    val = validation_answers(spec, faces)
    every = all_answers(val)
    thresholds = choose_thresholds(
        every.female,
        every.records,
        beautiful_cut([r for s in ("mebeauty", "scut") for r in records[s]]),
        every.age,
    )
    path = models / METADATA_FILE
    metadata = json.loads(path.read_text())
    metadata["input"]["mirror_average"] = spec.mirror_average
    metadata["input"].pop("mirror_when", None)
    if spec.mirror_when is not None:
        metadata["input"]["mirror_when"] = asdict(spec.mirror_when)
    if "peer" in metadata:
        metadata["peer"].pop("logit_clip", None)
        if spec.logit_clip is not None:
            metadata["peer"]["logit_clip"] = spec.logit_clip
        metadata["peer"]["join"] = join_sentence(spec.logit_clip)
    metadata["thresholds"] = asdict(thresholds)
    metadata["validation"] = {
        source: evaluate_predictions(
            answers.outputs(), answers.records, thresholds.female, thresholds.child_age
        )
        for source, answers in val.items()
    }
    metadata["version"] = settings["version"] or metadata["version"]
    metadata["training"]["retuned"] = " ".join(["python -m training.retune", *sys.argv[1:]])
    path.write_text(json.dumps(metadata, indent=2, default=float) + "\n")
    print(thresholds.why)


if __name__ == "__main__":
    main()
