"""The training data's records (UTKFace, MEBeauty, FairFace, SCUT-FBP5500) and their
aligned-crop cache.

Crops are made by the engine's own detector and aligner, the same calls the bot makes, and
cached per (size, margin) so a second run does not redo them; a cache is keyed by the code and
detector files that made it, so a change to either makes new crops rather than reusing old
ones. UTKFace, FairFace and SCUT get a validation tenth by a stable hash of the file name;
MEBeauty keeps the dataset's own split.
"""

from __future__ import annotations

import csv
import hashlib
import importlib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from xinh.inference.align import align, alignment_matrix
from xinh.inference.decode import decode
from xinh.inference.detector import FaceDetector
from xinh.inference.model_files import detector_files
from xinh.inference.types import Face

ETHNICITIES_UTK = ("white", "black", "asian", "indian", "others")
SOURCES = ("utkface", "mebeauty", "fairface", "scut")
VAL_SHARE = 0.1
PREPROCESSING = ("decode", "detector", "blazeface", "align", "types")  # modules making a crop
OLDEST = 100.0  # the upper end of FairFace's "70+" group


@dataclass(frozen=True, slots=True)
class Record:
    """One labelled photo. `age_low`..`age_high` bound the age in years (one value where it is
    known exactly, NaN where the source says nothing); `beauty` is on MEBeauty's 1-10 scale
    (NaN where the source has no rating)."""

    path: Path
    source: str  # one of SOURCES
    split: str  # "train" or "val"
    female: bool
    ethnicity: str
    age_low: float = float("nan")
    age_high: float = float("nan")
    beauty: float = float("nan")

    @property
    def age(self) -> float:
        """The exact age where known (UTKFace), else NaN."""
        return self.age_low if self.age_low == self.age_high else float("nan")


def stable_split(name: str, val_share: float = VAL_SHARE) -> str:
    """ "val" for about `val_share` of names, chosen by a hash of the name: the same every run."""
    bucket = int(hashlib.sha1(name.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return "val" if bucket < val_share else "train"


def utkface_records(root: Path, val_share: float = VAL_SHARE) -> list[Record]:
    """UTKFace crops labelled from their file names; a stable hash of the name picks val."""
    records = []
    for path in sorted(root.glob("*.jpg")):
        fields = path.name.split("_")
        if len(fields) < 4 or not all(f.isdigit() for f in fields[:3]):
            continue
        age, gender, race = (int(f) for f in fields[:3])
        if gender not in (0, 1) or not 0 <= race < len(ETHNICITIES_UTK):
            continue
        records.append(
            Record(
                path=path,
                source="utkface",
                split=stable_split(path.name, val_share),
                female=gender == 1,
                ethnicity=ETHNICITIES_UTK[race],
                age_low=float(age),
                age_high=float(age),
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


def age_group_bounds(group: str) -> tuple[float, float]:
    """FairFace's age group ("3-9", "70+") as years from its first birthday to its last."""
    low, _, high = group.partition("-")
    if low.endswith("+"):
        return float(low[:-1]), OLDEST
    return float(low), float(high) + 1


def fairface_records(root: Path, val_share: float = VAL_SHARE) -> list[Record]:
    """FairFace's everyday faces: gender, race and age group; a stable hash picks val."""
    with open(root / "labels.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    records = []
    for row in rows:
        low, high = age_group_bounds(row["age"])
        records.append(
            Record(
                path=root / row["image"],
                source="fairface",
                split=stable_split(row["image"], val_share),
                female=row["gender"] == "female",
                ethnicity=row["race"],
                age_low=low,
                age_high=high,
            )
        )
    return records


@dataclass(frozen=True, slots=True)
class BeautyScale:
    """A linear map of SCUT-FBP5500's 1-5 ratings onto MEBeauty's 1-10 scale: `offset` +
    `slope` x rating, so that SCUT's training faces get MEBeauty's training mean and spread."""

    offset: float
    slope: float

    def __call__(self, rating: float) -> float:
        return self.offset + self.slope * rating

    @classmethod
    def fit(cls, scut: list[float], mebeauty: list[float]) -> BeautyScale:
        """Match the mean and standard deviation of the two sets' training ratings."""
        slope = float(np.std(mebeauty) / np.std(scut))
        return cls(offset=float(np.mean(mebeauty) - slope * np.mean(scut)), slope=slope)


def scut_records(
    root: Path, mebeauty: list[Record], val_share: float = VAL_SHARE
) -> tuple[list[Record], BeautyScale]:
    """SCUT-FBP5500's portraits with their ratings on MEBeauty's scale (see BeautyScale), 15
    to 60 years old as the dataset says; a stable hash picks val. Also returns the scale."""
    with open(root / "scores.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    splits = [stable_split(row["image"], val_share) for row in rows]
    scale = BeautyScale.fit(
        [float(row["score"]) for row, split in zip(rows, splits, strict=True) if split == "train"],
        [r.beauty for r in mebeauty if r.split == "train"],
    )
    records = [
        Record(
            path=root / row["image"],
            source="scut",
            split=split,
            female=row["gender"] == "female",
            ethnicity=row["ethnicity"],
            age_low=15.0,
            age_high=61.0,
            beauty=scale(float(row["score"])),
        )
        for row, split in zip(rows, splits, strict=True)
    ]
    return records, scale


def all_records(data: Path) -> tuple[dict[str, list[Record]], BeautyScale]:
    """Every source's records, by source name, and SCUT's beauty scale."""
    mebeauty = mebeauty_records(data / "mebeauty")
    scut, scale = scut_records(data / "scut", mebeauty)
    records = {
        "utkface": utkface_records(data / "utkface"),
        "mebeauty": mebeauty,
        "fairface": fairface_records(data / "fairface"),
        "scut": scut,
    }
    return records, scale


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
    """The file that holds (or will hold) these records' crops at this size and margin, made by
    today's preprocessing."""
    key = hashlib.sha1("\n".join(str(r.path) for r in records).encode()).hexdigest()[:12]
    return cache_dir / f"{name}-{size}px-m{margin:g}-{key}-{preprocessing_fingerprint()}.npz"


def preprocessing_fingerprint() -> str:
    """A digest of the code and detector files that turn a photo into a crop, so that crops
    made by an older detector or aligner are never read as the bot's own."""
    modules = [importlib.import_module(f"xinh.inference.{name}") for name in PREPROCESSING]
    digest = hashlib.sha1()
    for path in [Path(m.__file__) for m in modules] + list(detector_files()):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:8]


def largest_faces(records: list[Record], desc: str) -> Iterator[tuple[int, np.ndarray, Face]]:
    """Each record's index, photo pixels and largest face, as the bots' detector finds it
    (records without a face are skipped), with a progress bar."""
    detector = FaceDetector.create(*detector_files())
    for i, record in enumerate(tqdm(records, desc=desc, unit="photo")):
        decoded = decode(record.path.read_bytes())
        faces = detector.detect(decoded.pixels) if decoded.ok else []
        if faces:
            yield i, decoded.pixels, faces[0]


def cached_crops(
    records: list[Record], size: int, margin: float, cache_dir: Path, name: str
) -> tuple[np.ndarray, np.ndarray]:
    """Aligned crops (N, size, size, 3) uint8 of each record's largest face, and a mask of
    the records where a face was found. Computed once, then read from `cache_dir`."""
    cache = crop_cache_path(records, size, margin, cache_dir, name)
    if cache.exists():
        with np.load(cache) as stored:
            return stored["crops"], stored["found"]
    crops = np.zeros((len(records), size, size, 3), dtype=np.uint8)
    found = np.zeros(len(records), dtype=bool)
    for i, pixels, face in largest_faces(records, f"aligning {name}"):
        crops[i] = align(pixels, face, size, margin)
        found[i] = True
    cache_dir.mkdir(parents=True, exist_ok=True)
    np.savez(cache, crops=crops, found=found)
    return crops, found


def beyond_photo(shape: tuple[int, ...], matrix: np.ndarray, size: int) -> np.ndarray:
    """Where a `size` crop made by `matrix` from a photo of `shape` lies beyond the photo (the
    aligner repeats the photo's edge pixels there)."""
    inside = np.full(shape[:2], 255, dtype=np.uint8)
    warped = cv2.warpAffine(inside, matrix, (size, size), flags=cv2.INTER_NEAREST, borderValue=0)
    return warped == 0


def cached_beyond(
    records: list[Record], size: int, margin: float, cache_dir: Path, name: str
) -> np.ndarray:
    """For each record's crop (as `cached_crops` makes it), where it lies beyond the photo: (N,
    size, size) bool, all False where no face was found. Computed once, then read from
    `cache_dir`, beside the crops."""
    crops = crop_cache_path(records, size, margin, cache_dir, name)
    cache = crops.with_name(crops.stem + "-beyond.npz")
    if cache.exists():
        with np.load(cache) as stored:
            return np.unpackbits(stored["beyond"], axis=-1, count=size).astype(bool)
    beyond = np.zeros((len(records), size, size), dtype=bool)
    for i, pixels, face in largest_faces(records, f"edges of {name}"):
        beyond[i] = beyond_photo(pixels.shape, alignment_matrix(face, size, margin), size)
    cache_dir.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(cache, beyond=np.packbits(beyond, axis=-1))
    return beyond
