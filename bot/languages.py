"""The assistant's six languages, in one place."""

from __future__ import annotations

from typing import Final

SUPPORTED_LANGUAGES: Final[tuple[str, ...]] = ("en", "ar", "tr", "ru", "de", "fr")
DEFAULT_LANGUAGE: Final[str] = "en"
RTL_LANGUAGES: Final[frozenset[str]] = frozenset({"ar"})


def normalise_language(value: object) -> str | None:
    """Returns a supported ISO 639-1 code for `value` ("AR", "ar-SA", "tr_TR"), else None."""
    if not isinstance(value, str):
        return None
    code = value.strip().lower().replace("_", "-").split("-")[0]
    return code if code in SUPPORTED_LANGUAGES else None
