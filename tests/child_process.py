"""For tests that run servers and bots as child processes on 127.0.0.1: a free port, cleanup,
and reading a child's stderr until it has said something often enough."""

from __future__ import annotations

import asyncio
import signal
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


def free_port() -> int:
    """A port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@asynccontextmanager
async def reaped(process: asyncio.subprocess.Process) -> AsyncIterator[asyncio.subprocess.Process]:
    """The process; killed and waited for on the way out unless it has exited by then."""
    try:
        yield process
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def stderr_until_sigterm(
    process: asyncio.subprocess.Process, needle: str, times: int = 2
) -> str:
    """Read stderr line by line (60 s at most) until `needle` has been in `times` lines, then
    send SIGTERM; the whole stderr, once the process has exited 0 within 5 s."""
    lines: list[str] = []
    async with reaped(process):
        async with asyncio.timeout(60):
            while sum(needle in line for line in lines) < times:
                line = (await process.stderr.readline()).decode()
                assert line, "".join(lines)
                lines.append(line)
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(5):
            lines.append((await process.stderr.read()).decode())
            assert await process.wait() == 0, "".join(lines)
    return "".join(lines)
