"""The clinic-editable procedure facts: complete, traceable, and refused when broken."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from actions.procedures import PROCEDURES_FILE, ProcedureDataError, load_procedures
from bot.languages import SUPPORTED_LANGUAGES
from tests.test_content import numbers_in, source_numbers


def test_shipped_file_is_valid_and_complete() -> None:
    procedures = load_procedures()
    assert set(procedures) == {"microvascular_decompression", "botox", "medication"}
    for procedure in procedures.values():
        for fact in procedure.facts.values():
            assert set(fact.text) == set(SUPPORTED_LANGUAGES) and fact.source.strip()


def test_facts_state_only_numbers_from_the_source() -> None:
    for procedure in load_procedures().values():
        for fact in procedure.facts.values():
            for text in fact.text.values():
                assert numbers_in(text) <= source_numbers(), text


def test_surgery_stay_is_two_to_three_days() -> None:
    stay = load_procedures()["microvascular_decompression"].facts["hospital_stay"]
    assert "2 to 3 days" in stay.in_language("en")


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["procedures"].pop("botox"), "missing procedures"),
        (
            lambda d: d["procedures"]["botox"]["hospital_stay"]["text"].pop("ar"),
            "missing languages",
        ),
        (lambda d: d["procedures"]["medication"]["what_happens"].pop("source"), "needs a 'source'"),
    ],
)
def test_broken_file_is_refused_with_a_clear_message(tmp_path: Path, mutate, message: str) -> None:  # type: ignore[no-untyped-def]
    data = yaml.safe_load(PROCEDURES_FILE.read_text(encoding="utf-8"))
    mutate(data)
    broken = tmp_path / "procedures.yml"
    broken.write_text(yaml.safe_dump(data, allow_unicode=True))
    with pytest.raises(ProcedureDataError, match=message):
        load_procedures(broken)


def test_unreadable_yaml_is_refused(tmp_path: Path) -> None:
    broken = tmp_path / "procedures.yml"
    broken.write_text("procedures: [unclosed")
    with pytest.raises(ProcedureDataError, match="cannot be read"):
        load_procedures(broken)
