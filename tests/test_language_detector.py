"""LanguageDetector: confident detection only, sticky on short or neutral text, hints win."""

from __future__ import annotations

import pytest
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.language_detector import DETECTED_LANGUAGE, LanguageDetector
from tests.support.pipeline import component_config


@pytest.fixture(scope="module")
def detector() -> LanguageDetector:
    return LanguageDetector(
        component_config("LanguageDetector", LanguageDetector.get_default_config())
    )


def language_entities(message: Message) -> list[str]:
    return [e["value"] for e in message.get("entities", []) if e["entity"] == "language"]


def run(detector: LanguageDetector, text: str, metadata: dict | None = None) -> Message:
    message = Message(data={"text": text, "metadata": metadata or {}})
    detector.process([message])
    return message


@pytest.mark.parametrize("text", ["ok", "OK", "okay", "botox?", "👍", "MRI", "123", "?"])
def test_short_or_neutral_message_emits_no_language(detector: LanguageDetector, text: str) -> None:
    assert language_entities(run(detector, text)) == []


def test_ok_keeps_arabic_slot_because_nothing_is_emitted(detector: LanguageDetector) -> None:
    # The slot is sticky: with no `language` entity the slot (here Arabic) stays as it is.
    assert language_entities(run(detector, "ok")) == []


def test_merhaba_switches_to_turkish(detector: LanguageDetector) -> None:
    assert language_entities(run(detector, "Merhaba")) == ["tr"]


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("What are the side effects of Botox injections?", "en"),
        ("ما هو التشنج النصفي للوجه", "ar"),
        ("ameliyattan sonra kac gun hastanede kalirim", "tr"),
        ("сколько стоит операция", "ru"),
        ("Wie lange muss ich nach der Operation im Krankenhaus bleiben?", "de"),
        ("combien de jours a l'hopital apres l'operation", "fr"),
    ],
)
def test_confident_sentences_emit_their_language(
    detector: LanguageDetector, text: str, language: str
) -> None:
    assert language_entities(run(detector, text)) == [language]


def test_metadata_hint_wins_over_detection(detector: LanguageDetector) -> None:
    message = run(detector, "hello, what is hemifacial spasm?", {"language": "ar"})
    assert language_entities(message) == ["ar"]
    assert message.get(DETECTED_LANGUAGE) == "ar"


def test_metadata_hint_applies_to_short_messages(detector: LanguageDetector) -> None:
    assert language_entities(run(detector, "ok", {"language": "de-AT"})) == ["de"]


def test_unsupported_hint_is_ignored(detector: LanguageDetector) -> None:
    assert language_entities(run(detector, "ok", {"language": "zz"})) == []


def test_best_guess_is_set_even_when_not_confident(detector: LanguageDetector) -> None:
    assert run(detector, "ok").get(DETECTED_LANGUAGE) in {"en", "ar", "tr", "ru", "de", "fr"}


@pytest.mark.parametrize(
    "text", ["mohamed.ali@example.com", "https://example.com/page", "www.klinik.de"]
)
def test_addresses_carry_no_language(detector: LanguageDetector, text: str) -> None:
    assert language_entities(run(detector, text)) == []


@pytest.mark.parametrize(
    "text", ["operaciya opasnaya? i skolko ona stoit?", "chto takoe gemifacialnyj spazm"]
)
def test_russian_in_latin_letters_is_guessed_russian_never_confidently(
    detector: LanguageDetector, text: str
) -> None:
    detection = detector.detect(text)
    assert (detection.language, detection.confident) == ("ru", False)
