"""Clinic-editable procedure facts (actions/data/procedures.yml), validated at start-up."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

import yaml

from bot.languages import DEFAULT_LANGUAGE, SUPPORTED_LANGUAGES

PROCEDURES_FILE = Path(__file__).parent / "data" / "procedures.yml"
PROCEDURE_NAMES = ("microvascular_decompression", "botox", "medication")
FACTS = ("hospital_stay", "what_happens")


class ProcedureDataError(ValueError):
    """procedures.yml is missing something or has the wrong shape."""


@dataclass(frozen=True)
class Fact:
    source: str
    text: Mapping[str, str]

    def in_language(self, language: str | None) -> str:
        return self.text.get(language or DEFAULT_LANGUAGE) or self.text[DEFAULT_LANGUAGE]


@dataclass(frozen=True)
class Procedure:
    key: str
    name: Mapping[str, str]
    facts: Mapping[str, Fact]

    def display_name(self, language: str | None) -> str:
        return self.name.get(language or DEFAULT_LANGUAGE) or self.name[DEFAULT_LANGUAGE]


def _texts(where: str, value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise ProcedureDataError(f"{where}: expected a mapping of language -> text")
    missing = [lang for lang in SUPPORTED_LANGUAGES if not str(value.get(lang) or "").strip()]
    if missing:
        raise ProcedureDataError(f"{where}: missing languages {missing}")
    return {lang: str(value[lang]).strip() for lang in SUPPORTED_LANGUAGES}


def parse_procedures(content: Any, origin: str) -> dict[str, Procedure]:
    if not isinstance(content, dict) or not isinstance(content.get("procedures"), dict):
        raise ProcedureDataError(f"{origin}: expected a top-level 'procedures' mapping")
    raw = content["procedures"]
    missing = [p for p in PROCEDURE_NAMES if p not in raw]
    if missing:
        raise ProcedureDataError(f"{origin}: missing procedures {missing}")
    procedures = {}
    for key in PROCEDURE_NAMES:
        entry = raw[key]
        where = f"{origin}: {key}"
        if not isinstance(entry, dict):
            raise ProcedureDataError(f"{where}: expected a mapping")
        facts = {}
        for fact in FACTS:
            item = entry.get(fact)
            if not isinstance(item, dict) or not str(item.get("source") or "").strip():
                raise ProcedureDataError(f"{where}.{fact}: needs a 'source' and a 'text'")
            facts[fact] = Fact(
                str(item["source"]), _texts(f"{where}.{fact}.text", item.get("text"))
            )
        procedures[key] = Procedure(key, _texts(f"{where}.name", entry.get("name")), facts)
    return procedures


def load_procedures(path: Path = PROCEDURES_FILE) -> dict[str, Procedure]:
    try:
        content = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise ProcedureDataError(f"{path}: cannot be read ({error})") from error
    return parse_procedures(content, str(path))


@lru_cache(maxsize=1)
def procedures() -> dict[str, Procedure]:
    return load_procedures()
