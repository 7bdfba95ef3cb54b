"""Pure parsing of the booking form's answers, in the six languages.

Phone numbers with `phonenumbers` (E.164), e-mail with `email-validator`, countries with
Babel's territory names in the six languages, dates with `dateparser`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import cache, lru_cache
from pathlib import Path
from typing import Optional

import dateparser
import phonenumbers
import yaml
from babel import Locale
from dateparser.search import search_dates
from email_validator import EmailNotValidError, validate_email

from bot.languages import SUPPORTED_LANGUAGES
from bot.nlu.text import fold

MAX_TEXT_LENGTH = 1000
COUNTRY_ALIASES_FILE = Path(__file__).parent / "data" / "country_aliases.yml"
_DATE_SETTINGS = {"PREFER_DATES_FROM": "future", "PREFER_DAY_OF_MONTH": "first"}


@dataclass(frozen=True)
class Country:
    name: str
    region: str  # ISO 3166-1 alpha-2


def clean_text(text: str, limit: int = MAX_TEXT_LENGTH) -> str:
    return re.sub(r"\s+", " ", text).strip()[:limit]


def parse_name(text: str) -> Optional[str]:
    name = clean_text(text, 100)
    if len(name) < 2 or re.search(r"[\d@/\\<>{}]", name) or not re.search(r"[^\W\d_]", name):
        return None
    return name


@lru_cache(maxsize=1)
def _country_names() -> list[tuple[str, str]]:
    """(folded name, region) for every territory name in the six languages, longest first."""
    names: dict[str, str] = {}
    for language in SUPPORTED_LANGUAGES:
        for region, name in Locale(language).territories.items():
            if len(region) == 2 and region.isalpha():
                names.setdefault(fold(name), region)
    aliases = yaml.safe_load(COUNTRY_ALIASES_FILE.read_text(encoding="utf-8")) or {}
    for region, words in aliases.items():
        names.update({fold(word): str(region) for word in words})
    return sorted(names.items(), key=lambda item: -len(item[0]))


def parse_country(text: str, language: str) -> Optional[Country]:
    folded = f" {fold(clean_text(text, 200))} "
    for name, region in _country_names():
        if re.search(rf"(?<!\w){re.escape(name)}(?!\w)", folded):
            display = Locale(language if language in SUPPORTED_LANGUAGES else "en").territories
            return Country(display.get(region, name), region)
    return None


def parse_contact(text: str, region: Optional[str]) -> Optional[str]:
    """An e-mail address (normalised) or a phone number in E.164, else None."""
    for word in text.split():
        if "@" in word:
            try:
                return validate_email(word.strip(".,;()<>"), check_deliverability=False).normalized
            except EmailNotValidError:
                return None
    for match in phonenumbers.PhoneNumberMatcher(text, region or "ZZ"):
        if phonenumbers.is_valid_number(match.number):
            return phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
    return None


def parse_preferred_date(
    text: str, language: str, now: Optional[datetime] = None
) -> Optional[datetime]:
    """The first date a patient's answer means ("next month", "в марте", "Mart ortası")."""
    cleaned = clean_text(text, 200)
    languages = list(dict.fromkeys([language, "en"]))
    settings = dict(_DATE_SETTINGS, **({"RELATIVE_BASE": now} if now else {}))
    parsed = dateparser.parse(cleaned, languages=languages, settings=settings)
    if parsed:
        return parsed
    found = search_dates(cleaned, languages=languages, settings=settings)
    if found:
        return found[0][1]
    # Inflected month names dateparser does not know ("в апреле", "Mart'ta"): month lexicon.
    month = _month_in(cleaned, language)
    if month is None:
        return None
    base = now or datetime.now()
    year = base.year + (1 if month < base.month else 0)
    return datetime(year, month, 1)


_MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)


# Short case forms that the rules below cannot derive safely.
_EXTRA_MONTH_FORMS: dict[str, tuple[tuple[str, int], ...]] = {"ru": (("мае", 5),)}


@cache
def _month_names(language: str) -> tuple[tuple[str, int], ...]:
    from dateparser.languages.loader import default_loader

    names = []
    for code in dict.fromkeys([language, "en"]):
        info = default_loader.get_locale(code).info
        for number, key in enumerate(_MONTHS, start=1):
            names += [(fold(name), number) for name in info.get(key, [])]
    names += [(fold(form), number) for form, number in _EXTRA_MONTH_FORMS.get(language, ())]
    return tuple(names)


def _month_in(text: str, language: str) -> Optional[int]:
    """A month named in `text`, allowing case endings: "апреле" ~ "апрель", "Mart'ta" ~ "mart"."""
    for word in re.findall(r"[^\W\d_]+", fold(text)):
        for name, number in _month_names(language):
            if word == name:
                return number
            if len(name) >= 4 and len(word) == len(name) and word[:-1] == name[:-1]:
                return number  # a case ending in place of the last letter: "июне" ~ "июнь"
            stem = max(4, len(name) - 1)
            if len(name) >= 4 and len(word) >= stem and word[:stem] == name[:stem]:
                return number
    return None
