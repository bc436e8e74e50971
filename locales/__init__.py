"""Every user-facing string of Xinh, per language, and how to pick the language."""

from xinh.locales.catalog import DEFAULT_LANGUAGE, Catalog

__all__ = ["DEFAULT_LANGUAGE", "Catalog"]
