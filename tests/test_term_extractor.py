"""TermEntityExtractor: procedure terms in every language, language names only to switch."""

from __future__ import annotations

from pathlib import Path

import pytest
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.term_extractor import TermEntityExtractor, TermFileError, TermMatcher, read_term_files
from tests.support.content import ROOT


@pytest.fixture(scope="module")
def extractor() -> TermEntityExtractor:
    terms = read_term_files((ROOT / "data" / "terms").glob("*.yml"))
    return TermEntityExtractor({"terms_dir": "data/terms"}, None, None, terms)  # type: ignore[arg-type]


def parse(
    extractor: TermEntityExtractor,
    text: str,
    intent: str = "ask_botox",
    entities: list | None = None,
) -> Message:
    message = Message(data={"text": text, "intent": {"name": intent}, "entities": entities or []})
    extractor.process([message])
    return message


def values(message: Message, entity: str) -> list[str]:
    return [e["value"] for e in message.get("entities", []) if e["entity"] == entity]


@pytest.mark.parametrize(
    ("text", "procedure"),
    [
        ("What are the side effects of Botox?", "botox"),
        ("botoksun yan etkileri neler", "botox"),
        ("BOTOKS'UN fiyatı", "botox"),
        ("побочные эффекты ботокса", "botox"),
        ("ما هي أضرار البوتوكس", "botox"),
        ("Wie riskant ist die Operation?", "microvascular_decompression"),
        ("is microvascular decompression safe", "microvascular_decompression"),
        ("la carbamazepine marche?", "medication"),
    ],
)
def test_procedures_are_found_and_normalised(
    extractor: TermEntityExtractor, text: str, procedure: str
) -> None:
    assert values(parse(extractor, text), "procedure") == [procedure]


def test_entity_offsets_point_at_the_original_text(extractor: TermEntityExtractor) -> None:
    text = "Ameliyatın riskleri?"
    entity = next(e for e in parse(extractor, text).get("entities") if e["entity"] == "procedure")
    assert text[entity["start"] : entity["end"]] == entity["text"]
    assert entity["extractor"] == "TermEntityExtractor"


def test_language_name_switches_only_for_change_language(extractor: TermEntityExtractor) -> None:
    detected = [{"entity": "language", "value": "en", "extractor": "LanguageDetector"}]
    asked = parse(extractor, "can you answer in Turkish please", "change_language", detected)
    assert values(asked, "language") == ["tr"]
    mentioned = parse(
        extractor, "my mother speaks Turkish, is botox safe?", "ask_botox_side_effects", detected
    )
    assert values(mentioned, "language") == ["en"]


def test_change_request_without_a_named_language_drops_the_detected_one(
    extractor: TermEntityExtractor,
) -> None:
    detected = [{"entity": "language", "value": "en", "extractor": "LanguageDetector"}]
    assert (
        values(parse(extractor, "another language please", "change_language", detected), "language")
        == []
    )


def test_message_without_terms_is_left_alone(extractor: TermEntityExtractor) -> None:
    assert parse(extractor, "hello there", "greet").get("entities") == []


def test_longest_term_wins(tmp_path: Path) -> None:
    (tmp_path / "xx.yml").write_text(
        "procedure:\n  microvascular_decompression: [decompression, microvascular decompression]\n"
    )
    found = TermMatcher(read_term_files([tmp_path / "xx.yml"])).find("microvascular decompression?")
    assert [(e["text"], e["value"]) for e in found] == [
        ("microvascular decompression", "microvascular_decompression")
    ]


def test_broken_term_file_is_reported_with_its_path(tmp_path: Path) -> None:
    (tmp_path / "bad.yml").write_text("procedure:\n  botox: botox\n")
    with pytest.raises(TermFileError, match="bad.yml"):
        read_term_files([tmp_path / "bad.yml"])
