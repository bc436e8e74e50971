"""`xinh config`: the effective settings with their sources, secrets masked, and what is missing."""

from __future__ import annotations

from xinh.settings import Settings

_NEEDED = {"xinh telegram": "telegram_token", "xinh discord": "discord_token"}


def config_command() -> int:
    """Print every setting as `XINH_NAME=value  (source)`, then what each bot still needs."""
    settings = Settings.load()
    sources = settings.sources()
    for name, value in settings.masked().items():
        print(f"XINH_{name.upper()}={value}  ({sources[name]})")
    missing = [
        f"{command} needs XINH_{name.upper()}"
        for command, name in _NEEDED.items()
        if not getattr(settings, name)
    ]
    print(
        "\n".join(["", "missing:", *(f"  {line}" for line in missing)])
        if missing
        else "\nnothing missing"
    )
    return 0
