"""Logging set-up: one line per event, optionally JSON, with secrets scrubbed.

Handlers log only event names, ids-free outcomes and exception classes; as a second line of
defence the filter below masks anything shaped like a bot token, and httpx (which logs request
URLs containing the Telegram token) is kept at WARNING.
"""

from __future__ import annotations

import json
import logging
import re

_TOKEN = re.compile(
    r"(?<!\d)\d{5,}:[A-Za-z0-9_-]{20,}|\b[A-Za-z0-9_-]{24,}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,}\b"
)


class ScrubSecrets(logging.Filter):
    """Replace token-shaped strings in a record's rendered message with `[secret]`."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        scrubbed = _TOKEN.sub("[secret]", message)
        if scrubbed != message:
            record.msg, record.args = scrubbed, ()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message (and exception class)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and record.exc_info[0] is not None:
            entry["exception"] = record.exc_info[0].__name__
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(level: str = "INFO", as_json: bool = False) -> None:
    """Set up the root logger once for a process."""
    handler = logging.StreamHandler()
    handler.addFilter(ScrubSecrets())
    handler.setFormatter(
        JsonFormatter()
        if as_json
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("httpx", "httpcore", "discord.http", "discord.gateway", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
