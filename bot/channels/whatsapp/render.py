"""Turns one Rasa bot message into WhatsApp Cloud API message bodies (pure functions).

- Text is split at WhatsApp's length limit on sentence boundaries.
- Buttons become interactive reply buttons (at most 3, titles of at most 20 characters),
  else an interactive list (at most 10 rows; longer titles are shortened and shown in
  full as the row's description), else a numbered text menu whose numbers the patient
  can type back (the channel remembers the payloads).
- Images become image messages, attachments document messages, and a `custom` message
  with a `whatsapp` object is sent as that WhatsApp message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final, Mapping, Sequence

from bot.channels.whatsapp.channel_texts import channel_texts

TEXT_MAX: Final = 4096
BUTTONS_BODY_MAX: Final = 1024
LIST_BODY_MAX: Final = 4096
BUTTONS_MAX: Final = 3
BUTTON_TITLE_MAX: Final = 20
BUTTON_ID_MAX: Final = 256
LIST_ROWS_MAX: Final = 10
ROW_TITLE_MAX: Final = 24
ROW_DESCRIPTION_MAX: Final = 72
ROW_ID_MAX: Final = 200

_BREAK = re.compile(r"(?<=[.!?؟。…:;])[ \t]+|\n+")


@dataclass(frozen=True)
class Choice:
    title: str
    payload: str


@dataclass(frozen=True)
class Outbound:
    """One WhatsApp message body (without `to`), and the payloads of a numbered menu."""

    body: dict[str, Any]
    menu: tuple[str, ...] = ()


def render_message(message: Mapping[str, Any], language: str | None = None) -> list[Outbound]:
    """The WhatsApp messages for one Rasa bot message, in sending order.

    `language` picks the labels the channel adds; None detects it from the text."""
    text = str(message.get("text") or "").strip()
    choices, links = choices_of(message.get("quick_replies") or message.get("buttons") or [])
    if links:
        text = "\n".join([text, *links]).strip()
    if language is None:
        language = detect_text_language(text)
    outbound = render_text_with_choices(text, choices, language)
    if isinstance(message.get("image"), str) and message["image"]:
        outbound.append(Outbound({"type": "image", "image": {"link": message["image"]}}))
    attachment = message.get("attachment")
    if isinstance(attachment, str) and attachment.startswith(("http://", "https://")):
        outbound.append(Outbound({"type": "document", "document": {"link": attachment}}))
    for element in message.get("elements") or []:
        if isinstance(element, Mapping):
            title = "\n".join(
                str(element.get(key) or "") for key in ("title", "subtitle") if element.get(key)
            )
            element_choices, _ = choices_of(element.get("buttons") or [])
            outbound += render_text_with_choices(title, element_choices, language)
    custom = message.get("custom")
    if isinstance(custom, Mapping) and isinstance(custom.get("whatsapp"), Mapping):
        body = dict(custom["whatsapp"])
        if isinstance(body.get("type"), str):
            outbound.append(Outbound(body))
    return outbound


def render_text_with_choices(text: str, choices: Sequence[Choice], language: str) -> list[Outbound]:
    if not choices:
        return [_text(part) for part in split_text(text, TEXT_MAX)]
    if _fit_reply_buttons(choices):
        return _interactive(text, BUTTONS_BODY_MAX, language, _reply_buttons(choices))
    if _fit_list(choices):
        return _interactive(text, LIST_BODY_MAX, language, _list(choices, language))
    return _numbered_menu(text, choices, language)


def split_text(text: str, limit: int) -> list[str]:
    """Splits `text` into parts of at most `limit` characters, between sentences or lines
    when it can, else between words, else anywhere. Line breaks inside a part are kept."""
    text = text.strip()
    if len(text) <= limit:
        return [text] if text else []
    parts: list[str] = []
    current = ""
    for segment in _segments(text, limit):
        if current.strip() and len((current + segment).rstrip()) > limit:
            parts.append(current.strip())
            current = ""
        current += segment
    if current.strip():
        parts.append(current.strip())
    return parts


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def detect_text_language(text: str) -> str:
    """Best guess of the language a bot message is written in (for the channel's labels)."""
    if not text.strip():
        return "en"
    from bot.nlu.language_detector import detect_language  # loads lingua once per process

    return detect_language(text, frozenset(), 1.0, 1.0, 0, "en").language


def _segments(text: str, limit: int) -> list[str]:
    """Sentences and lines with their trailing whitespace; one longer than `limit` is
    broken into words, and a word longer than `limit` into chunks."""
    sentences: list[str] = []
    start = 0
    for match in _BREAK.finditer(text):
        sentences.append(text[start : match.end()])
        start = match.end()
    sentences.append(text[start:])
    segments: list[str] = []
    for sentence in sentences:
        if len(sentence.strip()) <= limit:
            segments.append(sentence)
            continue
        for word in re.findall(r"\S+\s*", sentence):
            if len(word.strip()) <= limit:
                segments.append(word)
            else:
                segments += [word[i : i + limit] for i in range(0, len(word), limit)]
    return segments


def choices_of(buttons: object) -> tuple[list[Choice], list[str]]:
    """(choices with a payload, "title: url" lines for link buttons)."""
    choices: list[Choice] = []
    links: list[str] = []
    for button in buttons if isinstance(buttons, list) else []:
        if not isinstance(button, Mapping):
            continue
        title = " ".join(str(button.get("title") or "").split())
        if button.get("url"):
            links.append(f"{title}: {button['url']}" if title else str(button["url"]))
        elif button.get("payload") and title:
            choices.append(Choice(title, str(button["payload"])))
    return choices, links


def _distinct(values: Sequence[str]) -> bool:
    return len(set(values)) == len(values)


def _fit_reply_buttons(choices: Sequence[Choice]) -> bool:
    return (
        len(choices) <= BUTTONS_MAX
        and all(
            len(c.title) <= BUTTON_TITLE_MAX and len(c.payload) <= BUTTON_ID_MAX for c in choices
        )
        and _distinct([c.title for c in choices])
        and _distinct([c.payload for c in choices])
    )


def _fit_list(choices: Sequence[Choice]) -> bool:
    return (
        len(choices) <= LIST_ROWS_MAX
        and all(len(c.payload) <= ROW_ID_MAX for c in choices)
        and _distinct([shorten(c.title, ROW_TITLE_MAX) for c in choices])
        and _distinct([c.payload for c in choices])
    )


def _reply_buttons(choices: Sequence[Choice]) -> dict[str, Any]:
    buttons = [{"type": "reply", "reply": {"id": c.payload, "title": c.title}} for c in choices]
    return {"type": "button", "action": {"buttons": buttons}}


def _list(choices: Sequence[Choice], language: str) -> dict[str, Any]:
    rows = []
    for choice in choices:
        row = {"id": choice.payload, "title": shorten(choice.title, ROW_TITLE_MAX)}
        if row["title"] != choice.title:
            row["description"] = shorten(choice.title, ROW_DESCRIPTION_MAX)
        rows.append(row)
    button = shorten(channel_texts(language).list_button, BUTTON_TITLE_MAX)
    return {"type": "list", "action": {"button": button, "sections": [{"rows": rows}]}}


def _interactive(
    text: str, body_max: int, language: str, interactive: dict[str, Any]
) -> list[Outbound]:
    """Leading text messages if the text is too long, then the interactive message."""
    parts = split_text(text, TEXT_MAX)
    if parts and len(parts[-1]) > body_max:  # the end of the text becomes the body
        last = parts.pop()
        tail = split_text(last, body_max)[-1]
        parts += [last[: len(last) - len(tail)].strip(), tail]
    body = parts.pop() if parts else channel_texts(language).menu_hint
    leading = [_text(part) for part in parts]
    return [
        *leading,
        Outbound({"type": "interactive", "interactive": {**interactive, "body": {"text": body}}}),
    ]


def numbered_menu(choices: Sequence[Choice], language: str) -> str:
    """ "1. English" lines and the hint to reply with a number (Twilio uses it too)."""
    lines = [f"{number}. {choice.title}" for number, choice in enumerate(choices, start=1)]
    return "\n".join([*lines, "", channel_texts(language).menu_hint])


def _numbered_menu(text: str, choices: Sequence[Choice], language: str) -> list[Outbound]:
    menu = numbered_menu(choices, language)
    parts = split_text(text, TEXT_MAX)
    if parts and len(parts[-1]) + len(menu) + 2 <= TEXT_MAX:
        menu = f"{parts.pop()}\n\n{menu}"
    menu_parts = split_text(menu, TEXT_MAX)
    payloads = tuple(c.payload for c in choices)
    messages = [_text(part) for part in parts + menu_parts[:-1]]
    return [*messages, Outbound(_text(menu_parts[-1]).body, menu=payloads)]


def _text(text: str) -> Outbound:
    return Outbound({"type": "text", "text": {"body": text, "preview_url": False}})


def template_message(name: str, language: str, parameters: Sequence[str]) -> Outbound:
    """A template message (the only kind allowed outside the 24-hour window)."""
    template: dict[str, Any] = {"name": name, "language": {"code": language}}
    if parameters:
        template["components"] = [
            {"type": "body", "parameters": [{"type": "text", "text": p} for p in parameters]}
        ]
    return Outbound({"type": "template", "template": template})
