"""The assistant's six languages, in one place."""

from __future__ import annotations

from typing import Final, Iterable

SUPPORTED_LANGUAGES: Final[tuple[str, ...]] = ("en", "ar", "tr", "ru", "de", "fr")
DEFAULT_LANGUAGE: Final[str] = "en"
RTL_LANGUAGES: Final[frozenset[str]] = frozenset({"ar"})


def normalise_language(value: object) -> str | None:
    """Returns a supported ISO 639-1 code for `value` ("AR", "ar-SA", "tr_TR"), else None."""
    if not isinstance(value, str):
        return None
    code = value.strip().lower().replace("_", "-").split("-")[0]
    return code if code in SUPPORTED_LANGUAGES else None


LANGUAGE_GUESS_KEY: Final[str] = "language_guess"  # set in the parse data by the detector


def first_guess(parse_datas: Iterable[object]) -> str | None:
    """The first message's language when no confident one was set: the best guess of the
    first user message that said anything about its language (issue 10)."""
    for parse_data in parse_datas:
        if isinstance(parse_data, dict):
            guess = normalise_language(parse_data.get(LANGUAGE_GUESS_KEY))
            if guess:
                return guess
    return None
