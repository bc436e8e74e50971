"""Settings of the training scripts: the lower-case constants at a script's top, overridable on
the command line as `--name=value` (converted to the default's type; on/off settings take
true/false, yes/no, on/off or 1/0)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

TRUE, FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0")


def parse_bool(name: str, value: str) -> bool:
    """`value` as an on/off setting, or a one-line error naming the accepted words."""
    word = value.strip().lower()
    if word not in TRUE + FALSE:
        raise SystemExit(f"setting {name} is on/off: give true or false, not {value!r}")
    return word in TRUE


def settings_of(namespace: Mapping[str, object], argv: Sequence[str]) -> dict[str, object]:
    """The script's settings (public lower-case bool/int/float/str globals) with overrides."""
    settings = {
        name: value
        for name, value in namespace.items()
        if not name.startswith("_") and name.islower() and isinstance(value, (int, float, str))
    }
    for argument in argv:
        name, _, value = argument.removeprefix("--").partition("=")
        if name not in settings:
            raise SystemExit(f"unknown setting {name!r}; settings: {', '.join(settings)}")
        default = settings[name]
        if isinstance(default, bool):
            settings[name] = parse_bool(name, value)
        else:
            settings[name] = type(default)(value)
    return settings
