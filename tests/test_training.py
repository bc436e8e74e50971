"""The training and threshold code: the kind threshold rule and the child cut, the four
sources' records and the one beauty scale, the settings parser, the losses, the label review,
the beauty teacher's regression, the peer gender model's answers, and the whole training,
peer-joining, retuning, cross-fitting, label-flagging and evaluation scripts on a tiny slice of
the real data (crops by the engine's aligner, Keras, LiteRT export and parity, the validation
tables written into the model card)."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from training.age_and_gender import peer_female
from training.configurator import settings_of
from training.datasets import (
    Record,
    age_group_bounds,
    apply_review,
    crop_cache_path,
    fairface_records,
    load_label_review,
    mebeauty_records,
    scut_records,
    utkface_records,
)
from training.flag_labels import contradicted
from training.metrics import (
    age_group,
    evaluate_predictions,
    mae_interval,
    pearson_interval,
    wilson_interval,
)
from training.retune import logit_clip_of, mirror_when_of
from training.teacher import fit_gender_probe, fit_ridge_cv
from training.thresholds import child_age_cut, choose_thresholds
from xinh.inference.face_model import MirrorWhen
from xinh.inference.model_files import models_dir

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
    assert chosen.female <= 0.35 and "per studio source" in chosen.why


def test_threshold_keeps_old_everyday_women_within_their_age_group_bound() -> None:
    rng = np.random.default_rng(2)
    studio = [Record(Path("s"), "scut", "val", bool(i % 2), "asian") for i in range(2000)]
    p = [0.9 if r.female else rng.uniform(0, 0.2) for r in studio]
    old = [Record(Path("f"), "fairface", "val", True, "white", 60.0, 70.0) for _ in range(50)]
    p += [0.3, 0.45] + [0.9] * 48  # two of fifty women in their sixties look male-ish
    young = [Record(Path("f"), "fairface", "val", True, "white", 20.0, 30.0) for _ in range(400)]
    p += [0.9] * 400
    chosen = choose_thresholds(np.array(p), studio + old + young, beautiful=6.0)
    assert 0.3 < chosen.female <= 0.45  # one of fifty is 2%, within half of 4%; two is not
    assert chosen.child_age is None


def test_child_cut_leans_towards_refusing_within_the_adults_bound() -> None:
    adults = [Record(Path("u"), "utkface", "val", True, "white", a, a) for a in range(20, 70)] * 4
    kids = [Record(Path("f"), "fairface", "val", True, "white", 3.0, 10.0)] * 50
    age = np.r_[np.linspace(19.0, 70.0, len(adults)), np.full(50, 6.0)]
    cut = child_age_cut(age, adults + kids)
    assert np.mean(age[: len(adults)] < cut) <= 0.015
    assert 15 <= cut <= 20


def test_fairface_age_groups_are_year_intervals() -> None:
    assert age_group_bounds("0-2") == (0.0, 3.0)
    assert age_group_bounds("3-9") == (3.0, 10.0)
    assert age_group_bounds("70+") == (70.0, 100.0)
    known = Record(Path("x"), "utkface", "val", True, "white", 15.0, 15.0)
    group = Record(Path("x"), "fairface", "val", True, "white", 60.0, 70.0)
    scut = Record(Path("x"), "scut", "val", True, "asian", 15.0, 61.0)
    assert [age_group(r) for r in (known, group, scut)] == ["10-19", "60-69", "unknown"]


def test_fairface_and_scut_records_split_stably_and_share_one_beauty_scale(
    tmp_path: Path,
) -> None:
    (tmp_path / "fairface").mkdir()
    (tmp_path / "fairface" / "labels.csv").write_text(
        "image,gender,race,age\nimages/1.jpg,female,southeast_asian,70+\n"
        "images/2.jpg,male,black,3-9\n"
    )
    faces = fairface_records(tmp_path / "fairface")
    assert [(r.female, r.ethnicity, r.age_low, r.age_high) for r in faces] == [
        (True, "southeast_asian", 70.0, 100.0),
        (False, "black", 3.0, 10.0),
    ]
    assert [r.split for r in faces] == [r.split for r in fairface_records(tmp_path / "fairface")]
    (tmp_path / "mebeauty").mkdir()
    (tmp_path / "mebeauty" / "scores.csv").write_text(
        "image,gender,ethnicity,score,split\n"
        + "".join(f"m{i}.jpg,female,asian,{4 + 2 * (i % 2)},train\n" for i in range(40))
    )
    (tmp_path / "scut").mkdir()
    (tmp_path / "scut" / "scores.csv").write_text(
        "image,gender,ethnicity,score\n"
        + "".join(f"s{i}.jpg,female,asian,{2 + (i % 2)}\n" for i in range(200))
    )
    scut, scale = scut_records(tmp_path / "scut", mebeauty_records(tmp_path / "mebeauty"))
    assert scale(2.0) == pytest.approx(4.0, abs=0.1) and scale(3.0) == pytest.approx(6.0, abs=0.1)
    assert sorted({round(r.beauty, 6) for r in scut}) == [
        round(scale(2.0), 6),
        round(scale(3.0), 6),
    ]
    assert 0 < sum(r.split == "val" for r in scut) < 60


def test_on_off_settings_parse_true_and_false() -> None:
    defaults = {"review_flagged": False, "mirror_average": True, "epochs": 7}
    given = ["--review_flagged=true", "--mirror_average=false", "--epochs=2"]
    assert settings_of(defaults, given) == {
        "review_flagged": True,
        "mirror_average": False,
        "epochs": 2,
    }
    assert settings_of(defaults, ["--review_flagged=1"])["review_flagged"] is True
    with pytest.raises(SystemExit, match="give true or false"):
        settings_of(defaults, ["--review_flagged=maybe"])


def test_age_loss_is_zero_inside_the_interval_and_grows_outside() -> None:
    pytest.importorskip("tensorflow")
    from training.losses import NO_AGE, interval_mse, weighted_bce

    truth = np.array([[1.0, 2.0], [1.0, 2.0], [NO_AGE, NO_AGE]], np.float32)
    assert float(interval_mse(truth, np.array([1.5, 1.5, 9.0], np.float32))) == 0.0
    assert float(interval_mse(truth, np.array([3.0, 0.0, 9.0], np.float32))) == pytest.approx(1.0)
    kind = weighted_bce(4.0)
    woman, man, child = (np.array([v], np.float32) for v in (1.0, 0.0, -1.0))
    miss = np.array([0.2], np.float32)
    assert float(kind(woman, 1 - miss)) > float(kind(man, miss)) * 3.9
    assert float(kind(child, miss)) == 0.0


def test_utkface_names_are_parsed_and_split_stably(tmp_path: Path) -> None:
    for name in ("25_1_2_2017.jpg.chip.jpg", "40_0_0_2017.jpg.chip.jpg", "bad_name.jpg", "3_1.jpg"):
        (tmp_path / name).write_bytes(b"")
    records = utkface_records(tmp_path)
    assert [(r.female, r.ethnicity, r.age) for r in records] == [
        (True, "asian", 25.0),
        (False, "white", 40.0),
    ]
    assert [r.split for r in records] == [r.split for r in utkface_records(tmp_path)]


def test_crops_made_by_another_detector_are_cached_apart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = utkface_records(ROOT / "tests" / "data")
    today = crop_cache_path(records, 112, 0.25, tmp_path, "utkface")
    assert today == crop_cache_path(records, 112, 0.25, tmp_path, "utkface")
    other_model = tmp_path / "other.tflite"
    other_model.write_bytes(b"another detector")
    monkeypatch.setattr("training.datasets.detector_files", lambda: (other_model,))
    assert crop_cache_path(records, 112, 0.25, tmp_path, "utkface") != today


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


def test_men_refused_is_reported_per_ethnicity_and_age_group() -> None:
    ages = [(25.0, 30.0), (25.0, 30.0), (60.0, 70.0), (60.0, 70.0), (25.0, 30.0)]
    records = [
        Record(Path("x"), "fairface", "val", f, g, age_low=low, age_high=high)
        for f, g, (low, high) in zip(
            [False, False, False, True, True],
            ["asian", "asian", "white", "white", "asian"],
            ages,
            strict=True,
        )
    ]
    p_female = np.array([0.2, 0.7, 0.1, 0.9, 0.8])
    metrics = evaluate_predictions({"female": p_female}, records, threshold=0.5)
    assert metrics["men_refused_by_ethnicity"] == {"asian": 0.5, "white": 1.0}
    assert metrics["men_by_ethnicity"] == {"asian": 2, "white": 1}
    assert metrics["men_refused_by_age"] == {"20-29": 0.5, "60-69": 1.0}
    assert metrics["women_by_age"] == {"20-29": 1, "60-69": 1}


def test_the_peers_answer_is_read_per_photo_and_nan_where_it_finds_no_face(
    tmp_path: Path,
) -> None:
    fake_peer = tmp_path / "python"
    fake_peer.write_text(
        "#!/bin/sh\n"
        "while read path; do\n"
        '  case "$path" in *none*) p=null ;; *) p=0.25 ;; esac\n'
        '  echo "{\\"path\\": \\"$path\\", \\"p_female\\": $p, \\"seconds\\": 0}"\n'
        "done\n"
    )
    fake_peer.chmod(0o755)
    paths = [Path("a.jpg"), Path("none.jpg"), Path("b.jpg")]
    np.testing.assert_array_equal(peer_female(paths, fake_peer), [0.25, np.nan, 0.25])


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


def _slice(shared: Path, data: Path, name: str, table: str, step: int) -> None:
    """Every `step`-th row of one source's label table, its images linked, under `data`."""
    with open(shared / name / table, newline="") as handle:
        rows = list(csv.DictReader(handle))
    (data / name).mkdir(parents=True)
    (data / name / "images").symlink_to(shared / name / "images")
    with open(data / name / table, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows[::step])


@pytest.mark.slow
def test_training_and_evaluation_on_a_tiny_slice(shared_data: Path, tmp_path: Path) -> None:
    pytest.importorskip("tensorflow")
    data = tmp_path / "data"
    (data / "utkface").mkdir(parents=True)
    for path in sorted((shared_data / "utkface").glob("*.jpg"))[::400]:
        (data / "utkface" / path.name).symlink_to(path)
    _slice(shared_data, data, "mebeauty", "scores.csv", 40)
    _slice(shared_data, data, "fairface", "labels.csv", 40)
    _slice(shared_data, data, "scut", "scores.csv", 40)
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
        "--batch_size=16",
        "--mebeauty_repeat=1",
    ]
    weights = ROOT / ".cache" / "xinh" / "mobilenet_v2-b0353104.pth"
    if weights.exists():
        (tmp_path / "cache" / "xinh").mkdir(parents=True)
        (tmp_path / "cache" / "xinh" / weights.name).symlink_to(weights)
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    metadata = json.loads((out / "xinh-face.json").read_text())
    assert metadata["input"]["size"] == 112 and 0 < metadata["thresholds"]["female"] < 1
    assert 8 <= metadata["thresholds"]["child_age"] <= 20
    assert set(metadata["training"]["litert_parity_max_abs"]) == {"female", "beauty", "log_age"}
    assert max(metadata["training"]["litert_parity_max_abs"].values()) < 1e-3
    assert (out / "xinh_face.tflite").stat().st_size > 1_000_000
    log = (out / "training-log.txt").read_text()
    assert "command: python -m training.train" in log and "train faces from scut" in log
    assert "FairFace" in metadata["training"]["data"] and metadata["beauty_scale"]["scut_slope"] > 1

    cache = tmp_path / "cache"
    command = [sys.executable, "-m", "training.retune", f"--data_dir={data}", f"--models_dir={out}"]
    command.append(f"--cache_dir={cache}")
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    retuned = json.loads((out / "xinh-face.json").read_text())
    assert retuned["thresholds"] == metadata["thresholds"]  # LiteRT chooses as Keras did
    assert retuned["training"]["retuned"].startswith("python -m training.retune --data_dir=")

    peer_command = [sys.executable, "-m", "training.peer_network", f"--models_dir={out}"]
    run = subprocess.run(peer_command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    metadata = json.loads((out / "xinh-face.json").read_text())
    assert (out / metadata["peer"]["model_file"]).is_file()
    assert metadata["peer"]["litert_parity_max_abs"] < 2e-3  # half-precision weights
    run = subprocess.run(
        [*command, "--mirror_when=0,1,0,200"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stderr[-3000:]
    everywhere = json.loads((out / "xinh-face.json").read_text())
    assert everywhere["input"]["mirror_when"] == {"female_between": [0, 1], "age_between": [0, 200]}
    assert everywhere["thresholds"] == metadata["thresholds"]  # every face still looks twice
    run = subprocess.run(
        [*command, "--logit_clip=3"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stderr[-3000:]
    clipped = json.loads((out / "xinh-face.json").read_text())
    assert clipped["peer"]["logit_clip"] == 3.0 and "clipped to +-3" in clipped["peer"]["join"]

    command = [sys.executable, "-m", "training.crossfit", f"--data_dir={data}", "--repeats=2"]
    command += [f"--cache_dir={cache}", f"--models={out},{out}+{models_dir()}"]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "Mean of 2 cross-fittings of 5 parts each" in run.stdout
    assert f"{out}+{models_dir()}: " in run.stdout

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
        "--peer=false",
    ]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    card = (out / "MODEL_CARD.md").read_text()
    assert "stale figures" not in card
    assert "| target (issue 19) | goal | validation | 95% interval | met |" in card
    assert card.endswith("<!-- /metrics -->\n") and "| scut val | women |" in card
    assert "Women called men by age group" in card
    assert "Men refused by ethnicity" in card and "Men refused by age group" in card
    assert "On the dataset's own labels: gender accuracy" in card
    assert (out / "roc_by_ethnicity.png").stat().st_size > 0
    assert (out / "beauty_scatter.png").stat().st_size > 0


def test_retune_reads_the_join_clip() -> None:
    assert logit_clip_of("none") is None
    assert logit_clip_of("3") == 3.0
    for wrong in ("-1", "three", "nan"):
        with pytest.raises(SystemExit, match="positive number"):
            logit_clip_of(wrong)


def test_retune_reads_where_the_main_network_looks_again() -> None:
    assert mirror_when_of("always") is None
    assert mirror_when_of("0.05,0.8,11,22") == MirrorWhen((0.05, 0.8), (11.0, 22.0))


def test_the_low_resolution_augmentation_keeps_the_crop_and_loses_its_detail() -> None:
    import tensorflow as tf

    from training.augment import Augmentation

    pixels = np.random.default_rng(0).integers(0, 256, (112, 112, 3)).astype(np.float32)
    shrunk = Augmentation(112, erase_prob=0.0, lowres_prob=1.0).shrink(tf.constant(pixels))
    assert shrunk.shape == (112, 112, 3)
    assert float(np.std(shrunk)) < np.std(pixels) / 2  # noise averages away at 24-80 pixels
    assert abs(float(np.mean(shrunk)) - np.mean(pixels)) < 2  # the light stays


def test_the_smallest_face_height_is_where_every_taller_height_keeps_the_rule() -> None:
    from training.small_faces import Answer, smallest_height

    def at(height: int, children_right: int) -> list[Answer]:
        child = Record(Path("c.jpg"), "fairface", "val", True, "white", 3.0, 10.0)
        woman = Record(Path("w.jpg"), "fairface", "val", True, "white", 30.0, 40.0)
        kids = [Answer(child, height, True, child=n < children_right) for n in range(10)]
        return kids + [Answer(woman, height, True, female=True)] * 10

    rule = {"children_at_least": 0.9, "women_pooled_at_most": 0.02, "women_fairface_at_most": 0.03}
    answers = at(64, 10) + at(48, 9) + at(32, 7) + at(24, 10)
    assert smallest_height(answers, [0, 24, 32, 48, 64], rule) == 48
    assert smallest_height(at(64, 5), [0, 64], rule) == 64


def test_new_surroundings_fill_only_what_lies_beyond_the_photo() -> None:
    import tensorflow as tf

    from training.augment import Surroundings
    from training.datasets import beyond_photo

    shift_right = np.array([[1.0, 0.0, 40.0], [0.0, 1.0, 0.0]])  # the photo starts at x = 40
    beyond = beyond_photo((112, 200, 3), shift_right, 112)
    assert beyond[:, :40].all() and not beyond[:, 40:].any()
    pixels = np.full((112, 112, 3), 7, np.uint8)
    other = np.full((112, 112, 3), 200, np.uint8)
    tf.random.set_seed(0)
    fills = set()
    for _ in range(20):
        filled = Surroundings(prob=1.0)(tf.constant(pixels), tf.constant(beyond), other).numpy()
        np.testing.assert_array_equal(filled[:, 40:], pixels[:, 40:])
        fills.add("other" if (filled[:, :40] == 200).all() else "noise or colour")
    assert fills == {"other", "noise or colour"}
    unchanged = Surroundings(prob=0.0)(tf.constant(pixels), tf.constant(beyond), other)
    np.testing.assert_array_equal(np.asarray(unchanged), pixels)


def test_share_text_gives_the_share_its_interval_and_count() -> None:
    from training.metrics import share_text

    assert share_text([True, False, False, False]) == "25.0% [4.6%–69.9%] (4)"
    assert share_text([]) == "—"
