"""Pure parsing of the booking form's answers in the six languages, and their display.

Answers are kept as values, formatted only when shown (never parsed back from a display
string): countries as ISO 3166-1 alpha-2 codes (Babel's territory names in the six
languages), contacts as E.164 numbers (`phonenumbers`) or normalised e-mail addresses
(`email-validator`), preferred dates as an ISO date ("2027-03-15") or a month ("2027-03")
(`dateparser`, with a month lexicon for inflected forms).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from functools import cache, lru_cache
from pathlib import Path
from typing import Optional

import phonenumbers
import yaml
from babel import Locale
from babel.dates import format_date, format_skeleton
from dateparser.date import DateDataParser
from dateparser.search import search_dates
from email_validator import EmailNotValidError, validate_email

from bot.languages import DEFAULT_LANGUAGE, SUPPORTED_LANGUAGES
from bot.nlu.text import fold

MAX_TEXT_LENGTH = 1000
COUNTRY_ALIASES_FILE = Path(__file__).parent / "data" / "country_aliases.yml"
_DATE_SETTINGS = {"PREFER_DATES_FROM": "future", "PREFER_DAY_OF_MONTH": "first"}
_MONTH_PERIODS = frozenset({"month", "year"})
_ISO_MONTH = re.compile(r"\d{4}-\d{2}")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
FSI, PDI = "\u2068", "\u2069"  # Unicode bidi isolates around values in Arabic text


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


def parse_country(text: str) -> Optional[str]:
    """The ISO 3166-1 alpha-2 code of the country named in `text` (any of our languages)."""
    folded = f" {fold(clean_text(text, 200))} "
    for name, region in _country_names():
        if re.search(rf"(?<!\w){re.escape(name)}(?!\w)", folded):
            return region
    return None


def region_code(value: object) -> Optional[str]:
    """The country slot's value if it is an ISO code, for parsing national phone numbers."""
    return value if isinstance(value, str) and re.fullmatch(r"[A-Z]{2}", value) else None


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


def parse_preferred_dates(
    text: str, language: str, now: Optional[datetime] = None
) -> Optional[str]:
    """The first date a patient's answer means, as an ISO date ("2027-03-15") or, when only
    a month is meant ("next month", "в марте", "Mart ortası"), as "YYYY-MM"."""
    cleaned = clean_text(text, 200)
    languages = list(dict.fromkeys([language, "en"]))
    settings = dict(_DATE_SETTINGS, **({"RELATIVE_BASE": now} if now else {}))
    data = DateDataParser(languages=languages, settings=settings).get_date_data(cleaned)
    if data.date_obj is not None:
        return _date_value(data.date_obj, data.period in _MONTH_PERIODS)
    found = search_dates(cleaned, languages=languages, settings=settings)
    if found:
        last_day = dict(settings, PREFER_DAY_OF_MONTH="last")
        other = search_dates(cleaned, languages=languages, settings=last_day)
        month_only = bool(other) and other[0][1].day != found[0][1].day
        return _date_value(found[0][1], month_only)
    # Inflected month names dateparser does not know ("в апреле", "Mart'ta"): month lexicon.
    month = _month_in(cleaned, language)
    if month is None:
        return None
    base = now or datetime.now()
    year = base.year + (1 if month < base.month else 0)
    return f"{year:04d}-{month:02d}"


def _date_value(when: datetime, month_only: bool) -> str:
    return f"{when:%Y-%m}" if month_only else f"{when:%Y-%m-%d}"


# ---- display: values formatted for the patient's language -----------------------------


def display_language(language: Optional[str]) -> str:
    return language if language in SUPPORTED_LANGUAGES else DEFAULT_LANGUAGE


def country_name(code: object, language: Optional[str]) -> str:
    """ "DE" → "Deutschland" / "Германия" / "ألمانيا"; anything else as it is."""
    text = str(code or "")
    return Locale(display_language(language)).territories.get(text, text)


def format_preferred_dates(value: object, language: Optional[str]) -> str:
    """ "2027-03" → "März 2027", "2027-03-15" → "15. März 2027"; anything else as it is."""
    text = str(value or "")
    locale = display_language(language)
    if _ISO_DATE.fullmatch(text):
        return format_date(date.fromisoformat(text), "long", locale=locale)
    if _ISO_MONTH.fullmatch(text):
        return format_skeleton("yMMMM", date.fromisoformat(f"{text}-01"), locale=locale)
    return text


def format_contact(value: object) -> str:
    """An E.164 number in international format ("+90 532 123 45 67"); e-mail as it is."""
    text = str(value or "")
    if text.startswith("+"):
        try:
            number = phonenumbers.parse(text, None)
        except phonenumbers.NumberParseException:
            return text
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return text


def isolated(text: str, language: Optional[str]) -> str:
    """A value inside Arabic text, wrapped in bidi isolates (numbers, addresses, names)."""
    return f"{FSI}{text}{PDI}" if language == "ar" and text else text


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
