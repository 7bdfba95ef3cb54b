"""The console's data files, loaded and checked once at start-up: topics, canned replies,
WhatsApp templates, UI labels, and the domain's own responses (for showing a bot turn in the
coordinator's language)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

import yaml

from bot.coordinator.config import UI_LANGUAGES
from bot.languages import DEFAULT_LANGUAGE, SUPPORTED_LANGUAGES

HERE = Path(__file__).resolve().parent
DOMAIN_DIR = HERE.parent.parent / "domain"


class ContentError(ValueError):
    """A data file of the console is incomplete."""


@dataclass(frozen=True)
class Reply:
    id: str
    label: Mapping[str, str]  # coordinator language -> picker label
    text: Mapping[str, str]  # patient language -> text sent


@dataclass(frozen=True)
class Template:
    name: str
    languages: Mapping[str, str]  # patient language -> approved template language code
    parameters: tuple[str, ...]
    description: Mapping[str, str]


def _load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ContentError(f"{path}: expected a mapping")
    return data


def _complete(path: Path, where: str, texts: Any, languages: tuple[str, ...]) -> dict[str, str]:
    if not isinstance(texts, dict) or any(
        not isinstance(texts.get(lang), str) or not texts[lang].strip() for lang in languages
    ):
        raise ContentError(f"{path}: {where} needs a text in each of {', '.join(languages)}")
    return {lang: str(texts[lang]) for lang in texts}


@lru_cache(maxsize=1)
def topics(path: Path = HERE / "topics.yml") -> dict[str, dict[str, str]]:
    return {
        intent: _complete(path, intent, labels, UI_LANGUAGES)
        for intent, labels in _load(path).items()
    }


@lru_cache(maxsize=1)
def replies(path: Path = HERE / "replies.yml") -> dict[str, Reply]:
    result = {}
    for reply_id, raw in _load(path).items():
        raw = raw if isinstance(raw, dict) else {}
        result[reply_id] = Reply(
            reply_id,
            _complete(path, f"{reply_id}.label", raw.get("label"), UI_LANGUAGES),
            _complete(path, f"{reply_id}.text", raw.get("text"), SUPPORTED_LANGUAGES),
        )
    return result


@lru_cache(maxsize=1)
def templates(path: Path = HERE / "whatsapp_templates.yml") -> dict[str, Template]:
    result = {}
    for name, raw in _load(path).items():
        raw = raw if isinstance(raw, dict) else {}
        parameters = raw.get("parameters") or []
        if not isinstance(parameters, list):
            raise ContentError(f"{path}: {name}.parameters must be a list")
        result[name] = Template(
            name,
            _complete(path, f"{name}.languages", raw.get("languages"), SUPPORTED_LANGUAGES),
            tuple(str(p) for p in parameters),
            _complete(path, f"{name}.description", raw.get("description"), UI_LANGUAGES),
        )
    return result


@lru_cache(maxsize=1)
def ui_labels(path: Path = HERE / "ui.yml") -> dict[str, dict[str, str]]:
    return {key: _complete(path, key, labels, UI_LANGUAGES) for key, labels in _load(path).items()}


def _response_language(variation: Mapping[str, Any]) -> str | None:
    conditions = variation.get("condition") or []
    for condition in conditions:
        if isinstance(condition, dict) and condition.get("name") == "language":
            return str(condition.get("value"))
    return DEFAULT_LANGUAGE if not conditions else None


@lru_cache(maxsize=1)
def domain_responses(directory: Path = DOMAIN_DIR) -> dict[str, dict[str, str]]:
    """response name -> language -> text (the first variation of that language)."""
    result: dict[str, dict[str, str]] = {}
    for path in sorted(directory.glob("*.yml")):
        for name, variations in (_load(path).get("responses") or {}).items():
            for variation in variations or []:
                if not isinstance(variation, dict) or not isinstance(variation.get("text"), str):
                    continue
                language = _response_language(variation)
                if language:
                    result.setdefault(name, {}).setdefault(language, variation["text"])
    return result


def load_all() -> None:
    """Fail at start-up, not on the first coordinator: every file parsed and checked."""
    topics()
    replies()
    templates()
    ui_labels()
    domain_responses()
