"""Photos, files, voice messages, locations, stickers and reactions over WhatsApp."""

from __future__ import annotations

import hashlib
import os

import pytest
import requests

from actions.handoff_store import Attachment, HandoffStore, NewTicket
from tests.support.fake_graph_api import FakeGraphApi
from tests.support.servers import RunningBot
from tests.support.whatsapp import (
    Patient,
    location,
    media,
    reaction,
    response_of,
    text,
    unsupported,
    user_events,
)
from tests.whatsapp.conftest import MEDIA_MAX_BYTES


def bot_tickets(bot: RunningBot) -> HandoffStore:
    """The handoff store of the running test bot (tickets and their files)."""
    return HandoffStore(f"sqlite:///{bot.workdir / 'handoff.db'}")


def open_ticket(patient: Patient, greeting: str) -> str:
    """The patient talks to the bot, then a handoff ticket is opened for the conversation
    and the tracker gets `handoff_ticket_id`, as the handoff action does."""
    patient.send(text(greeting))
    bot, wa_id = patient.bot, patient.wa_id
    ticket = bot_tickets(bot).create(
        NewTicket(kind="handoff", channel="whatsapp", sender_id=wa_id, language="en")
    )
    events = [{"event": "slot", "name": "handoff_ticket_id", "value": ticket.id}]
    answer = requests.post(
        f"{bot.url}/conversations/{wa_id}/tracker/events",
        params={"token": bot.auth_token},
        json=events,
        timeout=30,
    )
    answer.raise_for_status()
    return ticket.id


def stored_files(bot: RunningBot, ticket_id: str) -> list[Attachment]:
    store = bot_tickets(bot)
    return [store.attachment(a.id) for a in store.attachments(ticket_id)]  # type: ignore[misc]


CANNOT_READ = [
    ("905551240001", media("image", "img-1", "image/jpeg", caption="MR sonucum"), "tr"),
    ("966501240001", location(), "ar"),
    ("79161240001", media("sticker", "stk-1", "image/webp", animated="false"), "ru"),
    ("4915112400001", media("audio", "aud-1", "audio/ogg; codecs=opus", voice="true"), "de"),
    ("33612400001", reaction("👍"), "fr"),
    ("16505550101", unsupported("edit"), "en"),
    ("16505550102", media("document", "doc-1", "application/pdf", filename="mri.pdf"), "en"),
    ("16505550103", media("video", "vid-1", "video/mp4"), "en"),
    (
        "16505550104",
        {
            "id": "wamid.contacts-1",
            "type": "contacts",
            "contacts": [{"name": {"formatted_name": "Ann"}}],
        },
        "en",
    ),
]


@pytest.mark.parametrize(
    ("wa_id", "message", "language"),
    CANNOT_READ,
    ids=lambda v: v.get("type") if isinstance(v, dict) else None,
)
def test_messages_the_bot_cannot_read_get_a_polite_answer_in_the_patients_language(
    whatsapp_bot: RunningBot, graph: FakeGraphApi, wa_id: str, message: dict, language: str
) -> None:
    replies = Patient(whatsapp_bot, graph, wa_id).send(message)
    assert [response_of(m) for m in replies] == [("utter_media_unsupported", language)]
    assert replies[0]["type"] == "interactive"  # one button: a patient coordinator
    assert [b["reply"]["id"] for b in replies[0]["interactive"]["action"]["buttons"]] == [
        "/request_human"
    ]


def test_a_removed_reaction_is_ignored(whatsapp_bot: RunningBot, graph: FakeGraphApi) -> None:
    patient = Patient(whatsapp_bot, graph, "4915112400002")
    replies = patient.send(reaction(None), text("Hallo"))
    assert [response_of(m) for m in replies] == [("utter_greet", "de")]
    assert [e["text"] for e in user_events(whatsapp_bot, patient.wa_id)] == ["Hallo"]


def test_an_image_is_attached_to_the_patients_ticket(
    whatsapp_bot: RunningBot, graph: FakeGraphApi
) -> None:
    patient = Patient(whatsapp_bot, graph, "4915112400003")
    ticket = open_ticket(patient, "Hallo")
    content = b"\xff\xd8\xff\xe0" + os.urandom(20_000)
    graph.serve_media("media-jpeg-1", content, "image/jpeg")

    replies = patient.send(media("image", "media-jpeg-1", "image/jpeg", caption="Mein MRT-Befund"))

    assert [response_of(m) for m in replies] == [("utter_media_attached", "de")]
    [row] = stored_files(whatsapp_bot, ticket)
    assert (row.filename, row.media_type, row.size) == (
        "attachment.jpg",
        "image/jpeg",
        len(content),
    )
    assert row.content == content and row.sha256 == hashlib.sha256(content).hexdigest()
    lookups = [c for c in graph.calls() if c.path.endswith("/media-jpeg-1")]
    assert lookups and lookups[0].query["phone_number_id"] == ["106540352242922"]
    assert (
        user_events(whatsapp_bot, patient.wa_id)[-1]["metadata"]["whatsapp"]["caption"]
        == "Mein MRT-Befund"
    )


def test_a_pdf_report_is_attached_to_the_patients_ticket(
    whatsapp_bot: RunningBot, graph: FakeGraphApi
) -> None:
    patient = Patient(whatsapp_bot, graph, "905551240002")
    ticket = open_ticket(patient, "Merhaba")
    graph.serve_media("media-pdf-1", b"%PDF-1.4 MRI report", "application/pdf")
    replies = patient.send(
        media("document", "media-pdf-1", "application/pdf", filename="mr-raporu.pdf")
    )
    assert [response_of(m) for m in replies] == [("utter_media_attached", "tr")]
    assert [row.filename for row in stored_files(whatsapp_bot, ticket)] == ["mr-raporu.pdf"]


@pytest.mark.parametrize(
    ("media_id", "served", "mime_type", "declared_size"),
    [
        ("media-zip", b"PK\x03\x04", "application/zip", None),
        ("media-big", b"\xff\xd8" + b"0" * (MEDIA_MAX_BYTES + 1), "image/jpeg", None),
        ("media-big-declared", b"\xff\xd8small", "image/jpeg", MEDIA_MAX_BYTES * 10),
        ("media-missing", None, "image/png", None),
    ],
    ids=["type-not-accepted", "too-large", "declared-too-large", "download-fails"],
)
def test_a_file_that_cannot_be_attached_is_refused_politely(
    whatsapp_bot: RunningBot,
    graph: FakeGraphApi,
    media_id: str,
    served: bytes | None,
    mime_type: str,
    declared_size: int | None,
) -> None:
    patient = Patient(whatsapp_bot, graph, f"4915112400{abs(hash(media_id)) % 1000:03d}")
    ticket = open_ticket(patient, "Hallo")
    if served is not None:
        graph.serve_media(media_id, served, mime_type, declared_size)
    kind = "document" if mime_type == "application/zip" else "image"
    replies = patient.send(media(kind, media_id, mime_type))
    assert [response_of(m) for m in replies] == [("utter_media_not_attached", "de")]
    assert stored_files(whatsapp_bot, ticket) == []
