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


def test_a_stem_matches_every_ending_and_keeps_the_original_offsets(tmp_path: Path) -> None:
    (tmp_path / "t.yml").write_text(
        'risk_context:\n  allergy: ["alerji*", "аллерг*"]\n  best_provider: ["en iyi cerrah*"]\n',
        encoding="utf-8",
    )
    matcher = TermMatcher(read_term_files([tmp_path / "t.yml"]))
    text = "İyot ALERJİM var; у меня аллергией, en iyi cerrahınız kim?"
    found = matcher.find(text)
    assert [(e["value"], e["text"]) for e in found] == [
        ("allergy", "ALERJİM"),
        ("allergy", "аллергией"),
        ("best_provider", "en iyi cerrahınız"),
    ]
    assert matcher.find("alerj yok, en iyi doktor") == []  # shorter than the stem; other words


def test_an_arabic_stem_is_found_behind_its_proclitic(tmp_path: Path) -> None:
    (tmp_path / "t.yml").write_text('risk_context:\n  pregnancy: ["حامل*"]\n', encoding="utf-8")
    matcher = TermMatcher(read_term_files([tmp_path / "t.yml"]))
    assert [e["text"] for e in matcher.find("هل البوتوكس آمن للحامل والحاملات؟")] == [
        "للحامل",
        "والحاملات",
    ]
    assert matcher.find("تحامل عليه") == []  # not a proclitic: a different word


def test_an_exact_form_longer_than_a_stem_wins(tmp_path: Path) -> None:
    (tmp_path / "t.yml").write_text(
        'risk_context:\n  allergy: ["allerg*"]\n  interactions: ["allergy pills together"]\n',
        encoding="utf-8",
    )
    matcher = TermMatcher(read_term_files([tmp_path / "t.yml"]))
    assert [e["value"] for e in matcher.find("my allergy pills together with it")] == [
        "interactions"
    ]


def test_any_word_of_a_term_may_be_a_stem(tmp_path: Path) -> None:
    (tmp_path / "t.yml").write_text(
        'risk_context:\n  best_provider: ["лучш* клиник*"]\n', encoding="utf-8"
    )
    matcher = TermMatcher(read_term_files([tmp_path / "t.yml"]))
    assert [e["text"] for e in matcher.find("В лучшей клинике Стамбула?")] == ["лучшей клинике"]
    assert matcher.find("лучше в клинике") == []
