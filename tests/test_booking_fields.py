"""Parsing of booking answers in the six languages (real libraries, no mocks)."""

from __future__ import annotations

from datetime import datetime

import pytest

from actions.booking_fields import (
    country_name,
    format_contact,
    format_preferred_dates,
    isolated,
    parse_contact,
    parse_country,
    parse_name,
    parse_preferred_dates,
    region_code,
)
from bot.languages import SUPPORTED_LANGUAGES

NOW = datetime(2026, 11, 25)


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("next month", "en", "2026-12"),
        ("mid-March", "en", "2027-03"),
        ("в марте", "ru", "2027-03"),
        ("в апреле", "ru", "2027-04"),
        ("в мае", "ru", "2027-05"),
        ("Mart ortası", "tr", "2027-03"),
        ("gelecek ay", "tr", "2026-12"),
        ("Haziranda", "tr", "2027-06"),
        ("الشهر القادم", "ar", "2026-12"),
        ("في شهر مارس", "ar", "2027-03"),
        ("Mitte April", "de", "2027-04"),
        ("nächsten Monat", "de", "2026-12"),
        ("début mai", "fr", "2027-05"),
        ("le mois prochain", "fr", "2026-12"),
        ("15/03/2027", "fr", "2027-03"),
    ],
)
def test_preferred_dates_are_understood_in_every_language(
    text: str, language: str, expected: str
) -> None:
    parsed = parse_preferred_dates(text, language, NOW)
    assert parsed is not None and parsed[:7] == expected


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("15/03/2027", "fr", "2027-03-15"),
        ("March 15", "en", "2027-03-15"),
        ("next month", "en", "2026-12"),
        ("March 2027", "en", "2027-03"),
        ("в марте", "ru", "2027-03"),
        ("Mitte April", "de", "2027-04"),
        ("le mois prochain", "fr", "2026-12"),
    ],
)
def test_a_day_is_kept_as_an_iso_date_and_a_month_as_year_and_month(
    text: str, language: str, expected: str
) -> None:
    assert parse_preferred_dates(text, language, NOW) == expected


@pytest.mark.parametrize("text", ["whenever", "maybe", "asap", "???", "junior"])
def test_answers_without_a_date_are_rejected(text: str) -> None:
    assert parse_preferred_dates(text, "en", NOW) is None


@pytest.mark.parametrize(
    ("value", "language", "shown"),
    [
        ("2027-03", "de", "März 2027"),
        ("2027-03-15", "de", "15. März 2027"),
        ("2027-03", "tr", "Mart 2027"),
        ("2027-03-15", "en", "March 15, 2027"),
        ("2027-03", "fr", "mars 2027"),
    ],
)
def test_dates_are_formatted_only_for_display(value: str, language: str, shown: str) -> None:
    assert format_preferred_dates(value, language) == shown


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_every_value_has_a_display_in_every_language(language: str) -> None:
    assert country_name("DE", language) not in {"", "DE"}
    assert "2027" in format_preferred_dates("2027-03", language)
    assert format_contact("+905321234567") == "+90 532 123 45 67"


def test_values_in_arabic_text_are_bidi_isolated() -> None:
    assert isolated("+90 532 123 45 67", "ar") == "\u2068+90 532 123 45 67\u2069"
    assert isolated("+90 532 123 45 67", "tr") == "+90 532 123 45 67"


def test_a_region_code_comes_only_from_an_iso_country_value() -> None:
    assert region_code("DE") == "DE"
    assert region_code("Germany (DE)") is None and region_code(None) is None


@pytest.mark.parametrize(
    ("text", "region", "expected"),
    [
        ("+90 532 123 45 67", None, "+905321234567"),
        ("0532 123 45 67", "TR", "+905321234567"),
        ("my number is +49 151 23456789", None, "+4915123456789"),
        ("Ahmed.Ali@Example.com", None, "Ahmed.Ali@example.com"),
        ("mail: maria@example.com.", None, "maria@example.com"),
    ],
)
def test_valid_contacts_are_normalised(text: str, region: str | None, expected: str) -> None:
    assert parse_contact(text, region) == expected


@pytest.mark.parametrize("text", ["12345", "call me", "maria@", "a@b", "+90 123"])
def test_invalid_contacts_are_rejected(text: str) -> None:
    assert parse_contact(text, None) is None


@pytest.mark.parametrize(
    ("text", "language", "region"),
    [
        ("Germany", "en", "DE"),
        ("I live in Almanya", "tr", "DE"),
        ("Германия", "ru", "DE"),
        ("مصر", "ar", "EG"),
        ("Deutschland", "de", "DE"),
        ("en France", "fr", "FR"),
        ("Türkiye", "tr", "TR"),
    ],
)
def test_countries_are_recognised_in_every_language(text: str, language: str, region: str) -> None:
    assert parse_country(text) == region


def test_unknown_country_is_rejected() -> None:
    assert parse_country("Narnia") is None


@pytest.mark.parametrize("text", ["", "1", "12345", "x@y.z", "<script>"])
def test_implausible_names_are_rejected(text: str) -> None:
    assert parse_name(text) is None


def test_names_in_any_script_are_accepted() -> None:
    assert parse_name("  محمد  علي ") == "محمد علي"
    assert parse_name("Ayşe Yılmaz") == "Ayşe Yılmaz"


@pytest.mark.parametrize(("text", "region"), [("السعودية", "SA"), ("Dubai", "AE"), ("USA", "US")])
def test_everyday_country_names_are_recognised(text: str, region: str) -> None:
    assert parse_country(text) == region
