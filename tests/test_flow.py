"""The one photo flow every front end uses: the order of its checks, what it fetches, the reply
it composes and sends, what it counts, and shutdown (in flight finish, later and cut-off ones
get `busy`). A stand-in engine keeps the timing exact; the front ends' tests use the real one."""

from __future__ import annotations

import asyncio

import pytest

from xinh.bots.flow import REPLY_MARGIN_S, Photo, PhotoFlow
from xinh.bots.observability import Metrics
from xinh.bots.ratelimit import LocalRateLimiter
from xinh.bots.replies import Platform, Refusal, Reply
from xinh.inference.engine import EngineOptions
from xinh.inference.types import Analysis, Face, Limits, Outcome, RatedFace
from xinh.locales import Catalog

CATALOG = Catalog.load()
FACE = Face(box=(10, 10, 50, 50), score=0.9, keypoints=((20, 30),) * 6)
WOMAN = Analysis(Outcome.RATED, (RatedFace(FACE, 0.9, "female", 7.2, "beautiful"),))


class StandInEngine:
    """The engine's interface for the flow: options, queue depth, `analyze`."""

    def __init__(self, answer: Analysis = WOMAN, workers: int = 1, queue_limit: int = 1) -> None:
        limits = Limits(max_bytes=1000)
        self.options = EngineOptions(workers=workers, queue_limit=queue_limit, limits=limits)
        self.answer = answer
        self.queue_depth = 0
        self.seen: list[bytes] = []
        self.release = asyncio.Event()
        self.release.set()

    async def analyze(self, data: bytes) -> Analysis:
        self.seen.append(data)
        self.queue_depth += 1
        try:
            await self.release.wait()
        finally:
            self.queue_depth -= 1
        return self.answer


class FrontEnd:
    """What a front end supplies: working, fetch, send; records the order they were called in."""

    def __init__(self, data: bytes | None = b"jpeg") -> None:
        self.data = data
        self.events: list[str] = []
        self.sent: list[Reply] = []
        self.fetching = asyncio.Event()
        self.hold: asyncio.Event | None = None

    async def working(self) -> None:
        self.events.append("working")

    async def fetch(self) -> bytes | None:
        self.events.append("fetch")
        self.fetching.set()
        if self.hold is not None:
            await self.hold.wait()
        return self.data

    async def send(self, reply: Reply) -> None:
        self.events.append("send")
        self.sent.append(reply)

    async def ask(self, flow: PhotoFlow, photo: Photo | None, language: str = "en") -> Reply:
        return await flow.answer(photo, language, self.fetch, self.send, self.working)


def make_flow(engine: StandInEngine | None = None, per_minute: int | None = 5, **kw) -> PhotoFlow:
    limiter = LocalRateLimiter(per_minute) if per_minute is not None else None
    return PhotoFlow(
        Platform.TELEGRAM, engine or StandInEngine(), CATALOG, limiter, Metrics(), **kw
    )


def counted(flow: PhotoFlow, outcome: str) -> float:
    sample = flow.metrics.registry.get_sample_value(
        "xinh_photos_total", {"platform": "telegram", "outcome": outcome}
    )
    return sample or 0.0


async def test_a_photo_goes_working_fetch_engine_reply_in_that_order() -> None:
    engine = StandInEngine()
    flow, front = make_flow(engine), FrontEnd()
    reply = await front.ask(flow, Photo(sender=1, size=10), "vi")
    assert front.events == ["working", "fetch", "send"]
    assert engine.seen == [b"jpeg"]
    assert reply.outcome is Outcome.RATED and front.sent == [reply]
    assert reply.text.startswith(CATALOG.text("vi", "verdict.beautiful"))
    assert counted(flow, "rated") == 1


@pytest.mark.parametrize(
    ("photo", "refusal"),
    [
        (None, Refusal.NOT_IMAGE),
        (Photo(sender=1, size=1001), Refusal.TOO_LARGE),
        (Photo(sender=1, is_image=False), Refusal.NOT_IMAGE),
    ],
)
async def test_refusals_come_before_anything_is_fetched(photo, refusal) -> None:
    engine = StandInEngine()
    flow, front = make_flow(engine), FrontEnd()
    reply = await front.ask(flow, photo)
    assert reply.outcome is refusal and reply.is_error
    assert front.events == ["send"] and engine.seen == []
    assert reply.text == flow.refusal(refusal, "en").text
    assert counted(flow, refusal.value) == 1


async def test_the_rate_limit_comes_first_and_counts_per_sender() -> None:
    flow = make_flow(per_minute=2)
    outcomes = [(await FrontEnd().ask(flow, Photo(sender=7))).outcome for _ in range(3)]
    assert outcomes == [Outcome.RATED, Outcome.RATED, Refusal.RATE_LIMITED]
    oversize = await FrontEnd().ask(flow, Photo(sender=7, size=10**9))
    assert oversize.outcome is Refusal.RATE_LIMITED
    assert (await FrontEnd().ask(flow, Photo(sender=8))).outcome is Outcome.RATED
    limited = await FrontEnd().ask(flow, Photo(sender=7))
    assert limited.text == CATALOG.text("en", "errors.rate_limited", limit=2)


async def test_no_limiter_means_no_limit() -> None:
    flow = make_flow(per_minute=None)
    outcomes = {(await FrontEnd().ask(flow, Photo(sender=1))).outcome for _ in range(20)}
    assert outcomes == {Outcome.RATED}


async def test_a_full_engine_is_busy_before_fetching() -> None:
    engine = StandInEngine(workers=1, queue_limit=1)
    engine.release.clear()
    flow = make_flow(engine)
    first, second = FrontEnd(), FrontEnd()
    running = [
        asyncio.create_task(front.ask(flow, Photo(sender=n)))
        for n, front in enumerate((first, second))
    ]
    await asyncio.sleep(0.01)
    third = FrontEnd()
    reply = await third.ask(flow, Photo(sender=3))
    assert reply.outcome is Refusal.BUSY and third.events == ["send"]
    assert reply.text == CATALOG.text("en", "errors.busy")
    engine.release.set()
    assert [r.outcome for r in await asyncio.gather(*running)] == [Outcome.RATED] * 2


async def test_too_large_while_fetching_is_answered_without_the_engine() -> None:
    engine = StandInEngine()
    reply = await FrontEnd(data=None).ask(make_flow(engine), Photo(sender=1))
    assert reply.outcome is Outcome.TOO_LARGE and engine.seen == []
    assert "as a photo, not a file" in reply.text  # Telegram's own wording


async def test_without_send_the_caller_gets_the_reply_to_answer_with() -> None:
    front = FrontEnd()
    flow = PhotoFlow(Platform.DEMO, StandInEngine(), CATALOG)
    reply = await flow.answer(Photo(sender="::1"), "en", front.fetch)
    assert reply.outcome is Outcome.RATED and front.events == ["fetch"]


async def test_fetch_failures_reach_the_front_ends_error_handler() -> None:
    async def broken() -> bytes:
        raise ConnectionError("gone")

    flow = make_flow()
    with pytest.raises(ConnectionError):
        await flow.answer(Photo(sender=1), "en", broken)
    await flow.finished(0.1)  # nothing left in flight


async def test_after_stop_new_photos_are_busy() -> None:
    flow = make_flow()
    flow.stop(5)
    front = FrontEnd()
    reply = await front.ask(flow, Photo(sender=1))
    assert not flow.accepting
    assert reply.outcome is Refusal.BUSY and front.events == ["send"]


async def test_photos_in_flight_finish_within_the_grace() -> None:
    flow, front = make_flow(), FrontEnd()
    front.hold = asyncio.Event()
    answering = asyncio.create_task(front.ask(flow, Photo(sender=1)))
    await front.fetching.wait()
    flow.stop(REPLY_MARGIN_S + 5)
    front.hold.set()
    await flow.finished(5)
    assert answering.done() and (await answering).outcome is Outcome.RATED


async def test_photos_cut_off_at_the_grace_answer_busy_in_time() -> None:
    flow, front = make_flow(), FrontEnd()
    front.hold = asyncio.Event()  # never released: the download hangs
    answering = asyncio.create_task(front.ask(flow, Photo(sender=1)))
    await front.fetching.wait()
    loop = asyncio.get_running_loop()
    started = loop.time()
    flow.stop(REPLY_MARGIN_S + 0.2)
    await flow.finished(REPLY_MARGIN_S + 0.2)
    assert loop.time() - started < REPLY_MARGIN_S
    reply = await answering
    assert reply.outcome is Outcome.TIMEOUT and front.sent == [reply]
    assert reply.text == CATALOG.text("en", "errors.busy")
    assert counted(flow, "timeout") == 1


async def test_finished_never_waits_past_the_grace() -> None:
    async def slow_send(_: Reply) -> None:
        await asyncio.sleep(30)

    flow, front = make_flow(), FrontEnd()
    answering = asyncio.create_task(flow.answer(Photo(sender=1), "en", front.fetch, slow_send))
    await front.fetching.wait()
    flow.stop(0.3)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await flow.finished(0.3)
    assert loop.time() - started < 1
    answering.cancel()
