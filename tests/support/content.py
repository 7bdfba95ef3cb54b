"""Read the domain's responses and the NLU files the way the tests need them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.clinic_overrides import apply_to_responses, load_overrides
from bot.languages import DEFAULT_LANGUAGE

ROOT = Path(__file__).resolve().parents[2]
DOMAIN_DIR = ROOT / "domain"


@dataclass(frozen=True)
class Variation:
    response: str
    language: str
    text: str
    buttons: tuple[tuple[str, str], ...]  # (title, payload)


def variation_language(variation: dict[str, Any]) -> str:
    """The `language` slot value a variation is conditioned on; unconditional is English."""
    for condition in variation.get("condition") or []:
        if condition.get("name") == "language":
            return str(condition["value"])
    return DEFAULT_LANGUAGE


def domain_responses(clinic_overrides: bool = True) -> dict[str, list[Variation]]:
    """Every response as the patient sees it: with the clinic's overrides unless told not to."""
    raw: dict[str, list[dict[str, Any]]] = {}
    for path in sorted(DOMAIN_DIR.glob("*.yml")):
        content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        raw.update(content.get("responses") or {})
    if clinic_overrides:
        raw = apply_to_responses(raw, load_overrides(responses=raw))
    return {
        name: [
            Variation(
                name,
                variation_language(v),
                v.get("text", ""),
                tuple((b["title"], b["payload"]) for b in v.get("buttons") or []),
            )
            for v in variations
        ]
        for name, variations in raw.items()
    }


def domain_intents() -> list[str]:
    intents: list[str] = []
    for path in sorted(DOMAIN_DIR.glob("*.yml")):
        content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        intents += [
            i if isinstance(i, str) else next(iter(i)) for i in content.get("intents") or []
        ]
    return intents


_ANNOTATION = re.compile(r"\[([^\]]+)\]\{[^}]*\}")


def plain_text(example: str) -> str:
    """The example as the patient typed it, without entity annotations."""
    return _ANNOTATION.sub(r"\1", example)


def nlu_examples(path: Path) -> dict[str, list[str]]:
    """intent -> examples (annotated) of one Rasa NLU YAML file."""
    content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    examples: dict[str, list[str]] = {}
    for block in content.get("nlu") or []:
        if "intent" not in block:
            continue
        lines = [line.strip() for line in block["examples"].splitlines()]
        examples.setdefault(block["intent"], []).extend(
            line[2:].strip() for line in lines if line.startswith("- ")
        )
    return examples


def annotations(example: str) -> list[tuple[str, str, str]]:
    """(surface text, entity, value) of each annotation in an example."""
    found = []
    for match in re.finditer(r"\[([^\]]+)\](\{[^}]*\})", example):
        data = yaml.safe_load(match.group(2))
        found.append((match.group(1), data["entity"], str(data.get("value", match.group(1)))))
    return found
