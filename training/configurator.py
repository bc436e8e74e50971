"""Settings of the training scripts: the lower-case constants at a script's top, overridable on
the command line as `--name=value` (converted to the default's type)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def settings_of(namespace: Mapping[str, object], argv: Sequence[str]) -> dict[str, object]:
    """The script's settings (public lower-case int/float/str globals) with overrides applied."""
    settings = {
        name: value
        for name, value in namespace.items()
        if not name.startswith("_") and name.islower() and isinstance(value, (int, float, str))
    }
    for argument in argv:
        name, _, value = argument.removeprefix("--").partition("=")
        if name not in settings:
            raise SystemExit(f"unknown setting {name!r}; settings: {', '.join(settings)}")
        settings[name] = type(settings[name])(value)
    return settings
