"""The locale catalogue: one TOML file per language, keys addressed as "section.name".

A key may hold one string or a list of variants (one is picked at random, for a livelier
bot). Placeholders are `str.format` fields.
"""

from __future__ import annotations

import random
import tomllib
from dataclasses import dataclass
from pathlib import Path

DEFAULT_LANGUAGE = "en"
_FOLDER = Path(__file__).resolve().parent


def _flatten(table: dict, prefix: str = "") -> dict[str, tuple[str, ...]]:
    flat: dict[str, tuple[str, ...]] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = tuple(value) if isinstance(value, list) else (value,)
    return flat


@dataclass(frozen=True, slots=True)
class Catalog:
    """Strings by language and key; load once with `Catalog.load()` and share."""

    strings: dict[str, dict[str, tuple[str, ...]]]

    @classmethod
    def load(cls, folder: Path = _FOLDER) -> Catalog:
        """Read every `<language>.toml` in the folder."""
        return cls(
            {
                path.stem: _flatten(tomllib.loads(path.read_text(encoding="utf-8")))
                for path in sorted(folder.glob("*.toml"))
            }
        )

    @property
    def languages(self) -> tuple[str, ...]:
        """Every language with a file in the folder, English first when there."""
        return tuple(sorted(self.strings, key=lambda code: (code != DEFAULT_LANGUAGE, code)))

    def negotiate(self, *candidates: str | None) -> str:
        """The first candidate language tag (e.g. "vi", "en-US", "vi_VN") the catalogue holds,
        else English."""
        for tag in candidates:
            if tag:
                base = tag.replace("_", "-").split("-")[0].lower()
                if base in self.strings:
                    return base
        return DEFAULT_LANGUAGE

    def has(self, language: str, key: str) -> bool:
        """Whether `key` exists (in `language`, or English for an unknown language)."""
        table = self.strings.get(language) or self.strings[DEFAULT_LANGUAGE]
        return key in table

    def variants(self, language: str, key: str) -> tuple[str, ...]:
        """All variants of a key, falling back to English for an unknown language."""
        table = self.strings.get(language) or self.strings[DEFAULT_LANGUAGE]
        return table[key]

    def text(
        self, language: str, key: str, rng: random.Random | None = None, **values: object
    ) -> str:
        """One variant of `key` in `language`, formatted with `values`."""
        options = self.variants(language, key)
        chosen = options[0] if len(options) == 1 else (rng or random).choice(options)
        return chosen.format(**values) if values else chosen
