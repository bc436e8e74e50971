"""The catalogue: every language has every key, with the same placeholders."""

from __future__ import annotations

import string
from pathlib import Path

import pytest

from xinh import locales
from xinh.locales import Catalog

CATALOG = Catalog.load()


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_vietnamese_and_english_at_least() -> None:
    assert {"en", "vi"} <= set(CATALOG.languages)


@pytest.mark.parametrize("language", [lang for lang in CATALOG.languages if lang != "en"])
def test_every_locale_has_every_key_and_the_same_placeholders(language: str) -> None:
    english, other = CATALOG.strings["en"], CATALOG.strings[language]
    assert set(other) == set(english)
    for key, variants in english.items():
        expected = {frozenset(_fields(v)) for v in variants}
        assert {frozenset(_fields(v)) for v in other[key]} == expected, key


def test_variants_share_their_placeholders() -> None:
    for language, table in CATALOG.strings.items():
        for key, variants in table.items():
            assert len({frozenset(_fields(v)) for v in variants}) == 1, (language, key)


def test_the_original_pages_words_are_kept() -> None:
    assert CATALOG.text("vi", "page.title") == "Ứng dụng đánh giá nhan sắc phái nữ"
    assert CATALOG.text("en", "male.title") == "Sorry...?"
    assert "Hmmmm? 🤔" in CATALOG.text("vi", "errors.no_face")
    assert CATALOG.text("vi", "verdict.beautiful") == "Xinh đẹp"
    assert CATALOG.text("vi", "verdict.average") == "Bình thường"


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        (("vi",), "vi"),
        (("vi-VN",), "vi"),
        (("en-GB",), "en"),
        (("fr", "vi_VN"), "vi"),
        ((None, "de"), "en"),
        ((), "en"),
    ],
)
def test_negotiate(tags, expected) -> None:
    assert CATALOG.negotiate(*tags) == expected


def test_languages_are_the_files_in_the_folder(tmp_path) -> None:
    """A new locale file is a new language everywhere: negotiation included."""
    for path in Path(locales.__file__).parent.glob("*.toml"):
        (tmp_path / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "fr.toml").write_text(
        (tmp_path / "en.toml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    catalog = Catalog.load(tmp_path)
    assert catalog.languages == ("en", "fr", "vi")
    assert catalog.negotiate("fr-CA") == "fr"
    assert CATALOG.negotiate("fr-CA") == "en"


def test_unknown_language_falls_back_to_english() -> None:
    assert CATALOG.text("fr", "page.go") == CATALOG.text("en", "page.go")
