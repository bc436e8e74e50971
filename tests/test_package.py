"""Xinh as a package: one version for the package and its model, and a wheel that carries the
model files under one `xinh` namespace, without the TensorFlow training code."""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_package_and_model_share_one_version() -> None:
    model = json.loads((ROOT / "models" / "xinh-face.json").read_text())["version"]
    assert importlib.metadata.version("xinh") == model
    assert f"version {model}" in (ROOT / "models" / "MODEL_CARD.md").read_text()


def test_the_wheel_carries_the_models_under_one_namespace(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("xinh-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert tops == {"xinh"}
    for expected in (
        "xinh/models/xinh-face.json",
        "xinh/models/xinh_face.tflite",
        "xinh/models/peer_gender.tflite",
        "xinh/models/peer_gender-NOTICE.md",
        "xinh/models/blazeface/face_detection_short_range.tflite",
        "xinh/models/blazeface/face_detection_full_range.tflite",
        "xinh/models/blazeface/NOTICE",
        "xinh/locales/en.toml",
        "xinh/bots/demo_static/page.html",
        "xinh/inference/engine.py",
    ):
        assert expected in names
    assert not any("training" in name or "tensorflow" in name for name in names)
