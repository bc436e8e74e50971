"""The training data's records (UTKFace, MEBeauty) and their aligned-crop cache.

Crops are made by the engine's own detector and aligner, the same calls the bot makes, and
cached per (size, margin) so a second run does not redo them.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from inference.align import align
from inference.decode import decode
from inference.detector import FaceDetector
from inference.model_files import detector_files

ETHNICITIES_UTK = ("white", "black", "asian", "indian", "others")


@dataclass(frozen=True, slots=True)
class Record:
    """One labelled photo. `beauty` and `age` are NaN where the source has none."""

    path: Path
    source: str  # "utkface" or "mebeauty"
    split: str  # "train" or "val"
    female: bool
    ethnicity: str
    age: float = float("nan")
    beauty: float = float("nan")


def utkface_records(root: Path, val_share: float = 0.1) -> list[Record]:
    """UTKFace crops labelled from their file names; a stable hash of the name picks val."""
    records = []
    for path in sorted(root.glob("*.jpg")):
        fields = path.name.split("_")
        if len(fields) < 4 or not all(f.isdigit() for f in fields[:3]):
            continue
        age, gender, race = (int(f) for f in fields[:3])
        if gender not in (0, 1) or not 0 <= race < len(ETHNICITIES_UTK):
            continue
        bucket = int(hashlib.sha1(path.name.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
        records.append(
            Record(
                path=path,
                source="utkface",
                split="val" if bucket < val_share else "train",
                female=gender == 1,
                ethnicity=ETHNICITIES_UTK[race],
                age=float(age),
            )
        )
    return records


def mebeauty_records(root: Path) -> list[Record]:
    """MEBeauty photos with their mean rating, gender, ethnicity and the dataset's split."""
    with open(root / "scores.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [
        Record(
            path=root / row["image"],
            source="mebeauty",
            split=row["split"],
            female=row["gender"] == "female",
            ethnicity=row["ethnicity"],
            beauty=float(row["score"]),
        )
        for row in rows
    ]


def load_label_review(path: Path, flagged: bool = True) -> dict[str, bool | None]:
    """UTKFace file name -> its reviewed label (True: female), or None to leave it out;
    without `flagged`, only the decisions of a person who looked at the photo.

    The file is training/label_review.csv, made by training/flag_labels.py; see its docstring."""
    decisions = {"female": True, "male": False, "drop": None}
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    undecided = [row["file"] for row in rows if row["decision"] not in decisions]
    if undecided:
        raise ValueError(f"{path}: decide female, male or drop for {', '.join(undecided)}")
    return {
        row["file"]: decisions[row["decision"]]
        for row in rows
        if flagged or row["how"] != "flagged"
    }


def apply_review(records: list[Record], review: dict[str, bool | None]) -> list[Record | None]:
    """`records` with reviewed labels, in the same order (crop caches still line up), and
    None where a face is left out."""
    reviewed: list[Record | None] = []
    for record in records:
        decision = review.get(record.path.name, record.female)
        reviewed.append(None if decision is None else replace(record, female=decision))
    return reviewed


def crop_cache_path(
    records: list[Record], size: int, margin: float, cache_dir: Path, name: str
) -> Path:
    """The file that holds (or will hold) these records' crops at this size and margin."""
    key = hashlib.sha1("\n".join(str(r.path) for r in records).encode()).hexdigest()[:12]
    return cache_dir / f"{name}-{size}px-m{margin:g}-{key}.npz"


def cached_crops(
    records: list[Record], size: int, margin: float, cache_dir: Path, name: str
) -> tuple[np.ndarray, np.ndarray]:
    """Aligned crops (N, size, size, 3) uint8 of each record's largest face, and a mask of
    the records where a face was found. Computed once, then read from `cache_dir`."""
    cache = crop_cache_path(records, size, margin, cache_dir, name)
    if cache.exists():
        with np.load(cache) as stored:
            return stored["crops"], stored["found"]
    detector = FaceDetector.create(*detector_files())
    crops = np.zeros((len(records), size, size, 3), dtype=np.uint8)
    found = np.zeros(len(records), dtype=bool)
    for i, record in enumerate(tqdm(records, desc=f"aligning {name}", unit="photo")):
        decoded = decode(record.path.read_bytes())
        faces = detector.detect(decoded.pixels) if decoded.ok else []
        if faces:
            crops[i] = align(decoded.pixels, faces[0], size, margin)
            found[i] = True
    cache_dir.mkdir(parents=True, exist_ok=True)
    np.savez(cache, crops=crops, found=found)
    return crops, found
