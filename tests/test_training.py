"""The training and threshold code: the kind threshold rule, the label review, the beauty
teacher's regression, and the whole teacher, training, label-flagging and evaluation scripts
on a tiny slice of the real data (crops by the engine's aligner, the teacher's embeddings in
the peer environment, Keras, LiteRT export and parity, the validation tables written into
the model card)."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from training.datasets import Record, apply_review, load_label_review, utkface_records
from training.flag_labels import contradicted
from training.metrics import mae_interval, pearson_interval, wilson_interval
from training.teacher import fit_gender_probe, fit_ridge_cv
from training.thresholds import choose_thresholds

ROOT = Path(__file__).resolve().parent.parent


def _records(female: list[bool], groups: list[str]) -> list[Record]:
    return [Record(Path("x"), "utkface", "val", f, g) for f, g in zip(female, groups, strict=True)]


def test_threshold_keeps_women_called_men_within_half_the_bounds() -> None:
    rng = np.random.default_rng(0)
    female = rng.random(4000) < 0.5
    groups = rng.choice(["white", "black", "asian"], 4000).tolist()
    p = np.clip(np.where(female, rng.normal(0.85, 0.15, 4000), rng.normal(0.15, 0.15, 4000)), 0, 1)
    chosen = choose_thresholds(p, _records(female.tolist(), groups), beautiful=6.0)
    women = p[female]
    assert np.mean(women < chosen.female) <= 0.005
    for group in ("white", "black", "asian"):
        mask = female & (np.array(groups) == group)
        assert np.mean(p[mask] < chosen.female) <= 0.01
    assert np.mean(p[~female] < chosen.female) >= 0.9
    assert chosen.beautiful == 6.0 and "median" in chosen.why


def test_threshold_keeps_each_source_within_the_overall_bound() -> None:
    rng = np.random.default_rng(1)
    p = np.r_[rng.uniform(0.6, 1, 2000), rng.uniform(0, 0.3, 2000), [0.35, 0.45, 0.8]]
    female = np.r_[np.ones(2000, bool), np.zeros(2000, bool), [True, True, True]]
    records = [Record(Path("x"), "utkface", "val", bool(f), "white") for f in female[:4000]]
    records += [Record(Path("y"), "mebeauty", "val", True, "white") for _ in range(3)]
    chosen = choose_thresholds(p, records, beautiful=6.0)
    assert chosen.female <= 0.35 and "per source" in chosen.why


def test_utkface_names_are_parsed_and_split_stably(tmp_path: Path) -> None:
    for name in ("25_1_2_2017.jpg.chip.jpg", "40_0_0_2017.jpg.chip.jpg", "bad_name.jpg", "3_1.jpg"):
        (tmp_path / name).write_bytes(b"")
    records = utkface_records(tmp_path)
    assert [(r.female, r.ethnicity, r.age) for r in records] == [
        (True, "asian", 25.0),
        (False, "white", 40.0),
    ]
    assert [r.split for r in records] == [r.split for r in utkface_records(tmp_path)]


def test_label_review_relabels_and_leaves_out_in_the_records_order(tmp_path: Path) -> None:
    review = tmp_path / "review.csv"
    review.write_text(
        "file,split,given,p_female,decision,how\n"
        "a.jpg,val,male,0.990,female,looked\n"
        "b.jpg,train,male,0.990,drop,flagged\n"
        "c.jpg,val,female,0.500,female,looked\n"
    )
    records = [Record(Path(f"{n}.jpg"), "utkface", "val", False, "white") for n in "abcd"]
    reviewed = apply_review(records, load_label_review(review))
    assert [r and (r.path.name, r.female) for r in reviewed] == [
        ("a.jpg", True),
        None,
        ("c.jpg", True),
        ("d.jpg", False),
    ]
    looked_only = apply_review(records, load_label_review(review, flagged=False))
    assert [r and (r.path.name, r.female) for r in looked_only] == [
        ("a.jpg", True),
        ("b.jpg", False),
        ("c.jpg", True),
        ("d.jpg", False),
    ]
    review.write_text("file,split,given,p_female,decision,how\na.jpg,val,male,0.99,?,flagged\n")
    with pytest.raises(ValueError, match="decide female, male or drop for a"):
        load_label_review(review)


def test_the_shipped_label_review_only_drops_training_faces() -> None:
    with open(ROOT / "training" / "label_review.csv", newline="") as handle:
        review = list(csv.DictReader(handle))
    assert {r["decision"] for r in review if r["split"] == "train"} == {"drop"}
    assert all(r["how"] == "looked" for r in review if r["split"] == "val")
    assert len(load_label_review(ROOT / "training" / "label_review.csv")) == len(review)


def test_a_label_is_contradicted_only_beyond_its_cut() -> None:
    assert contradicted(0.99, female=False, male_cut=0.98, female_cut=0.1)
    assert not contradicted(0.97, female=False, male_cut=0.98, female_cut=0.1)
    assert contradicted(0.05, female=True, male_cut=0.98, female_cut=0.1)
    assert not contradicted(0.99, female=True, male_cut=0.98, female_cut=0.1)


def test_teacher_regression_recovers_a_linear_rating() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 16))
    y = 5 + x @ rng.normal(0.3, 0.1, 16) + rng.normal(0, 0.05, 300)
    ridge = fit_ridge_cv(x[:200], y[:200])
    assert np.corrcoef(ridge.predict(x[200:]), y[200:])[0, 1] > 0.99
    assert abs(float(np.mean(ridge.predict(x[200:]) - y[200:]))) < 0.05


def test_teacher_regression_shrinks_hard_when_the_ratings_are_noise() -> None:
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(60, 128)), rng.normal(6, 1, 60)
    ridge = fit_ridge_cv(x, y)
    assert ridge.alpha >= 300
    assert np.std(ridge.predict(x)) < 0.3 * np.std(y)
    assert abs(ridge.bias - y.mean()) < 1e-9


def test_gender_probe_recovers_a_logistic_model() -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(size=(4000, 8))
    weights = rng.normal(0, 1.5, 8)
    truth = 1 / (1 + np.exp(-(x @ weights - 0.5)))
    female = rng.random(4000) < truth
    probe = fit_gender_probe(x[:3000], female[:3000], penalty=0.1)
    assert np.corrcoef(probe.weights, weights)[0, 1] > 0.99
    assert np.mean(np.abs(probe.predict(x[3000:]) - truth[3000:])) < 0.02


def test_a_share_seen_in_few_faces_has_a_wide_interval() -> None:
    assert wilson_interval(0.0, 100) == pytest.approx((0.0, 0.037), abs=5e-4)
    low, high = wilson_interval(97 / 107, 107)
    assert low < 0.90 < 97 / 107 < high
    many = wilson_interval(0.9, 10_000)
    assert many[1] - many[0] < high - low


def test_correlation_and_error_intervals_contain_their_figures() -> None:
    low, high = pearson_interval(0.634, 119)
    assert low < 0.634 < high < 0.75
    errors = np.random.default_rng(3).normal(0, 1, 119)
    low, high = mae_interval(errors)
    assert low < np.mean(np.abs(errors)) < high


@pytest.mark.slow
def test_training_and_evaluation_on_a_tiny_slice(shared_data: Path, tmp_path: Path) -> None:
    pytest.importorskip("tensorflow")
    data = tmp_path / "data"
    (data / "utkface").mkdir(parents=True)
    for path in sorted((shared_data / "utkface").glob("*.jpg"))[::400]:
        (data / "utkface" / path.name).symlink_to(path)
    with open(shared_data / "mebeauty" / "scores.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    chosen = [r for r in rows if r["split"] == "train"][:24] + [
        r for r in rows if r["split"] == "val"
    ][:24]
    (data / "mebeauty").mkdir()
    (data / "mebeauty" / "images").symlink_to(shared_data / "mebeauty" / "images")
    with open(data / "mebeauty" / "scores.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(chosen)
    out = tmp_path / "models"
    command = [
        sys.executable,
        "-m",
        "training.train",
        f"--data_dir={data}",
        f"--out_dir={out}",
        f"--cache_dir={tmp_path / 'cache'}",
        "--epochs=1",
        "--head_epochs=1",
        "--beauty_epochs=1",
        "--batch_size=16",
        "--mebeauty_repeat=1",
        f"--peer_env={ROOT / '.cache' / 'peer-venv'}",
    ]
    weights = ROOT / ".cache" / "xinh" / "mobilenet_v2-b0353104.pth"
    if weights.exists():
        (tmp_path / "cache" / "xinh").mkdir(parents=True)
        (tmp_path / "cache" / "xinh" / weights.name).symlink_to(weights)
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    metadata = json.loads((out / "xinh-face.json").read_text())
    assert metadata["input"]["size"] == 112 and 0 < metadata["thresholds"]["female"] < 1
    assert max(metadata["training"]["litert_parity_max_abs"].values()) < 1e-3
    assert (out / "xinh_face.tflite").stat().st_size > 1_000_000
    log = (out / "training-log.txt").read_text()
    assert "command: python -m training.train" in log and "beauty teacher: ridge penalty" in log
    assert "beauty from the teacher" in metadata["training"]["data"]
    teacher_cache = sorted((tmp_path / "cache" / "teacher").glob("*-dlib.npz"))
    assert [p.name.split("-")[0] for p in teacher_cache] == ["mebeauty", "utkface"]

    cache = tmp_path / "cache"
    command = [sys.executable, "-m", "training.retune", f"--data_dir={data}", f"--models_dir={out}"]
    command.append(f"--cache_dir={cache}")
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    retuned = json.loads((out / "xinh-face.json").read_text())
    assert retuned["thresholds"] == metadata["thresholds"]
    assert retuned["training"]["retuned"].startswith("python -m training.retune --data_dir=")

    command = [
        sys.executable,
        "-m",
        "training.flag_labels",
        f"--data_dir={data}",
        f"--models_dir={out}",
        f"--cache_dir={cache}",
    ]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    candidates = (cache / "label-review-candidates.csv").read_text().splitlines()
    assert candidates[0] == "file,split,given,p_female,decision,how"
    assert (cache / "label-review-candidates.png").stat().st_size > 0

    card_before = "# Card\n\n<!-- metrics -->\nstale figures\n<!-- /metrics -->\n"
    (out / "MODEL_CARD.md").write_text(card_before)
    command = [
        sys.executable,
        "-m",
        "training.evaluate",
        f"--data_dir={data}",
        f"--models_dir={out}",
        "--peer=0",
    ]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    card = (out / "MODEL_CARD.md").read_text()
    assert "stale figures" not in card
    assert "| target (issue 3) | goal | validation | 95% interval | met |" in card
    assert card.endswith("<!-- /metrics -->\n") and "Beauty (MEBeauty" in card
    assert "On the dataset's own labels: gender accuracy" in card
    assert (out / "roc_by_ethnicity.png").stat().st_size > 0
    assert (out / "beauty_scatter.png").stat().st_size > 0
