"""One photo flow for every front end: check, fetch, analyse, compose, send, count.

A front end finds the image and what the platform says of it (`Photo`), and supplies what
only it can do: show it is working, fetch the bytes, send the reply. `PhotoFlow.answer` does
the rest in one order everywhere. Checks come before anything is fetched: shutting down or the
engine full (`busy`), then the rate limit, the declared size and the declared kind.

At shutdown `stop` turns new photos away with the `busy` line and gives photos in flight until
the grace period, less a margin for sending the last replies; any still working then answer
`busy` too. `finished` waits for them, never longer than the grace.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field

from xinh.bots.observability import Metrics
from xinh.bots.ratelimit import RateLimiter
from xinh.bots.replies import Platform, Refusal, Reply, compose, refuse
from xinh.inference.engine import Engine
from xinh.inference.types import Analysis, Outcome
from xinh.locales import Catalog

SHUTDOWN_GRACE_S = 10.0
REPLY_MARGIN_S = 2.0  # of the grace, kept for sending the replies of photos cut off

Fetch = Callable[[], Awaitable[bytes | None]]
Send = Callable[[Reply], Awaitable[None]]
Working = Callable[[], Awaitable[None]]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Photo:
    """A photo someone asked about, before it is fetched.

    `sender` is whom the rate limit counts; `size` and `is_image` are what the platform
    declares (None: it does not say), checked before any byte is fetched."""

    sender: Hashable
    size: int | None = None
    is_image: bool = True


async def _nothing() -> None:
    """The default `working` signal: none."""


@dataclass(slots=True)
class PhotoFlow:
    """The flow shared by every front end of one process (one per platform)."""

    platform: Platform
    engine: Engine
    catalog: Catalog
    limiter: RateLimiter | None = None  # None: no rate limit (the demo on a loopback address)
    metrics: Metrics | None = None
    _stop_at: float | None = field(default=None, init=False)
    _deadlines: set[asyncio.Timeout] = field(default_factory=set, init=False)
    _answering: set[asyncio.Task] = field(default_factory=set, init=False)

    @property
    def accepting(self) -> bool:
        """False once `stop` was called: new photos get the `busy` line."""
        return self._stop_at is None

    async def check(self, photo: Photo | None) -> Refusal | None:
        """Why `photo` is turned away before it is fetched, or None to go ahead.

        Counts one photo against the sender's limit when it gets that far."""
        if photo is None:
            return Refusal.NOT_IMAGE
        options = self.engine.options
        if not self.accepting or self.engine.queue_depth >= options.workers + options.queue_limit:
            return Refusal.BUSY
        if self.limiter is not None and not await self.limiter.allow(photo.sender):
            return Refusal.RATE_LIMITED
        if photo.size is not None and photo.size > options.limits.max_bytes:
            return Refusal.TOO_LARGE
        if not photo.is_image:
            return Refusal.NOT_IMAGE
        return None

    async def answer(
        self,
        photo: Photo | None,
        language: str,
        fetch: Fetch,
        send: Send | None = None,
        working: Working = _nothing,
    ) -> Reply:
        """Answer one photo: check, then `working()`, `fetch()` (None: over the size limit),
        the engine, the reply in `language`, `send(reply)`; returns the reply sent.

        Exceptions from `fetch` and `send` reach the caller, whose error handler answers."""
        started = time.monotonic()
        task = asyncio.current_task()
        if task is not None:
            self._answering.add(task)
        try:
            refusal = await self.check(photo)
            if refusal is None:
                reply = await self._rate(language, fetch, working)
            else:
                reply = self.refusal(refusal, language)
            if send is not None:
                await send(reply)
        finally:
            self._answering.discard(task)
        seconds = time.monotonic() - started
        if self.metrics is not None:
            self.metrics.photo(self.platform.value, reply.outcome.value, seconds)
        logger.info("%s photo answered: %s in %.2f s", self.platform, reply.outcome, seconds)
        return reply

    def refusal(self, refusal: Refusal, language: str) -> Reply:
        """The platform's kind line for `refusal` in `language`."""
        limit = self.limiter.limit if self.limiter is not None else 0
        return refuse(
            refusal, language, self.catalog, self.engine.options.limits, self.platform, limit
        )

    async def _rate(self, language: str, fetch: Fetch, working: Working) -> Reply:
        """Fetch and analyse within the shutdown deadline, then compose off the event loop."""
        try:
            async with asyncio.timeout_at(self._stop_at) as deadline:
                self._deadlines.add(deadline)
                try:
                    await working()
                    data = await fetch()
                    if data is None:
                        analysis = Analysis(Outcome.TOO_LARGE)
                    else:
                        analysis = await self.engine.analyze(data)
                finally:
                    self._deadlines.discard(deadline)
        except TimeoutError:
            analysis = Analysis(Outcome.TIMEOUT)
        limits = self.engine.options.limits
        return await asyncio.to_thread(
            compose, analysis, language, self.catalog, limits, None, self.platform
        )

    def stop(self, grace: float = SHUTDOWN_GRACE_S) -> None:
        """Turn new photos away; photos in flight must finish their work within `grace`, less
        the reply margin, or answer `busy`."""
        self._stop_at = asyncio.get_running_loop().time() + max(0.0, grace - REPLY_MARGIN_S)
        for deadline in self._deadlines:
            deadline.reschedule(self._stop_at)

    async def finished(self, grace: float = SHUTDOWN_GRACE_S) -> None:
        """Wait until every photo in flight is answered, at most `grace` seconds."""
        if self._answering:
            await asyncio.wait(set(self._answering), timeout=grace)
