"""Xinh's one settings layer: `XINH_*` environment variables over an optional TOML file.

Every setting is declared once below with its type, default and a line of help; `xinh config`
prints them (secrets masked) and the README's configuration table lists the same. The engine's
settings take their defaults from the engine's own option classes, so each default number is
written once, and the engine's options are always built from the settings.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from xinh.inference.detector import DetectorOptions
from xinh.inference.engine import EngineOptions
from xinh.inference.types import Limits


class ConfigError(ValueError):
    """A setting the operator gave is unusable; the message is one line naming the fix."""


def _default_data_dir() -> str:
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return str(Path(state) / "xinh")


def _setting(default: Any, help: str, secret: bool = False) -> Any:
    return field(default=default, metadata={"help": help, "secret": secret})


def _default(options: type, name: str) -> Any:
    """The default of one field of an engine option class (a dataclass)."""
    return {f.name: f for f in fields(options)}[name].default


@dataclass(frozen=True, slots=True)
class Settings:
    """The effective configuration; build it with `Settings.load()`."""

    telegram_token: str = _setting("", "Telegram bot token from @BotFather", secret=True)
    telegram_api_url: str = _setting(
        "https://api.telegram.org/bot", "Bot API base URL (self-hosted server); token appended"
    )
    telegram_file_url: str = _setting(
        "https://api.telegram.org/file/bot", "Bot API file URL; token appended"
    )
    webhook_url: str = _setting("", "Public HTTPS URL for Telegram webhook mode (empty: polling)")
    webhook_listen: str = _setting("0.0.0.0", "Address the webhook server binds")
    webhook_port: int = _setting(8443, "Port the webhook server binds")
    webhook_secret: str = _setting(
        "", "Telegram webhook secret_token (empty: generated at start)", secret=True
    )
    discord_token: str = _setting("", "Discord bot token", secret=True)
    discord_api_url: str = _setting("", "Discord REST base URL override (empty: Discord's)")
    discord_gateway_url: str = _setting("", "Discord gateway URL override (empty: Discord's)")
    discord_guild_id: int = _setting(0, "Guild to sync commands to instantly (0: global sync)")
    discord_message_content: bool = _setting(
        False, "Use the privileged Message Content intent (mentions with images in servers)"
    )
    shard_count: int = _setting(0, "Discord shards in total (0: one process, no sharding)")
    shard_ids: str = _setting("", "Comma-separated Discord shard ids this process runs")
    data_dir: str = _setting(_default_data_dir(), "Folder of the embedded per-chat settings store")
    store_url: str = _setting(
        "", "Shared settings store, e.g. redis://host:6379/0 (empty: embedded)"
    )
    models_dir: str = _setting("", "Folder holding xinh-face.json and its model (empty: bundled)")
    rate_limit_per_minute: int = _setting(5, "Photos each user may send per minute")
    max_bytes: int = _setting(_default(Limits, "max_bytes"), "Largest photo accepted, in bytes")
    max_pixels: int = _setting(_default(Limits, "max_pixels"), "Largest photo accepted, in pixels")
    min_side: int = _setting(
        _default(Limits, "min_side"), "Smallest photo side accepted, in pixels"
    )
    max_faces: int = _setting(
        _default(DetectorOptions, "max_faces"),
        "Most faces rated in one photo; more are counted in one line",
    )
    workers: int = _setting(_default(EngineOptions, "workers"), "Engine worker threads")
    queue_limit: int = _setting(
        _default(EngineOptions, "queue_limit"),
        "Photos waiting for a worker before new ones get 'busy'",
    )
    photo_timeout: float = _setting(
        _default(EngineOptions, "timeout_s"), "Seconds one photo may take before 'busy, try again'"
    )
    health_host: str = _setting("127.0.0.1", "Address of the /healthz and /metrics server")
    health_port: int = _setting(9090, "Port of the /healthz and /metrics server (0: off)")
    demo_host: str = _setting("127.0.0.1", "Address `xinh demo` binds")
    demo_port: int = _setting(8080, "Port `xinh demo` binds")
    log_level: str = _setting("INFO", "Logging level")
    log_json: bool = _setting(False, "Log one JSON object per line")

    @classmethod
    def load(cls, env: Mapping[str, str] | None = None, path: str | None = None) -> Settings:
        """Defaults, then the TOML file ($XINH_CONFIG or `path`), then XINH_* variables."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        config_path = path or env.get("XINH_CONFIG")
        if config_path:
            try:
                values.update(tomllib.loads(Path(config_path).read_text()))
            except (OSError, tomllib.TOMLDecodeError) as exc:
                raise ConfigError(f"cannot read config file {config_path}: {exc}") from None
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ConfigError(f"unknown setting(s) {', '.join(unknown)} in {config_path}")
        for name in known:
            if f"XINH_{name.upper()}" in env:
                values[name] = env[f"XINH_{name.upper()}"]
        return cls(**{name: _convert(known[name], value) for name, value in values.items()})

    def sources(self, env: Mapping[str, str] | None = None) -> dict[str, str]:
        """Where each value came from: env, file or default."""
        env = os.environ if env is None else env
        file_values = {}
        if env.get("XINH_CONFIG"):
            file_values = tomllib.loads(Path(env["XINH_CONFIG"]).read_text())
        return {
            f.name: "env"
            if f"XINH_{f.name.upper()}" in env
            else "file"
            if f.name in file_values
            else "default"
            for f in fields(self)
        }

    def engine_options(self) -> EngineOptions:
        """The engine's share of the settings."""
        return EngineOptions(
            workers=self.workers,
            queue_limit=self.queue_limit,
            timeout_s=self.photo_timeout,
            limits=Limits(
                max_bytes=self.max_bytes, max_pixels=self.max_pixels, min_side=self.min_side
            ),
            detector=DetectorOptions(max_faces=self.max_faces),
        )

    def models_path(self) -> Path | None:
        """The configured models folder, or None for the bundled one."""
        return Path(self.models_dir) if self.models_dir else None

    def require(self, *names: str) -> None:
        """Raise a one-line ConfigError naming the first required setting that is empty."""
        for name in names:
            if not getattr(self, name):
                raise ConfigError(
                    f"XINH_{name.upper()} is not set: export it (or put {name} in $XINH_CONFIG)"
                )

    def masked(self) -> dict[str, str]:
        """Every setting as text, secrets shown only by their last four characters."""
        shown = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.metadata["secret"] and value:
                value = "****" + str(value)[-4:] if len(str(value)) > 12 else "****"
            shown[f.name] = str(value)
        return shown


def describe() -> list[tuple[str, str, str, bool]]:
    """(environment variable, default, help, secret) for every setting, in order."""
    return [
        (f"XINH_{f.name.upper()}", str(f.default), f.metadata["help"], f.metadata["secret"])
        for f in fields(Settings)
    ]


def _convert(spec, value: Any) -> Any:
    """Coerce a TOML or environment value to the setting's type, or explain the fix."""
    kind = {"str": str, "int": int, "float": float, "bool": bool}[spec.type]
    env_name = f"XINH_{spec.name.upper()}"
    if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
        return value
    text = str(value).strip()
    try:
        if kind is bool:
            if text.lower() in ("1", "true", "yes", "on"):
                return True
            if text.lower() in ("0", "false", "no", "off", ""):
                return False
            raise ValueError(text)
        return kind(text)
    except ValueError:
        wanted = {"int": "a whole number", "float": "a number", "bool": "true or false"}
        raise ConfigError(
            f"{env_name}={text!r} is invalid: set it to {wanted[spec.type]}"
        ) from None
