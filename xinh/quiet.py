"""Keeping the terminal to Xinh's own words: native libraries' banners silenced."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Hide what native code writes to stderr meanwhile: LiteRT prints "INFO: Created
    TensorFlow Lite XNNPACK delegate for CPU." once per process as its first model loads.
    Use it only while no other thread may have something to say (before serving)."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
