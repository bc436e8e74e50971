"""Starting the bots' small aiohttp servers (health and metrics, Telegram's webhook)."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web


@dataclass(frozen=True, slots=True)
class RunningServer:
    """A running server; `port` is the bound port (useful with port 0)."""

    runner: web.AppRunner
    port: int

    async def close(self) -> None:
        await self.runner.cleanup()


async def serve_app(app: web.Application, host: str, port: int) -> RunningServer:
    """Serve `app` on host:port (port 0 picks a free one), with no access log."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = site._server.sockets[0].getsockname()[1]  # aiohttp exposes no public accessor
    return RunningServer(runner, bound)
