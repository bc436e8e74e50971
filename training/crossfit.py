"""Compare models by figures that do not turn on single faces: the operating point cross-fitted
on the validation faces.

Figures measured at thresholds chosen on the very same faces move with one or two of them (the
gender threshold is held by a few of FairFace's 61 Black validation women). Here each source's
validation faces are cut into `folds` parts (women and men apart); the thresholds are chosen
by the shipped rule (training/thresholds.py) on all parts but one and applied to that one, so
every face is answered at thresholds chosen without it; `repeats` such cuttings are averaged.
The first model named is the shipped one, and every other is held against it by the ship rule
(`ship_verdict`). A name joining model folders with "+" is the mean of those models' answers.

    python -m training.crossfit --models=models,/tmp/run2,models+/tmp/run3
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

from training.aims import AIMS
from training.configurator import settings_of
from training.datasets import Record, all_records
from training.metrics import evaluate_predictions, is_adult
from training.thresholds import beautiful_cut, choose_thresholds
from training.validation import (
    SourceAnswers,
    all_answers,
    mean_answers,
    validation_answers,
    validation_faces,
)
from xinh.inference.face_model import ModelSpec

# --- settings (override any as --name=value) ---------------------------------------------
data_dir = "../shared/data"
cache_dir = ".cache"
label_review = "training/label_review.csv"  # reviewed UTKFace labels ("" for the raw ones)
models = "models"  # comma-separated; the first is the shipped model, "a+b" the mean of two
folds = 5
repeats = 100
seed = 1337
# -------------------------------------------------------------------------------------------

MAX_DROP = 0.01  # the ship rule: no other short figure lower by more than a point
CHOSEN_AIM = "men refused, FairFace adults (20+)"  # the figure a new model must raise


def fold_of(records: list[Record], folds: int, rng: np.random.Generator) -> np.ndarray:
    """Each face's part, 0..folds-1: every source's women and men dealt out evenly at random."""
    part = np.zeros(len(records), dtype=int)
    keys = np.array([f"{r.source} {r.female}" for r in records])
    for key in np.unique(keys):
        rows = rng.permutation(np.flatnonzero(keys == key))
        part[rows] = np.arange(len(rows)) % folds
    return part


def cross_fitted(every: SourceAnswers, part: np.ndarray, beautiful: float) -> SourceAnswers:
    """`every`'s answers as margins over thresholds chosen without them: probability minus the
    gender cut, age minus the child cut, both chosen on the other parts. A cut of 0 then
    decides each face as its own part's thresholds do."""
    female, age = every.female.copy(), every.age.copy()
    for k in np.unique(part):
        rest = np.flatnonzero(part != k)
        chosen = choose_thresholds(
            every.female[rest], [every.records[i] for i in rest], beautiful, every.age[rest]
        )
        mine = part == k
        female[mine] -= chosen.female
        age[mine] -= chosen.child_age
    return replace(every, female=female, age=age)


def figures(answers: SourceAnswers, female_cut: float, child_cut: float) -> dict[str, float]:
    """Every aim's figure for these answers at these cuts."""
    metrics = {}
    for source in dict.fromkeys(r.source for r in answers.records):
        rows = [i for i, r in enumerate(answers.records) if r.source == source]
        metrics[source] = _metrics(answers, rows, female_cut, child_cut)
    adults = [i for i, r in enumerate(answers.records) if r.source == "fairface" and is_adult(r)]
    metrics["fairface adults"] = _metrics(answers, adults, female_cut, child_cut)
    return {aim.name: float(aim.figure(metrics).value) for aim in AIMS}


def _metrics(answers: SourceAnswers, rows: list[int], female_cut: float, child_cut: float) -> dict:
    """`evaluate_predictions` on these rows of the answers."""
    outputs = {k: v[rows] for k, v in answers.outputs().items()}
    records = [answers.records[i] for i in rows]
    return evaluate_predictions(outputs, records, female_cut, child_cut)


def ship_verdict(base: dict[str, float], candidate: dict[str, float]) -> list[str]:
    """Why `candidate` may not replace `base` (empty: it may): it must meet every aim `base`
    meets, raise the chosen figure, and lower no other figure `base` misses by more than
    MAX_DROP."""
    reasons = []
    for aim in AIMS:
        was, now = base[aim.name], candidate[aim.name]
        drop = was - now if aim.at_least else now - was
        if aim.met(was) and not aim.met(now):
            reasons.append(f"misses {aim.name} ({now:.3f}), which the shipped model meets")
        elif not aim.met(was) and aim.name != CHOSEN_AIM and drop > MAX_DROP + 1e-9:
            reasons.append(f"lowers {aim.name} by {drop:.3f}")
    if candidate[CHOSEN_AIM] <= base[CHOSEN_AIM]:
        reasons.append(f"does not raise {CHOSEN_AIM}")
    return reasons


def crossfit_figures(
    every: SourceAnswers, beautiful: float, folds: int, repeats: int, seed: int
) -> dict[str, float]:
    """Each aim's figure, averaged over `repeats` cross-fittings of `folds` parts (the same
    cuttings for every model given the same `seed`)."""
    rng = np.random.default_rng(seed)
    runs = []
    for _ in range(repeats):
        margins = cross_fitted(every, fold_of(every.records, folds, rng), beautiful)
        runs.append(figures(margins, 0.0, 0.0))
    return {aim.name: float(np.mean([run[aim.name] for run in runs])) for aim in AIMS}


def aged_spec(models_dir: Path) -> ModelSpec:
    """The model in `models_dir`, which must estimate ages (the aims include children's)."""
    spec = ModelSpec.load(models_dir)
    if spec.child_age is None:
        raise SystemExit(f"{models_dir} estimates no age: pick models with an age head (2.0.0 on).")
    return spec


def models_answers(
    folders: list[str], records: dict[str, list[Record]], crops: Path, label_review: str
) -> dict[str, dict[str, SourceAnswers]]:
    """Each model's answers on the validation faces, read from crops of the model's own size and
    margin; models of different input sizes answer the same faces (one detector finds them)."""
    specs = {folder: aged_spec(Path(folder)) for folder in folders}
    faces = {
        crop: validation_faces(records, *crop, crops, label_review)
        for crop in dict.fromkeys((spec.input_size, spec.margin) for spec in specs.values())
    }
    first = next(iter(faces.values()))
    for other in faces.values():
        for source, part in other.items():
            if part.records != first[source].records:
                raise SystemExit(f"{source}: the crop caches of {list(faces)} hold different faces")
    return {
        folder: validation_answers(spec, faces[(spec.input_size, spec.margin)])
        for folder, spec in specs.items()
    }


def main() -> None:
    settings = settings_of(globals(), sys.argv[1:])
    records, _ = all_records(Path(settings["data_dir"]))
    beautiful = beautiful_cut([r for s in ("mebeauty", "scut") for r in records[s]])
    names = settings["models"].split(",")
    folders = list(dict.fromkeys(folder for name in names for folder in name.split("+")))
    answers = models_answers(
        folders, records, Path(settings["cache_dir"]) / "crops", settings["label_review"]
    )
    table = {}
    for name in names:
        every = all_answers(mean_answers([answers[folder] for folder in name.split("+")]))
        table[name] = crossfit_figures(
            every, beautiful, settings["folds"], settings["repeats"], settings["seed"]
        )
        print(f"{name}: cross-fitted", flush=True)
    print(f"\nMean of {settings['repeats']} cross-fittings of {settings['folds']} parts each:")
    print(f"{'aim':58s}" + "".join(f"{n[-16:]:>17s}" for n in names))
    for aim in AIMS:
        bound = f"{aim.name} {'>=' if aim.at_least else '<='} {aim.bound:g}"
        print(f"{bound:58s}" + "".join(f"{table[n][aim.name]:>17.4f}" for n in names))
    for name in names[1:]:
        reasons = ship_verdict(table[names[0]], table[name])
        print(f"{name}: " + ("passes the ship rule" if not reasons else "; ".join(reasons)))


if __name__ == "__main__":
    main()
