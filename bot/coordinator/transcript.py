"""Tracker events → the turns the coordinator reads. Pure functions, no I/O.

Patient turn: a `user` event (text, intent, language, time, the understood topic in the
coordinator's language). Coordinator turn: a `bot` event with `metadata.from ==
"coordinator"`. Bot turn: any other `bot` event; when its `metadata.utter_action` names a
domain response, the same response in the coordinator's language is shown next to it.
"""

from __future__ import annotations

import re
import string
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any, Mapping, Optional, Sequence

from bot.names import LANGUAGE_ENTITY, LANGUAGE_SLOT

COORDINATOR = "coordinator"
_FIELDS = string.Formatter()


@dataclass(frozen=True)
class Turn:
    role: str  # patient | bot | coordinator
    time: Optional[str]
    text: str
    language: Optional[str] = None
    intent: Optional[str] = None
    topic: Optional[str] = None  # the intent in the coordinator's language
    translation: Optional[str] = None  # bot turns: same response, coordinator's language
    name: Optional[str] = None  # coordinator turns: who wrote it
    channel: Optional[str] = None
    message_id: Optional[str] = None
    buttons: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {key: value for key, value in asdict(self).items() if value not in (None, [])}


def iso_time(timestamp: Any) -> Optional[str]:
    if not isinstance(timestamp, int | float):
        return None
    return datetime.fromtimestamp(timestamp, tz=timezone.utc).isoformat()


def _template_pattern(template: str) -> re.Pattern[str] | None:
    """`Ticket {reference} in {hours} h` → a regex capturing the placeholders' values."""
    parts, names = [], set()
    try:
        for literal, name, _, _ in _FIELDS.parse(template):
            parts.append(re.escape(literal))
            if name is not None:
                if not name.isidentifier() or name in names:
                    return None
                names.add(name)
                parts.append(f"(?P<{name}>.+?)")
    except ValueError:
        return None
    return re.compile("^" + "".join(parts) + "$", re.DOTALL)


class _Values(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "…"


def fill(template: str, values: Mapping[str, Any]) -> str:
    try:
        return template.format_map(_Values({k: str(v) for k, v in values.items() if v is not None}))
    except (ValueError, IndexError, AttributeError):
        return template


def translate_response(
    responses: Mapping[str, Mapping[str, str]],
    name: Optional[str],
    shown_text: str,
    patient_language: Optional[str],
    target_language: str,
    slots: Mapping[str, Any],
) -> Optional[str]:
    """The response `name` in `target_language`, its placeholders filled with the values
    read back from the text the patient saw (else the tracker's slots)."""
    variations = responses.get(name or "")
    if not variations or target_language not in variations:
        return None
    values: dict[str, Any] = dict(slots)
    source = variations.get(patient_language or "") or variations.get("en")
    pattern = _template_pattern(source) if source else None
    match = pattern.match(shown_text.strip()) if pattern else None
    if match:
        values.update(match.groupdict())
    translated = fill(variations[target_language], values)
    return None if translated.strip() == shown_text.strip() else translated


def _language_of(event: Mapping[str, Any], current: Optional[str]) -> Optional[str]:
    for entity in (event.get("parse_data") or {}).get("entities") or []:
        if entity.get("entity") == LANGUAGE_ENTITY and isinstance(entity.get("value"), str):
            return str(entity["value"])
    metadata_language = (event.get("metadata") or {}).get("language")
    return metadata_language if isinstance(metadata_language, str) else current


def turns(
    events: Sequence[Mapping[str, Any]],
    coordinator_language: str,
    responses: Mapping[str, Mapping[str, str]],
    topics: Mapping[str, Mapping[str, str]],
    slots: Mapping[str, Any] | None = None,
) -> list[Turn]:
    result: list[Turn] = []
    language: Optional[str] = None
    slots = slots or {}
    for event in events:
        kind = event.get("event")
        if kind == "slot" and event.get("name") == LANGUAGE_SLOT:
            language = event.get("value") if isinstance(event.get("value"), str) else language
        elif kind == "user":
            text = str(event.get("text") or "")
            intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
            language = _language_of(event, language)
            topic = (topics.get(intent or "") or {}).get(coordinator_language)
            result.append(
                Turn(
                    role="patient",
                    time=iso_time(event.get("timestamp")),
                    text=text,
                    language=language,
                    intent=intent,
                    topic=topic,
                    channel=event.get("input_channel"),
                )
            )
        elif kind == "bot":
            metadata = event.get("metadata") or {}
            text = str(event.get("text") or "")
            buttons = [
                str(button.get("title"))
                for button in ((event.get("data") or {}).get("buttons") or [])
                if isinstance(button, dict)
            ]
            if metadata.get("from") == COORDINATOR:
                result.append(
                    Turn(
                        role="coordinator",
                        time=iso_time(event.get("timestamp")),
                        text=text,
                        name=metadata.get("name"),
                        message_id=metadata.get("message_id"),
                    )
                )
                continue
            translation = (
                None
                if coordinator_language == language
                else translate_response(
                    responses,
                    metadata.get("utter_action"),
                    text,
                    language,
                    coordinator_language,
                    slots,
                )
            )
            result.append(
                Turn(
                    role="bot",
                    time=iso_time(event.get("timestamp")),
                    text=text,
                    language=language,
                    translation=translation,
                    message_id=metadata.get("message_id"),
                    buttons=buttons,
                )
            )
    return result


def patient_language(tracker: Mapping[str, Any]) -> Optional[str]:
    value = (tracker.get("slots") or {}).get(LANGUAGE_SLOT)
    return value if isinstance(value, str) else None


def latest_channel(events: Sequence[Mapping[str, Any]]) -> Optional[str]:
    for event in reversed(events):
        if event.get("event") == "user" and event.get("input_channel"):
            return str(event["input_channel"])
    return None


def is_paused(events: Sequence[Mapping[str, Any]]) -> bool:
    paused = False
    for event in events:
        if event.get("event") == "pause":
            paused = True
        elif event.get("event") in ("resume", "restart"):
            paused = False
    return paused
