"""Training data: every intent in every language, enough examples, held-out kept apart."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.languages import SUPPORTED_LANGUAGES
from bot.nlu.term_extractor import TermMatcher, read_term_files
from tests.support.content import ROOT, annotations, domain_intents, nlu_examples, plain_text

SMALL_TALK = {
    "greet",
    "goodbye",
    "thank",
    "affirm",
    "deny",
    "bot_challenge",
    "change_language",
    "out_of_scope",
}
PROCEDURES = {"botox", "microvascular_decompression", "medication"}


def minimum_examples(intent: str, language: str) -> int:
    if intent in SMALL_TALK:
        return 10
    return 30 if language == "en" else 20


def normalised(example: str) -> str:
    return re.sub(r"[^\w]+", " ", plain_text(example).lower()).strip()


def training(language: str) -> dict[str, list[str]]:
    return nlu_examples(ROOT / "data" / "nlu" / f"{language}.yml")


def held_out(language: str) -> dict[str, list[str]]:
    return nlu_examples(ROOT / "tests" / "nlu" / f"{language}.yml")


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_every_intent_has_the_minimum_training_examples(language: str) -> None:
    examples = training(language)
    short = {
        intent: len(examples.get(intent, []))
        for intent in domain_intents()
        if len(examples.get(intent, [])) < minimum_examples(intent, language)
    }
    assert not short, f"{language}: too few examples {short}"


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_no_intent_outside_the_domain(language: str) -> None:
    assert set(training(language)) <= set(domain_intents())
    assert set(held_out(language)) <= set(domain_intents())


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_held_out_split_covers_every_intent(language: str) -> None:
    examples = held_out(language)
    short = {i: len(examples.get(i, [])) for i in domain_intents() if len(examples.get(i, [])) < 5}
    assert not short, f"{language}: held-out too small {short}"


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_held_out_examples_never_appear_in_training(language: str) -> None:
    trained = {normalised(e) for examples in training(language).values() for e in examples}
    leaked = [
        e for examples in held_out(language).values() for e in examples if normalised(e) in trained
    ]
    assert not leaked, leaked


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_no_duplicate_training_examples(language: str) -> None:
    counts: dict[str, int] = {}
    for examples in training(language).values():
        for example in examples:
            counts[normalised(example)] = counts.get(normalised(example), 0) + 1
    assert not {e: n for e, n in counts.items() if n > 1}


@pytest.fixture(scope="module")
def matcher() -> TermMatcher:
    return TermMatcher(read_term_files((ROOT / "data" / "terms").glob("*.yml")))


def _annotated_files() -> list[Path]:
    return sorted((ROOT / "data" / "nlu").glob("*.yml")) + sorted(
        (ROOT / "tests" / "nlu").glob("*.yml")
    )


@pytest.mark.parametrize("path", _annotated_files(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_annotated_procedure_is_found_by_the_term_lists(
    path: Path, matcher: TermMatcher
) -> None:
    missed = []
    for examples in nlu_examples(path).values():
        for example in examples:
            for surface, entity, value in annotations(example):
                if entity != "procedure":
                    continue
                assert value in PROCEDURES, example
                found = {e["value"] for e in matcher.find(surface) if e["entity"] == "procedure"}
                if value not in found:
                    missed.append(f"{surface} ({value})")
    assert not missed, f"{len(missed)} missed: {sorted(set(missed))[:40]}"
