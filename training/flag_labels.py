"""Flag UTKFace faces whose gender label a trained model confidently contradicts.

UTKFace's labels come from its file names, and some are wrong: women filed as men and the
reverse. A model trained on them still contradicts most such labels after training, so its
confident disagreements are where to look (the idea of "confident learning"). This script
writes candidates in the format of training/label_review.csv:

- training faces the model contradicts beyond the train cuts get the decision `drop`, with no
  person looking (too many; on contact sheets these cuts picked mostly wrong labels, while
  looser ones picked mostly real men and women the model gets wrong);
- validation faces beyond the looser val cuts get the decision `?` and a numbered tile in a
  contact sheet: a person decides each one, `female`, `male`, or `drop` where the face alone
  does not say, and nothing else in validation is changed.

    python -m training.flag_labels      # writes .cache/label-review-candidates.{csv,png}

The shipped training/label_review.csv was made this way from model 1.0.0, then reviewed.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from training.configurator import settings_of
from training.datasets import cached_crops, utkface_records
from xinh.inference.face_model import FaceModel

# --- settings (override any as --name=value) ---------------------------------------------
data_dir = "../shared/data"
models_dir = "models"
cache_dir = ".cache"
train_male_cut = 0.98  # a "male" training face with p_female at or above this is dropped
train_female_cut = 0.10  # a "female" training face at or below this is dropped
val_male_cut = 0.90  # validation faces beyond these cuts go to a person
val_female_cut = 0.20
# -------------------------------------------------------------------------------------------


def contradicted(p_female: float, female: bool, male_cut: float, female_cut: float) -> bool:
    """Whether the model's probability contradicts the label beyond the cuts."""
    return p_female <= female_cut if female else p_female >= male_cut


def contact_sheet(tiles: list[np.ndarray], captions: list[str], columns: int = 8) -> np.ndarray:
    """A grid of 128 px RGB tiles, each captioned in its top-left corner."""
    tiles = [cv2.resize(t, (128, 128)) for t in tiles] or [np.zeros((128, 128, 3), np.uint8)]
    for tile, caption in zip(tiles, captions, strict=False):
        cv2.putText(tile, caption, (2, 12), cv2.FONT_HERSHEY_SIMPLEX, 0.38, (255, 255, 0), 1)
    tiles += [np.zeros_like(tiles[0])] * (-len(tiles) % columns)
    rows = [np.hstack(tiles[i : i + columns]) for i in range(0, len(tiles), columns)]
    return np.vstack(rows)


def main() -> None:
    settings = settings_of(globals(), sys.argv[1:])
    model = FaceModel.create(Path(settings["models_dir"]))
    records = utkface_records(Path(settings["data_dir"]) / "utkface")
    crops, found = cached_crops(
        records,
        model.spec.input_size,
        model.spec.margin,
        Path(settings["cache_dir"]) / "crops",
        "utkface",
    )
    flagged = []
    for i, record in enumerate(tqdm(records, desc="scoring UTKFace", unit="face")):
        if not found[i]:
            continue
        p = model.predict(crops[i]).female_probability
        cuts = "train" if record.split == "train" else "val"
        if contradicted(
            p, record.female, settings[f"{cuts}_male_cut"], settings[f"{cuts}_female_cut"]
        ):
            flagged.append((record.split != "val", record.path.name, i, p))
    flagged.sort()
    rows, tiles, captions = [], [], []
    for in_train, name, i, p in flagged:
        given = "female" if records[i].female else "male"
        decision = "drop" if in_train else "?"
        rows.append([name, records[i].split, given, f"{p:.3f}", decision, "flagged"])
        if not in_train:
            tiles.append(crops[i].copy())
            captions.append(f"row {len(rows)}: {given} {p:.2f}")
    out = Path(settings["cache_dir"]) / "label-review-candidates"
    with open(out.with_suffix(".csv"), "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "split", "given", "p_female", "decision", "how"])
        writer.writerows(rows)
    sheet = contact_sheet(tiles, captions)
    cv2.imwrite(str(out.with_suffix(".png")), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
    print(f"{len(rows)} flagged ({len(tiles)} to look at): {out}.csv, {out}.png")


if __name__ == "__main__":
    main()
