"""Whether a shared dependency (Redis) is failing, so callers fall back instead of waiting on it.

The first failure logs one line and pauses the dependency for `retry_after` seconds: during the
pause callers use their local fallback at once, without a network round trip; the first call
after it tries again. Recovery logs one line too. Nothing is logged per update.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

RETRY_AFTER_S = 5.0

logger = logging.getLogger(__name__)


class Outage:
    """One dependency's state: up, or down since a given time, with the fallback it falls to."""

    def __init__(
        self,
        name: str,
        fallback: str,
        retry_after: float = RETRY_AFTER_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.fallback = fallback
        self.retry_after = retry_after
        self._clock = clock
        self._down_since: float | None = None
        self._retry_at = 0.0

    @property
    def down(self) -> bool:
        """True from the first failure until a call succeeds again."""
        return self._down_since is not None

    def should_try(self) -> bool:
        """False while paused after a failure: use the fallback without trying."""
        return self._clock() >= self._retry_at

    def failed(self, error: BaseException) -> None:
        """Record a failure: one log line when it goes down, and a pause before the next try."""
        now = self._clock()
        self._retry_at = now + self.retry_after
        if self._down_since is None:
            self._down_since = now
            logger.warning(
                "%s unreachable (%s): %s; retrying every %.0f s",
                self.name,
                type(error).__name__,
                self.fallback,
                self.retry_after,
            )

    def succeeded(self) -> None:
        """Record a success: one log line if it was down."""
        if self._down_since is not None:
            logger.info(
                "%s reachable again after %.0f s", self.name, self._clock() - self._down_since
            )
            self._down_since = None
