"""One array computed once and kept in `.cache`: the models' and the peer's views of photos."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np


def cached_array(stored: Path, compute: Callable[[], np.ndarray]) -> np.ndarray:
    """The array saved at `stored` (a .npy file), else `compute()`'s, saved there first."""
    if stored.exists():
        return np.load(stored)
    array = compute()
    stored.parent.mkdir(parents=True, exist_ok=True)
    np.save(stored, array)
    return array
