"""The medical review sheet is current and complete; the clinic's overrides work and are checked."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa.shared.core.domain import Domain
from rasa.shared.core.slots import TextSlot
from rasa.shared.core.trackers import DialogueStateTracker

from actions.procedures import FACT_TARGETS, load_procedures, with_clinic_overrides
from bot.clinic_overrides import (
    ClinicOverrideError,
    apply_to_responses,
    load_overrides,
    read_domain_responses,
)
from bot.languages import SUPPORTED_LANGUAGES
from bot.nlg import PayloadSafeNaturalLanguageGenerator
from bot.review_sheet import REVIEW_FILES, SHEET_FILE, render, text_sha
from bot.source_text import SECTION_HEADINGS, review_notes, section_of, source_sections
from tests.support.content import DOMAIN_DIR, ROOT

TEFLON_TEXTS = {
    "en": "The neurosurgeon places a small Teflon pad between the vessel and the nerve.",
    "ar": "يضع جرّاح الأعصاب وسادة صغيرة من التفلون بين الوعاء والعصب.",
    "tr": "Beyin cerrahı damar ile sinir arasına küçük bir Teflon yastıkçık yerleştirir.",
    "ru": "Нейрохирург помещает между сосудом и нервом небольшую тефлоновую прокладку.",
    "de": "Der Neurochirurg legt ein kleines Teflon-Polster zwischen Gefäß und Nerv.",
    "fr": "Le neurochirurgien place un petit coussinet en Téflon entre le vaisseau et le nerf.",
}


def teflon_override(target_key: str = "response", target: str = "utter_surgery") -> dict[str, Any]:
    return {
        target_key: target,
        "source": "clinic",
        "reviewed_by": "Dr. Test, neurosurgery",
        "reviewed_on": "2026-12-01",
        "text": dict(TEFLON_TEXTS),
    }


def write_overrides(tmp_path: Path, *entries: dict[str, Any]) -> Path:
    path = tmp_path / "clinic_overrides.yml"
    path.write_text(yaml.safe_dump({"overrides": list(entries)}, allow_unicode=True))
    return path


def test_checked_in_sheet_is_current() -> None:
    assert SHEET_FILE.read_text(encoding="utf-8") == render(), "run `make review-sheet`"


def test_the_command_reports_a_stale_sheet(tmp_path: Path) -> None:
    stale = tmp_path / "sheet.md"
    stale.write_text("old\n", encoding="utf-8")
    command = [sys.executable, "-m", "bot.review_sheet", "--check", "--out", str(stale)]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 1 and "stale" in result.stderr
    subprocess.run(command[:3] + ["--out", str(stale)], cwd=ROOT, check=True)
    assert subprocess.run(command, cwd=ROOT, check=False).returncode == 0


def test_every_medical_response_names_its_source() -> None:
    notes = review_notes()
    for file_name in REVIEW_FILES:
        path = DOMAIN_DIR / file_name
        if not path.exists():
            continue
        names = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("responses") or {}
        for name in names:
            assert notes[name].names_its_source, f"{file_name}: {name} has no '# source:' comment"


def test_cited_sections_exist_in_the_source_text() -> None:
    sections = source_sections()
    assert list(sections) == list(SECTION_HEADINGS)
    assert all(sections.values())
    for note in review_notes().values():
        for section in note.sections:
            assert section in sections, f"{note.response}: unknown section {section!r}"


def test_every_procedure_fact_starts_with_its_source_section() -> None:
    for procedure in load_procedures().values():
        for name, fact in procedure.facts.items():
            assert fact.source == "clinic" or section_of(fact.source), (procedure.key, name)


def test_sheet_shows_every_medical_text_in_every_language_beside_its_source() -> None:
    sheet = SHEET_FILE.read_text(encoding="utf-8")
    responses = read_domain_responses()
    for name, note in review_notes().items():
        if not note.sections:
            continue
        assert f"### `{name}`" in sheet
        for variation in responses[name]:
            assert text_sha(variation["text"]) in sheet, (name, variation.get("condition"))
        for section in note.sections:
            assert source_sections()[section][0] in sheet
    for procedure in load_procedures().values():
        for fact in procedure.facts.values():
            for text in fact.text.values():
                assert text_sha(text) in sheet


def test_metal_plate_sentence_is_flagged_for_the_reviewer() -> None:
    sheet = SHEET_FILE.read_text(encoding="utf-8")
    flags = sheet.split("## Flags", 1)[1].split("## 1.", 1)[0]
    assert "`utter_surgery`" in flags and "`fact:microvascular_decompression.what_happens`" in flags
    assert flags.count("Teflon") >= 2


def test_shipped_overrides_file_is_valid() -> None:
    load_overrides(responses=read_domain_responses(), facts=FACT_TARGETS)


def test_a_response_override_reaches_the_patient_through_the_bots_nlg(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLINIC_OVERRIDES_FILE", str(write_overrides(tmp_path, teflon_override())))
    domain = Domain.load(str(DOMAIN_DIR))
    nlg = PayloadSafeNaturalLanguageGenerator(domain=domain)
    nlg.responses = domain.responses  # as Rasa does after loading a model
    for language in SUPPORTED_LANGUAGES:
        slot = TextSlot("language", mappings=[{}], initial_value=language)
        tracker = DialogueStateTracker("patient", [slot])
        message = nlg.generate_from_slots("utter_surgery", tracker.current_slot_values(), "rest")
        assert message and message["text"] == TEFLON_TEXTS[language]
    untouched = nlg.generate_from_slots("utter_botox", {"language": "de"}, "rest")
    assert untouched and "Botulinumtoxin" in untouched["text"]


def test_a_fact_override_replaces_the_procedure_fact(tmp_path: Path) -> None:
    path = write_overrides(
        tmp_path, teflon_override("fact", "microvascular_decompression.what_happens")
    )
    facts = with_clinic_overrides(load_procedures(), path)
    fact = facts["microvascular_decompression"].facts["what_happens"]
    assert fact.source == "clinic" and fact.in_language("ru") == TEFLON_TEXTS["ru"]
    assert facts["botox"].facts == load_procedures()["botox"].facts


def _without(key: str) -> dict[str, Any]:
    entry = teflon_override()
    entry.pop(key)
    return entry


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({**teflon_override(), "source": "Surgical results"}, "source: clinic"),
        (_without("reviewed_by"), "needs 'reviewed_by'"),
        ({**teflon_override(), "reviewed_on": "soon"}, "must be a date"),
        ({**teflon_override(), "text": {"en": "only English"}}, "missing languages"),
        (teflon_override(target="utter_no_such_thing"), "no response 'utter_no_such_thing'"),
        (teflon_override("fact", "botox.price"), "no fact 'botox.price'"),
        ({**teflon_override(), "fact": "botox.what_happens"}, "exactly one"),
        (
            {
                **teflon_override(target="utter_handoff_created"),
                "text": {lang: "Done." for lang in SUPPORTED_LANGUAGES},
            },
            "must keep the placeholders",
        ),
    ],
)
def test_broken_override_is_refused_with_a_clear_message(
    tmp_path: Path, entry: dict[str, Any], message: str
) -> None:
    with pytest.raises(ClinicOverrideError, match=message):
        load_overrides(
            write_overrides(tmp_path, entry), responses=read_domain_responses(), facts=FACT_TARGETS
        )


def test_the_same_text_overridden_twice_is_refused(tmp_path: Path) -> None:
    path = write_overrides(tmp_path, teflon_override(), teflon_override())
    with pytest.raises(ClinicOverrideError, match="overridden twice"):
        load_overrides(path, responses=read_domain_responses())


def test_override_keeps_the_buttons(tmp_path: Path) -> None:
    entry = {**teflon_override(target="utter_treatment_options")}
    overrides = load_overrides(write_overrides(tmp_path, entry), responses=read_domain_responses())
    original = read_domain_responses()
    replaced = apply_to_responses(original, overrides)["utter_treatment_options"]
    assert [v.get("buttons") for v in replaced] == [
        v.get("buttons") for v in original["utter_treatment_options"]
    ]
    assert {v["text"] for v in replaced} == set(TEFLON_TEXTS.values())


def test_action_server_code_refuses_to_load_with_a_broken_overrides_file(tmp_path: Path) -> None:
    broken = write_overrides(tmp_path, {**teflon_override(), "source": "internet"})
    result = subprocess.run(
        [sys.executable, "-c", "import actions.logistics"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "CLINIC_OVERRIDES_FILE": str(broken)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0 and "must be marked 'source: clinic'" in result.stderr
