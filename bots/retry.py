"""Reaching a chat platform at start, as a service should: keep trying until it works.

With the network down, each failed try logs one line (the exception's class, never its
message, which may carry a URL with a token) and the next waits longer, up to a minute,
until a try succeeds or the bot is stopped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

FIRST_DELAY_S = 1.0
MAX_DELAY_S = 60.0

logger = logging.getLogger(__name__)


async def until_reached(
    attempt: Callable[[], Awaitable[object]],
    retry_on: tuple[type[BaseException], ...],
    stopped: asyncio.Event,
    platform: str,
    first_delay: float = FIRST_DELAY_S,
) -> bool:
    """True once `attempt()` succeeds, trying again after each failure in `retry_on` with a
    doubling delay; False as soon as `stopped` is set, even in the middle of a try."""
    delay = first_delay
    while not stopped.is_set():
        trying = asyncio.ensure_future(attempt())
        stopping = asyncio.ensure_future(stopped.wait())
        await asyncio.wait((trying, stopping), return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if not trying.done():
            trying.cancel()
            await asyncio.gather(trying, return_exceptions=True)
            return False
        try:
            trying.result()
            return True
        except retry_on as exc:
            logger.warning(
                "%s unreachable (%s): retrying in %.0f s", platform, type(exc).__name__, delay
            )
        try:
            await asyncio.wait_for(stopped.wait(), delay)
        except TimeoutError:
            delay = min(delay * 2, MAX_DELAY_S)
    return False
