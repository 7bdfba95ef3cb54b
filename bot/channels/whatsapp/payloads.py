"""Meta's WhatsApp Cloud API webhook payloads, parsed into small typed records.

Only the shapes we act on are read (`entry[].changes[].value` with `metadata`,
`contacts`, `messages`, `statuses`); anything else in a signed delivery is skipped, so a
new field or message type from Meta never turns into an error.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Iterator, Mapping

WHATSAPP_OBJECT = "whatsapp_business_account"
MEDIA_TYPES = frozenset({"image", "document", "audio", "video", "sticker"})


class MalformedDelivery(ValueError):
    """The body is JSON but not a webhook delivery at all (not an object)."""


class Handling(enum.Enum):
    """What the channel does with a message."""

    TEXT = "text"  # typed text: goes to the NLU
    PAYLOAD = "payload"  # a tapped reply button or list row: its id goes to Rasa as is
    MEDIA = "media"  # a file: attached to the patient's request, or answered politely
    UNSUPPORTED = "unsupported"  # location, contacts, reaction, unknown: answered politely
    IGNORED = "ignored"  # reaction removed, system notices: nothing to answer


@dataclass(frozen=True)
class Media:
    media_id: str
    mime_type: str
    sha256: str | None
    caption: str | None
    filename: str | None


@dataclass(frozen=True)
class InboundMessage:
    message_id: str
    wa_id: str
    profile_name: str | None
    phone_number_id: str
    message_type: str  # Meta's `type`, e.g. "text", "interactive", "image"
    handling: Handling
    text: str | None = None
    payload: str | None = None
    media: Media | None = None


@dataclass(frozen=True)
class _Envelope:
    """What every message has: who sent it, to which number, and its type."""

    message_id: str
    wa_id: str
    profile_name: str | None
    phone_number_id: str
    message_type: str

    def message(
        self,
        handling: Handling,
        text: str | None = None,
        payload: str | None = None,
        media: Media | None = None,
    ) -> InboundMessage:
        return InboundMessage(
            self.message_id,
            self.wa_id,
            self.profile_name,
            self.phone_number_id,
            self.message_type,
            handling,
            text,
            payload,
            media,
        )


@dataclass(frozen=True)
class Delivery:
    messages: tuple[InboundMessage, ...]
    statuses: int  # status updates (sent, delivered, read, failed): acknowledged, ignored
    skipped: int  # changes or messages that are not for us or lack required fields
    failed_codes: tuple[int, ...] = ()  # Meta's error codes of messages that failed to deliver


def parse_delivery(body: object, phone_number_id: str) -> Delivery:
    """Reads the messages for our business number from a signed delivery, in order."""
    if not isinstance(body, Mapping):
        raise MalformedDelivery("the body is not a JSON object")
    if body.get("object") != WHATSAPP_OBJECT:
        return Delivery((), 0, 1)
    messages: list[InboundMessage] = []
    failed_codes: list[int] = []
    statuses = skipped = 0
    for value in _change_values(body):
        metadata = _mapping(value.get("metadata"))
        if str(metadata.get("phone_number_id", "")) != phone_number_id:
            skipped += 1
            continue
        statuses += len(_list(value.get("statuses")))
        failed_codes += _failed_codes(value)
        names = _profile_names(value)
        for raw in _list(value.get("messages")):
            message = _parse_message(_mapping(raw), names, phone_number_id)
            if message is None:
                skipped += 1
            else:
                messages.append(message)
    return Delivery(tuple(messages), statuses, skipped, tuple(failed_codes))


def _change_values(body: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    for entry in _list(body.get("entry")):
        for change in _list(_mapping(entry).get("changes")):
            change = _mapping(change)
            if change.get("field", "messages") == "messages":
                yield _mapping(change.get("value"))


def _failed_codes(value: Mapping[str, Any]) -> list[int]:
    codes: list[int] = []
    for status in _list(value.get("statuses")):
        status = _mapping(status)
        if status.get("status") == "failed":
            errors = [_mapping(e).get("code") for e in _list(status.get("errors"))]
            codes += [code for code in errors if isinstance(code, int)] or [0]
    return codes


def _profile_names(value: Mapping[str, Any]) -> dict[str, str]:
    names: dict[str, str] = {}
    for contact in _list(value.get("contacts")):
        contact = _mapping(contact)
        name = _mapping(contact.get("profile")).get("name")
        if contact.get("wa_id") and isinstance(name, str) and name.strip():
            names[str(contact["wa_id"])] = name.strip()
    return names


def _parse_message(
    raw: Mapping[str, Any], names: Mapping[str, str], phone_number_id: str
) -> InboundMessage | None:
    message_id, sender = raw.get("id"), raw.get("from")
    if not isinstance(message_id, str) or not message_id or not sender:
        return None
    wa_id = str(sender).lstrip("+")
    message_type = str(raw.get("type") or "unknown")
    base = _Envelope(message_id, wa_id, names.get(wa_id), phone_number_id, message_type)
    if message_type == "text":
        body = _mapping(raw.get("text")).get("body")
        if isinstance(body, str):
            return base.message(Handling.TEXT, text=body)
    elif message_type == "interactive":
        return _interactive(raw, base)
    elif message_type == "button":  # quick reply of a template message
        button = _mapping(raw.get("button"))
        payload, text = button.get("payload"), button.get("text")
        if isinstance(payload, str) and payload.startswith("/"):
            return base.message(Handling.PAYLOAD, payload=payload)
        if isinstance(text, str):
            return base.message(Handling.TEXT, text=text)
    elif message_type in MEDIA_TYPES:
        return _media(raw, base)
    elif message_type == "reaction":
        emoji = _mapping(raw.get("reaction")).get("emoji")
        handling = Handling.UNSUPPORTED if emoji else Handling.IGNORED  # no emoji: removed
        return base.message(handling)
    elif message_type in {"system", "request_welcome"}:
        return base.message(Handling.IGNORED)
    return base.message(Handling.UNSUPPORTED)


def _interactive(raw: Mapping[str, Any], base: _Envelope) -> InboundMessage:
    interactive = _mapping(raw.get("interactive"))
    kind = interactive.get("type")
    if kind in {"button_reply", "list_reply"}:
        reply_id = _mapping(interactive.get(kind)).get("id")
        if isinstance(reply_id, str) and reply_id:
            return base.message(Handling.PAYLOAD, payload=reply_id)
    return base.message(Handling.UNSUPPORTED)


def _media(raw: Mapping[str, Any], base: _Envelope) -> InboundMessage:
    content = _mapping(raw.get(base.message_type))
    media_id = content.get("id")
    if not isinstance(media_id, str) or not media_id:
        return base.message(Handling.UNSUPPORTED)
    media = Media(
        media_id=media_id,
        mime_type=str(content.get("mime_type") or "application/octet-stream").split(";")[0].strip(),
        sha256=_optional_str(content.get("sha256")),
        caption=_optional_str(content.get("caption")),
        filename=_optional_str(content.get("filename")),
    )
    return base.message(Handling.MEDIA, media=media)


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _optional_str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
