"""Keeping the terminal to Xinh's own words: LiteRT's start-up banner silenced."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Hide what native code writes to stderr meanwhile. Use it only while no other thread may
    have something to say (before serving)."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def litert_banner_spent() -> None:
    """Load the smallest model once with stderr hidden: LiteRT prints "INFO: Created TensorFlow
    Lite XNNPACK delegate for CPU." once per process, at its first model, so later loads (in any
    thread, the bots' included) print nothing. Call it before any thread starts."""
    from ai_edge_litert.interpreter import Interpreter

    from xinh.inference.model_files import detector_files

    with native_stderr_silenced():
        Interpreter(model_path=str(detector_files()[1]), num_threads=1).allocate_tensors()
