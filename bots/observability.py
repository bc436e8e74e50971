"""Health and Prometheus metrics for the bots: `/healthz` and `/metrics` on a small HTTP port.

Each process makes one `Metrics` (its own registry, so tests can make many) and passes it to
its front end; `serve_health` exposes it next to a readiness check and the checks of what the
process depends on (the shared store). A failing dependency makes /healthz say "degraded" with
HTTP 200, not 503: the bot still answers (in each user's own language, counting limits
locally), and a shared Redis going down must not take every replica out of rotation at once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from xinh.bots.http_server import RunningServer, serve_app
from xinh.inference.types import Outcome

VERDICT_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    """Photos by outcome, time to verdict, engine queue depth and errors, per platform."""

    def __init__(self, queue_depth: Callable[[], int] = lambda: 0) -> None:
        self.registry = CollectorRegistry()
        self.photos = Counter(
            "xinh_photos",
            "Photos answered, by platform and outcome",
            ["platform", "outcome"],
            registry=self.registry,
        )
        self.verdict_seconds = Histogram(
            "xinh_time_to_verdict_seconds",
            "Seconds from receiving a photo to sending the reply",
            ["platform"],
            buckets=VERDICT_BUCKETS,
            registry=self.registry,
        )
        self.errors = Counter(
            "xinh_errors",
            "Errors by platform and kind",
            ["platform", "kind"],
            registry=self.registry,
        )
        self.queue = Gauge(
            "xinh_engine_queue_depth",
            "Photos in the engine, running or waiting",
            registry=self.registry,
        )
        self.queue.set_function(queue_depth)

    def photo(self, platform: str, outcome: Outcome | str, seconds: float) -> None:
        """Count one answered photo and how long it took."""
        self.photos.labels(platform, str(outcome)).inc()
        self.verdict_seconds.labels(platform).observe(seconds)

    def error(self, platform: str, kind: str) -> None:
        """Count one error; `kind` is an exception class name or a short label, never content."""
        self.errors.labels(platform, kind).inc()

    def exposition(self) -> bytes:
        """The registry in Prometheus' text format."""
        return generate_latest(self.registry)


Check = Callable[[], Awaitable[bool]]


def health_app(
    metrics: Metrics, ready: Callable[[], bool], checks: Mapping[str, Check] | None = None
) -> web.Application:
    """The aiohttp app: /healthz says 503 "starting" until ready, then 200 "ok", or 200
    "degraded: <names>" while some of `checks` fail; /metrics for Prometheus."""

    async def healthz(_: web.Request) -> web.Response:
        if not ready():
            return web.Response(status=503, text="starting\n")
        failing = [name for name, check in (checks or {}).items() if not await check()]
        if failing:
            return web.Response(text=f"degraded: {', '.join(failing)}\n")
        return web.Response(text="ok\n")

    async def metrics_endpoint(_: web.Request) -> web.Response:
        return web.Response(
            body=metrics.exposition(), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics_endpoint)
    return app


async def serve_health(
    metrics: Metrics,
    ready: Callable[[], bool],
    host: str,
    port: int,
    checks: Mapping[str, Check] | None = None,
) -> RunningServer:
    """Start the health server on host:port (port 0 picks a free one)."""
    return await serve_app(health_app(metrics, ready, checks), host, port)
