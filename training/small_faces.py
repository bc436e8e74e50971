"""How the models answer small faces, as group photos show them, and the smallest face each
model may judge. Each validation photo is shrunk so that its face is a given height, then enlarged
back to its own size (the same framing, only the detail of a face that many pixels tall), and
run through the bots' own detector, aligner and face model.

Prints, per face height and source, the faces found and the aims' figures on them with 95%
intervals (women called men, men refused, children under 10 answered as children, adults
answered as children, beauty Pearson), each model beside the others on the same photos; then
each model's smallest face height by the rule below. With `--write=true` the height goes into
each model's metadata (`small_faces.min_face_height`): the engine answers a smaller face with a
kind "too far away" line instead of a verdict.

    python -m training.small_faces                              # the shipped model
    python -m training.small_faces --models=models,/tmp/run10   # several, on the same photos
"""

from __future__ import annotations

import io
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from training.configurator import settings_of
from training.datasets import Record, all_records
from training.metrics import (
    is_adult,
    is_young_child,
    may_be_rated,
    pearson_interval,
    share_text,
)
from xinh.inference.align import align
from xinh.inference.engine import Engine
from xinh.inference.face_model import METADATA_FILE, FaceModel, ModelSpec
from xinh.inference.verdict import rate_face

# --- settings (override any as --name=value) ---------------------------------------------
data_dir = "../shared/data"
models = "models"  # comma-separated models folders, measured on the same photos
heights = "0,24,32,40,48,56,64"  # face heights in pixels (0: the photo as it is)
per_source = 400  # validation photos a source (FairFace: this many adults, and every child)
seed = 0
write = False  # write each model's smallest face height into its metadata
# The rule: the smallest measured height from which up, on the faces found, at least this share
# of the children under 10 are answered as children, and at most these shares of the women
# are called men (all sources pooled; FairFace's adults, the everyday photos' aim)
children_at_least = 0.90
women_pooled_at_most = 0.02
women_fairface_at_most = 0.03
# -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """One model's answer on one photo at one height (found False: no face there): its gender
    at the kind threshold (as the aims count it, child or not) and whether it is a child's."""

    record: Record
    height: int
    found: bool
    female: bool = False
    child: bool = False
    beauty: float = float("nan")


def photos(data: Path, count: int, rng: np.random.Generator) -> list[Record]:
    """`count` validation photos a source of faces the aims count, and FairFace's children."""
    chosen = []
    for records in all_records(data)[0].values():
        val = [r for r in records if r.split == "val"]
        grown = [r for r in val if _counted(r)]
        chosen += [grown[i] for i in rng.permutation(len(grown))[:count]]
        chosen += [r for r in val if is_young_child(r)]
    return chosen


def with_face_height(data: bytes, face_height: float, height: int) -> bytes:
    """The photo with the detail of a face `height` pixels tall: shrunk by area averaging (as a
    camera sees a small face), enlarged back to its size, saved as a JPEG."""
    image = Image.open(io.BytesIO(data)).convert("RGB")
    scale = height / face_height
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    blurred = image.resize(size, Image.Resampling.BOX).resize(image.size, Image.Resampling.BILINEAR)
    out = io.BytesIO()
    blurred.save(out, "JPEG", quality=92)
    return out.getvalue()


def answers(records: list[Record], specs: list[ModelSpec], heights: list[int]):
    """Every model's answers on the largest face of every photo at every height no taller than
    the face itself."""
    engine = Engine.create(specs[0].path.parent)
    nets = [FaceModel(spec) for spec in specs]
    result: list[list[Answer]] = [[] for _ in specs]
    for record in records:
        data = record.path.read_bytes()
        _, native = engine.find_faces(data)
        if not native:
            continue
        for height in heights:
            if height > native[0].box[3]:
                continue
            shown = data if height == 0 else with_face_height(data, native[0].box[3], height)
            decoded, faces = engine.find_faces(shown)
            for spec, net, mine in zip(specs, nets, result, strict=True):
                if not faces:
                    mine.append(Answer(record, height, found=False))
                    continue
                crop = align(decoded.pixels, faces[0], spec.input_size, spec.margin)
                rated = rate_face(
                    faces[0],
                    net.predict(crop),
                    spec.female_threshold,
                    spec.beautiful_threshold,
                    spec.child_age,
                )
                female = rated.female_probability >= spec.female_threshold
                mine.append(Answer(record, height, True, female, rated.child, rated.beauty))
    engine.close()
    return result


def _counted(record: Record) -> bool:
    """A face the gender aims count: FairFace's adults, the other sources' grown-ups."""
    return is_adult(record) if record.source == "fairface" else may_be_rated(record)


def shares(found: list[Answer]) -> dict[str, list[bool]]:
    """Per figure, one hit or miss per face it counts."""
    grown = [a for a in found if _counted(a.record)]
    return {
        "women called men": [not a.female for a in grown if a.record.female],
        "FairFace women called men": [
            not a.female for a in grown if a.record.female and a.record.source == "fairface"
        ],
        "men refused": [not a.female for a in grown if not a.record.female],
        "children as children": [a.child for a in found if is_young_child(a.record)],
        "adults as children": [a.child for a in found if is_adult(a.record)],
    }


def row(found: list[Answer]) -> list[str]:
    """The aims' figures on these answers."""
    figures = shares(found)
    rated = [a for a in found if a.record.female and not np.isnan(a.record.beauty) and not a.child]
    pearson = "—"
    if len(rated) > 10:
        r = float(np.corrcoef([a.beauty for a in rated], [a.record.beauty for a in rated])[0, 1])
        low, high = pearson_interval(r, len(rated))
        pearson = f"{r:.2f} [{low:.2f}–{high:.2f}]"
    names = ["women called men", "men refused", "children as children", "adults as children"]
    return [share_text(figures[name]) for name in names] + [pearson]


def passes(found: list[Answer], settings: dict) -> bool:
    """Whether the faces found at one height keep the rule's figures."""
    figures = {name: float(np.mean(hits)) for name, hits in shares(found).items() if hits}
    return (
        figures["children as children"] >= settings["children_at_least"]
        and figures["women called men"] <= settings["women_pooled_at_most"]
        and figures["FairFace women called men"] <= settings["women_fairface_at_most"]
    )


def smallest_height(mine: list[Answer], sizes: list[int], settings: dict) -> int:
    """The smallest measured height from which up every height keeps the rule's figures."""
    chosen = 0
    for height in sorted((h for h in sizes if h), reverse=True):
        if not passes([a for a in mine if a.height == height and a.found], settings):
            break
        chosen = height
    return chosen or max(sizes)


def main() -> None:
    settings = settings_of(globals(), sys.argv[1:])
    folders = settings["models"].split(",")
    specs = [ModelSpec.load(Path(folder)) for folder in folders]
    sizes = [int(h) for h in settings["heights"].split(",")]
    records = photos(
        Path(settings["data_dir"]), settings["per_source"], np.random.default_rng(settings["seed"])
    )
    every = answers(records, specs, sizes)
    print(f"{len(records)} validation photos, their largest face with the detail of a face")
    print("that many pixels tall (0: as it is). Shares with 95% intervals (count).\n")
    header = ["model", "face height", "source", "found", "women called men", "men refused"]
    header += ["children 0-9 as children", "adults 20+ as children", "beauty Pearson, women"]
    print("| " + " | ".join(header) + " |")
    print("|" + " --- |" * len(header))
    for folder, mine in zip(folders, every, strict=True):
        for height in sizes:
            at = [a for a in mine if a.height == height]
            for source in ("all", "utkface", "mebeauty", "fairface", "scut"):
                rows = [a for a in at if source == "all" or a.record.source == source]
                found = [a for a in rows if a.found]
                cells = [folder, str(height or "as sent"), source, f"{len(found) / len(rows):.1%}"]
                print("| " + " | ".join(cells + row(found)) + " |")
    print()
    for folder, mine in zip(folders, every, strict=True):
        height = smallest_height(mine, sizes, settings)
        why = (
            f"a face less than {height} pixels tall is too small to judge: the smallest measured "
            f"height from which up, on {len(records)} validation photos whose detail was reduced "
            f"to a face that tall, at least {settings['children_at_least']:.0%} of the children "
            f"under 10 are answered as children and at most {settings['women_pooled_at_most']:.0%}"
            f" of the women ({settings['women_fairface_at_most']:.0%} of FairFace's adult women) "
            "are called men (python -m training.small_faces)"
        )
        print(f"{folder}: {why}")
        if settings["write"]:
            path = Path(folder) / METADATA_FILE
            metadata = json.loads(path.read_text())
            metadata["small_faces"] = {"min_face_height": height, "why": why}
            path.write_text(json.dumps(metadata, indent=2, default=float) + "\n")


if __name__ == "__main__":
    main()
