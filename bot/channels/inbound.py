"""What both WhatsApp channels (Cloud API and Twilio) do with an incoming message before
Rasa sees it: the language hint, the patient's state, and files the bot cannot read.
"""

from __future__ import annotations

import asyncio
import enum
import hashlib
import hmac
import json
import secrets
from collections import Counter
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, AsyncIterator

from bot.channels.phone_language import language_for_phone
from bot.languages import normalise_language

LANGUAGE_SLOT = "language"
_LOG_KEY = secrets.token_bytes(32)
TICKET_SLOT = "handoff_ticket_id"


class MediaOutcome(enum.Enum):
    """How a message the bot cannot read was handled; the value is the entity that
    selects the answer (rules in data/rules/rules_whatsapp.yml)."""

    UNSUPPORTED = "media_unsupported"  # no request to attach it to, or not a file
    ATTACHED = "media_attached"  # added to the patient's handoff ticket
    NOT_ATTACHED = "media_not_attached"  # a ticket exists, but type/size/download failed


@dataclass(frozen=True)
class PatientState:
    language: str | None
    ticket_id: str | None


async def patient_state(agent: Any, sender_id: str) -> PatientState:
    """The conversation's language and handoff ticket, from Rasa's tracker store."""
    tracker = await agent.tracker_store.retrieve(sender_id)
    if tracker is None:
        return PatientState(None, None)
    ticket = tracker.get_slot(TICKET_SLOT)
    return PatientState(
        normalise_language(tracker.get_slot(LANGUAGE_SLOT)), str(ticket) if ticket else None
    )


def language_hint(number: str, current_language: str | None, text: str | None = None) -> str | None:
    """The phone's country language while the conversation has none yet, unless the text
    itself is clearly written in one of our languages (then the NLU detects it)."""
    if current_language is not None:
        return None
    hint = language_for_phone(number)
    if hint is None or (text and _clearly_written(text)):
        return None
    return hint


def media_payload(outcome: MediaOutcome, message_type: str, language: str | None) -> str:
    """A Rasa payload message (`/out_of_scope{...}`) that the media rules answer."""
    entities: dict[str, str] = {outcome.value: message_type}
    if language:
        entities[LANGUAGE_SLOT] = language
    return f"/out_of_scope{json.dumps(entities, ensure_ascii=False)}"


def menu_choice(text: str, payloads: tuple[str, ...]) -> str | None:
    """The payload of the numbered-menu option the patient typed ("2", " 2. ", "٢")."""
    number = text.strip().rstrip(".)")
    if number.isdigit() and 1 <= int(number) <= len(payloads):
        return payloads[int(number) - 1]
    return None


def anonymous(value: str) -> str:
    """A short reference for logs instead of a phone number or message id: stable within
    one process (to follow a conversation), keyed with a random secret so it cannot be
    turned back into the number."""
    return hmac.new(_LOG_KEY, value.encode("utf-8"), hashlib.sha256).hexdigest()[:12]


class SenderLocks:
    """Processes one patient's messages one after the other, in arrival order."""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: Counter[str] = Counter()

    @asynccontextmanager
    async def hold(self, sender_id: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault(sender_id, asyncio.Lock())
        self._users[sender_id] += 1
        try:
            async with lock:
                yield
        finally:
            self._users[sender_id] -= 1
            if not self._users[sender_id]:
                del self._users[sender_id]
                del self._locks[sender_id]


def _clearly_written(text: str) -> bool:
    from bot.nlu.language_detector import LanguageDetector, detect_language
    from bot.nlu.text import fold

    config = LanguageDetector.get_default_config()
    detection = detect_language(
        text,
        frozenset(fold(w) for w in config["neutral_words"]),
        float(config["short_text_threshold"]),
        float(config["long_text_threshold"]),
        int(config["short_text_words"]),
        str(config["default_language"]),
    )
    return detection.confident
