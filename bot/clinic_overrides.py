"""The clinic's own reviewed texts, replacing a medical response or a procedure fact.

We answer from the vetted source text (docs/source.txt). Where the clinic's medical reviewer
wants other wording (the source says "a small metal plate"; the clinic's surgeons use a
Teflon pad), the clinic writes its reviewed text in `actions/data/clinic_overrides.yml`,
marked `source: clinic`, in all six languages. The bot's NLG (bot/nlg.py), the action
server (actions/procedures.py) and the review sheet (bot/review_sheet.py) all read it;
a broken file stops the action server at start-up and fails the tests.
"""

from __future__ import annotations

import copy
import os
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Collection, Mapping

import yaml

from bot.languages import DEFAULT_LANGUAGE, SUPPORTED_LANGUAGES

ROOT = Path(__file__).resolve().parent.parent
OVERRIDES_FILE = ROOT / "actions" / "data" / "clinic_overrides.yml"
DOMAIN_DIR = ROOT / "domain"
PLACEHOLDER = re.compile(r"\{\w+\}")

Responses = Mapping[str, list[dict[str, Any]]]


class ClinicOverrideError(ValueError):
    """clinic_overrides.yml is malformed or names something that does not exist."""


@dataclass(frozen=True)
class Override:
    kind: str  # "response" or "fact"
    target: str  # "utter_surgery" or "microvascular_decompression.what_happens"
    reviewed_by: str
    reviewed_on: str
    text: Mapping[str, str]


def overrides_file() -> Path:
    """The shipped file, or CLINIC_OVERRIDES_FILE (a deployment's own copy)."""
    return Path(os.environ.get("CLINIC_OVERRIDES_FILE") or OVERRIDES_FILE)


def variation_language(variation: Mapping[str, Any]) -> str:
    """The `language` slot value a response variation is conditioned on (default English)."""
    for condition in variation.get("condition") or []:
        if condition.get("name") == "language":
            return str(condition.get("value"))
    return DEFAULT_LANGUAGE


def read_domain_responses(domain_dir: Path = DOMAIN_DIR) -> dict[str, list[dict[str, Any]]]:
    responses: dict[str, list[dict[str, Any]]] = {}
    for path in sorted(domain_dir.glob("*.yml")):
        content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        responses.update(content.get("responses") or {})
    return responses


def _required(where: str, entry: Mapping[str, Any], key: str) -> str:
    value = str(entry.get(key) or "").strip()
    if not value:
        raise ClinicOverrideError(f"{where}: needs '{key}'")
    return value


def _parse_entry(where: str, entry: Any) -> Override:
    if not isinstance(entry, dict):
        raise ClinicOverrideError(f"{where}: expected a mapping")
    targets = [key for key in ("response", "fact") if entry.get(key)]
    if len(targets) != 1:
        raise ClinicOverrideError(f"{where}: name exactly one 'response' or 'fact'")
    if entry.get("source") != "clinic":
        raise ClinicOverrideError(f"{where}: must be marked 'source: clinic'")
    reviewed_on = _required(where, entry, "reviewed_on")
    try:
        date.fromisoformat(reviewed_on)
    except ValueError as error:
        raise ClinicOverrideError(f"{where}: reviewed_on must be a date (YYYY-MM-DD)") from error
    texts = entry.get("text")
    if not isinstance(texts, dict):
        raise ClinicOverrideError(f"{where}: 'text' must map each language to its text")
    missing = [lang for lang in SUPPORTED_LANGUAGES if not str(texts.get(lang) or "").strip()]
    if missing:
        raise ClinicOverrideError(f"{where}: missing languages {missing}")
    unknown = sorted(set(texts) - set(SUPPORTED_LANGUAGES))
    if unknown:
        raise ClinicOverrideError(f"{where}: unknown languages {unknown}")
    return Override(
        kind=targets[0],
        target=str(entry[targets[0]]).strip(),
        reviewed_by=_required(where, entry, "reviewed_by"),
        reviewed_on=reviewed_on,
        text={lang: str(texts[lang]).strip() for lang in SUPPORTED_LANGUAGES},
    )


def _check_response(where: str, override: Override, responses: Responses) -> None:
    variations = responses.get(override.target)
    if variations is None:
        raise ClinicOverrideError(f"{where}: no response '{override.target}' in the domain")
    by_language = {variation_language(v): v for v in variations}
    for lang in SUPPORTED_LANGUAGES:
        original = str((by_language.get(lang) or {}).get("text") or "")
        wanted, given = (
            set(PLACEHOLDER.findall(original)),
            set(PLACEHOLDER.findall(override.text[lang])),
        )
        if wanted != given:
            raise ClinicOverrideError(
                f"{where}: {lang} text must keep the placeholders {sorted(wanted)}, "
                f"has {sorted(given)}"
            )


def parse_overrides(
    content: Any,
    origin: str,
    responses: Responses | None = None,
    facts: Collection[str] | None = None,
) -> dict[tuple[str, str], Override]:
    """(kind, target) -> override. Targets are checked when `responses` / `facts` are given."""
    if content is None:
        return {}
    if not isinstance(content, dict) or not isinstance(content.get("overrides") or [], list):
        raise ClinicOverrideError(f"{origin}: expected a top-level 'overrides' list")
    found: dict[tuple[str, str], Override] = {}
    for index, entry in enumerate(content.get("overrides") or []):
        where = f"{origin}: overrides[{index}]"
        override = _parse_entry(where, entry)
        key = (override.kind, override.target)
        if key in found:
            raise ClinicOverrideError(f"{where}: '{override.target}' is overridden twice")
        if override.kind == "response" and responses is not None:
            _check_response(where, override, responses)
        if override.kind == "fact" and facts is not None and override.target not in facts:
            raise ClinicOverrideError(
                f"{where}: no fact '{override.target}' (expected <procedure>.<fact>)"
            )
        found[key] = override
    return found


def load_overrides(
    path: Path | None = None,
    responses: Responses | None = None,
    facts: Collection[str] | None = None,
) -> dict[tuple[str, str], Override]:
    path = path or overrides_file()
    try:
        content = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise ClinicOverrideError(f"{path}: cannot be read ({error})") from error
    return parse_overrides(content, str(path), responses, facts)


def response_overrides(overrides: Mapping[tuple[str, str], Override]) -> dict[str, Override]:
    return {target: o for (kind, target), o in overrides.items() if kind == "response"}


def fact_overrides(overrides: Mapping[tuple[str, str], Override]) -> dict[str, Override]:
    return {target: o for (kind, target), o in overrides.items() if kind == "fact"}


def apply_to_responses(
    responses: Responses, overrides: Mapping[tuple[str, str], Override]
) -> dict[str, list[dict[str, Any]]]:
    """A copy of `responses` with each overridden response's text replaced, buttons kept."""
    result = {name: list(variations) for name, variations in responses.items()}
    for name, override in response_overrides(overrides).items():
        if name not in result:
            continue
        replaced = []
        for variation in result[name]:
            variation = copy.deepcopy(variation)
            variation["text"] = override.text.get(variation_language(variation), variation["text"])
            replaced.append(variation)
        result[name] = replaced
    return result
