"""Content rules: six languages everywhere, numbers only from the source, sources cited."""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache

import pytest

from bot.languages import SUPPORTED_LANGUAGES
from bot.nlu.language_detector import lingua_detector
from tests.support.content import DOMAIN_DIR, ROOT, Variation, domain_intents, domain_responses

RESPONSES = domain_responses()
SOURCE = (ROOT / "docs" / "source.txt").read_text(encoding="utf-8")
ENGLISH_NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}
NUMBER = re.compile(r"\d+(?:[.,\u00a0\u202f ]\d{3})*")

ARCHITECTURE_INTENTS = {
    "ask_not_covered",  # issue 10
    "ask_what_is_hfs",
    "ask_causes",
    "ask_symptoms",
    "ask_diagnosis",
    "ask_treatment_options",
    "ask_medication",
    "ask_botox",
    "ask_botox_side_effects",
    "ask_surgery",
    "ask_surgery_results",
    "ask_surgery_risks",
    "ask_prevalence",
    "ask_prevention",
    "ask_similar_conditions",
    "ask_hospital_stay",
    "ask_cost",
    "ask_travel",
    "book_consultation",
    "request_human",
    "report_emergency",
    "greet",
    "goodbye",
    "thank",
    "affirm",
    "deny",
    "bot_challenge",
    "change_language",
    "out_of_scope",
}


def numbers_in(text: str) -> set[int]:
    return {int(re.sub(r"\D", "", n)) for n in NUMBER.findall(text)}


@lru_cache(maxsize=1)
def source_numbers() -> frozenset[int]:
    words = {
        ENGLISH_NUMBER_WORDS[w]
        for w in re.findall(r"[a-z]+", SOURCE.lower())
        if w in ENGLISH_NUMBER_WORDS
    }
    return frozenset(numbers_in(SOURCE) | words)


def test_domain_declares_exactly_the_architecture_intents() -> None:
    assert set(domain_intents()) == ARCHITECTURE_INTENTS


@pytest.mark.parametrize("name", sorted(RESPONSES))
def test_every_response_has_exactly_one_variation_per_language(name: str) -> None:
    languages = Counter(v.language for v in RESPONSES[name])
    assert set(languages) == set(SUPPORTED_LANGUAGES), f"{name}: {sorted(languages)}"
    assert all(n == 1 for n in languages.values()), f"{name}: {dict(languages)}"


@pytest.mark.parametrize("name", sorted(RESPONSES))
def test_buttons_offer_the_same_choices_in_every_language(name: str) -> None:
    payloads = {tuple(p for _, p in v.buttons) for v in RESPONSES[name]}
    assert len(payloads) == 1, f"{name}: {payloads}"
    for variation in RESPONSES[name]:
        assert all(title.strip() for title, _ in variation.buttons), variation


def _all_variations() -> list[Variation]:
    return [v for variations in RESPONSES.values() for v in variations]


@pytest.mark.parametrize("variation", _all_variations(), ids=lambda v: f"{v.response}-{v.language}")
def test_no_response_states_a_number_the_source_does_not_contain(variation: Variation) -> None:
    assert numbers_in(variation.text) <= source_numbers(), variation.text


@pytest.mark.parametrize("variation", _all_variations(), ids=lambda v: f"{v.response}-{v.language}")
def test_each_variation_is_written_in_its_language(variation: Variation) -> None:
    best = lingua_detector().compute_language_confidence_values(variation.text)[0]
    assert best.language.iso_code_639_1.name.lower() == variation.language, variation.text


def test_key_numbers_of_the_source_are_stated_exactly() -> None:
    english = {v.response: v.text for v in _all_variations() if v.language == "en"}
    assert "every 3 to 6 months" in english["utter_botox"]
    assert "2 to 3 days" in english["utter_surgery_results"]
    assert "11 out of 100,000" in english["utter_prevalence"]
    assert "2:1" in english["utter_prevalence"]
    assert "50s or 60s" in english["utter_what_is_hfs"]


@pytest.mark.parametrize("file_name", ["medical.yml", "clinic.yml"])
def test_every_factual_response_names_its_source_section(file_name: str) -> None:
    lines = (DOMAIN_DIR / file_name).read_text(encoding="utf-8").splitlines()
    for index, line in enumerate(lines):
        if re.match(r"^  utter_\w+:$", line):
            comment = lines[index - 1].strip()
            assert comment.startswith("# ") and (
                "source" in comment or "placeholder" in comment
            ), line
