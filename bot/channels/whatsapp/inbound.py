"""What both WhatsApp channels (Cloud API and Twilio) do with an incoming message before
Rasa sees it: the language hint, a typed menu number, files the bot cannot read, files
attached to the patient's ticket, and the `UserMessage` itself.

Each channel parses its own wire format into an `Incoming` record; from there on the code
is shared, so a Twilio patient and a Cloud API patient are treated the same.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import json
import logging
from collections.abc import Collection
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable

from rasa.core.channels.channel import OutputChannel, UserMessage

from actions.handoff_store import HandoffStore, UnknownTicket
from bot.channels.inbound import PatientState
from bot.channels.limits import OnNewMessage, limited_inbound
from bot.channels.whatsapp.phone_language import language_for_phone
from bot.names import LANGUAGE_SLOT, OUT_OF_SCOPE_INTENT

logger = logging.getLogger(__name__)


class MediaOutcome(enum.Enum):
    """How a message the bot cannot read was handled; the value is the entity that
    selects the answer (rules in data/rules/rules_whatsapp.yml)."""

    UNSUPPORTED = "media_unsupported"  # no request to attach it to, or not a file
    ATTACHED = "media_attached"  # added to the patient's handoff ticket
    NOT_ATTACHED = "media_not_attached"  # a ticket exists, but type/size/download failed


class Kind(enum.Enum):
    TEXT = "text"  # typed by the patient (may be a menu number)
    PAYLOAD = "payload"  # a button or list reply: the payload as is
    MEDIA = "media"  # anything the bot cannot read (photo, file, location, sticker...)


@dataclass(frozen=True)
class Incoming:
    """One patient message as both channels see it, whatever the wire format was."""

    sender_id: str  # the Rasa sender id: wa_id (Cloud API) or "whatsapp:+…" (Twilio)
    message_id: str | None
    kind: Kind
    text: str = ""  # the typed text or the payload
    media_type: str = ""  # "image", "document", "location", ... for MEDIA
    metadata: dict[str, Any] = field(default_factory=dict)  # the channel's own details


@dataclass(frozen=True)
class File:
    """A file downloaded from the channel, before it is attached to a ticket."""

    content: bytes
    media_type: str  # MIME type
    filename: str | None = None
    expected_sha256: str | None = None  # hex or base64, as the channel reports it


@lru_cache(maxsize=1)
def ticket_store() -> HandoffStore:
    """The handoff store (`HANDOFF_DB_URL`), where files attached to tickets are kept."""
    return HandoffStore.from_environment()


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
    return f"/{OUT_OF_SCOPE_INTENT}{json.dumps(entities, ensure_ascii=False)}"


def menu_choice(text: str, payloads: tuple[str, ...]) -> str | None:
    """The payload of the numbered-menu option the patient typed ("2", " 2. ", "٢")."""
    number = text.strip().rstrip(".)")
    if number.isdigit() and 1 <= int(number) <= len(payloads):
        return payloads[int(number) - 1]
    return None


def user_text(
    incoming: Incoming,
    state: PatientState,
    menu: tuple[str, ...],
    outcome: MediaOutcome = MediaOutcome.UNSUPPORTED,
) -> tuple[str, str | None]:
    """(the text Rasa gets, the language hint for the metadata or None)."""
    if incoming.kind is Kind.PAYLOAD:
        return incoming.text, None
    if incoming.kind is Kind.MEDIA:
        hint = language_hint(incoming.sender_id, state.language)
        return media_payload(outcome, incoming.media_type, hint), None
    text = menu_choice(incoming.text, menu) or incoming.text
    if text.startswith("/"):
        return text, None
    return text, language_hint(incoming.sender_id, state.language, text)


def user_message(
    incoming: Incoming,
    state: PatientState,
    menu: tuple[str, ...],
    output: OutputChannel,
    input_channel: str,
    outcome: MediaOutcome = MediaOutcome.UNSUPPORTED,
) -> UserMessage:
    """The message handed to Rasa, the same way for both channels."""
    text, hint = user_text(incoming, state, menu, outcome)
    metadata = dict(incoming.metadata)
    if hint:
        metadata[LANGUAGE_SLOT] = hint
    return UserMessage(
        text,
        output,
        incoming.sender_id,
        input_channel=input_channel,
        message_id=incoming.message_id or None,
        metadata=metadata,
    )


async def hand_to_rasa(message: UserMessage, on_new_message: OnNewMessage, agent: Any) -> None:
    """Both channels' way into Rasa: cut to the size limit and rate-limited per sender, with
    a note in the patient's language when a limit applied (bot/channels/limits.py)."""
    await limited_inbound().handle(message, on_new_message, agent)


def file_problem(file: File, accepted_types: Collection[str], max_bytes: int) -> str | None:
    """Why a file cannot be attached (for the log, no personal data), else None."""
    if file.media_type not in accepted_types:
        return f"type {file.media_type} is not accepted"
    if len(file.content) > max_bytes:
        return f"larger than {max_bytes} bytes"
    expected = file.expected_sha256
    digest = hashlib.sha256(file.content).digest()
    if expected and expected not in {digest.hex(), base64.b64encode(digest).decode("ascii")}:
        return "its SHA-256 does not match"
    return None


def attach(
    store: Callable[[], HandoffStore],
    ticket_id: str,
    file: File,
    accepted_types: Collection[str],
    max_bytes: int,
) -> MediaOutcome:
    """Stores a downloaded file with the patient's ticket in the handoff store."""
    problem = file_problem(file, accepted_types, max_bytes)
    if problem is not None:
        logger.info("WhatsApp file not attached: %s.", problem)
        return MediaOutcome.NOT_ATTACHED
    try:
        stored = store().add_attachment(
            ticket_id,
            file.filename or default_filename(file.media_type),
            file.media_type,
            file.content,
        )
    except UnknownTicket:
        logger.warning("WhatsApp file not attached: the conversation's ticket is unknown.")
        return MediaOutcome.NOT_ATTACHED
    logger.info(
        "WhatsApp file attached to a ticket (attachment %s, %s, %d bytes).",
        stored.id,
        stored.media_type,
        stored.size,
    )
    return MediaOutcome.ATTACHED


_EXTENSIONS = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}


def default_filename(media_type: str) -> str:
    return f"attachment.{_EXTENSIONS.get(media_type, 'bin')}"


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
