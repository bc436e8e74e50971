"""A photo's work budget: a deadline and a stop signal that a worker checks between steps.

Threads cannot be interrupted from outside, so the budget is cooperative: the detector checks
it before each model pass and the engine between stages, and the worker stops itself.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass


class OutOfTime(Exception):
    """The photo's deadline passed or its engine is closing: the worker stops here."""


@dataclass(frozen=True, slots=True)
class Deadline:
    """When a photo's work must stop (`time.monotonic()` seconds), or when `stop` is set."""

    at: float
    stop: threading.Event | None = None

    @classmethod
    def after(cls, seconds: float, stop: threading.Event | None = None) -> Deadline:
        return cls(time.monotonic() + seconds, stop)

    def check(self) -> None:
        """Raise OutOfTime once the deadline has passed or the stop signal is set."""
        if time.monotonic() >= self.at or (self.stop is not None and self.stop.is_set()):
            raise OutOfTime
