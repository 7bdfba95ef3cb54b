"""Clinic-editable procedure facts (actions/data/procedures.yml), validated at start-up.

The clinic's reviewed texts (actions/data/clinic_overrides.yml) replace facts here, and the
whole overrides file (response targets included) is checked when the action server starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

import yaml

from bot.clinic_overrides import fact_overrides, load_overrides, read_domain_responses
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


FACT_TARGETS = frozenset(f"{p}.{f}" for p in PROCEDURE_NAMES for f in FACTS)


def with_clinic_overrides(
    loaded: Mapping[str, Procedure], overrides_path: Path | None = None
) -> dict[str, Procedure]:
    """The facts with the clinic's reviewed texts (`source: clinic`) in place."""
    overrides = fact_overrides(
        load_overrides(overrides_path, responses=read_domain_responses(), facts=FACT_TARGETS)
    )
    result = {}
    for key, procedure in loaded.items():
        facts = dict(procedure.facts)
        for name in facts:
            override = overrides.get(f"{key}.{name}")
            if override:
                facts[name] = Fact("clinic", dict(override.text))
        result[key] = Procedure(key, procedure.name, facts)
    return result


@lru_cache(maxsize=1)
def procedures() -> dict[str, Procedure]:
    return with_clinic_overrides(load_procedures())
