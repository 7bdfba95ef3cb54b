"""Takeover, messages, canned replies, templates and the WhatsApp window, hand back, waiting
notices and the outbox's retries, against a stand-in of Rasa's side of the contract (a real
HTTP server implementing docs/coordinators.md's patient channels endpoint)."""

from __future__ import annotations

import time
import uuid
from typing import Any, Callable

import pytest

from actions.handoff_store import NewTicket
from bot.coordinator import content
from tests.coordinator.conftest import ConsoleClient, ConsoleSetup


def eventually(check: Callable[[], Any], timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError("condition not met in time")


@pytest.fixture(scope="module")
def ayse(fake_setup: ConsoleSetup) -> ConsoleClient:
    return fake_setup.user("ayse", language="tr", name="Ayşe")


def new_conversation(
    setup: ConsoleSetup,
    channel: str = "socketio",
    language: str = "tr",
    age: float = 10,
    kind: str = "handoff",
) -> str:
    conversation_id = f"{channel}-{uuid.uuid4().hex[:10]}"
    assert setup.fake is not None
    setup.fake.seed(conversation_id, channel, language, age)
    setup.tickets.create(
        NewTicket(
            kind=kind,
            channel=channel,
            sender_id=conversation_id,
            language=language,
            form_data={"country": "DE"},
        )
    )
    return conversation_id


def delivered(setup: ConsoleSetup, conversation_id: str) -> list[dict[str, Any]]:
    assert setup.fake is not None
    return [d for d in setup.fake.delivered if d["conversation_id"] == conversation_id]


def test_takeover_pauses_the_bot_and_tells_the_patient_who_joined(
    fake_setup: ConsoleSetup, ayse: ConsoleClient
) -> None:
    conversation_id = new_conversation(fake_setup)
    response = ayse.post(f"/api/conversations/{conversation_id}/takeover")
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "held", "held_by": "ayse"}
    assert fake_setup.fake is not None and fake_setup.fake.paused(conversation_id)
    [joined] = delivered(fake_setup, conversation_id)
    assert joined["response"] == "utter_coordinator_joined"
    assert joined["variables"] == {"coordinator_name": "Ayşe"}
    view = ayse.get(f"/api/conversations/{conversation_id}").json()
    assert view["paused"] is True and view["held_by"] == "ayse"
    ticket = next(
        t
        for t in ayse.get("/api/tickets").json()["tickets"]
        if t["conversation_id"] == conversation_id
    )
    assert ticket["assignee"] == "ayse"


def test_free_text_reaches_the_patient_marked_as_from_the_coordinator(
    fake_setup: ConsoleSetup, ayse: ConsoleClient
) -> None:
    conversation_id = new_conversation(fake_setup)
    response = ayse.post(
        f"/api/conversations/{conversation_id}/messages", {"text": "Merhaba, ben Ayşe."}
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "sent"
    joined, message = delivered(fake_setup, conversation_id)  # writing took over implicitly
    assert joined["response"] == "utter_coordinator_joined"
    assert message["text"] == "Merhaba, ben Ayşe."
    assert message["sender"] == {"role": "coordinator", "name": "Ayşe"}
    turns = ayse.get(f"/api/conversations/{conversation_id}").json()["turns"]
    assert turns[-1] == {
        **turns[-1],
        "role": "coordinator",
        "text": "Merhaba, ben Ayşe.",
        "name": "Ayşe",
    }


@pytest.mark.parametrize("language", ["en", "ar", "tr", "ru", "de", "fr"])
def test_canned_reply_is_sent_in_the_patients_language(
    fake_setup: ConsoleSetup, ayse: ConsoleClient, language: str
) -> None:
    conversation_id = new_conversation(fake_setup, language=language)
    response = ayse.post(f"/api/conversations/{conversation_id}/messages", {"reply": "send_mri"})
    assert response.status_code == 200, response.text
    assert (
        delivered(fake_setup, conversation_id)[-1]["text"]
        == content.replies()["send_mri"].text[language]
    )


def test_the_picker_shows_canned_replies_in_the_coordinators_language(
    fake_setup: ConsoleSetup, ayse: ConsoleClient
) -> None:
    conversation_id = new_conversation(fake_setup, language="ru")
    replies = ayse.get(f"/api/conversations/{conversation_id}").json()["replies"]
    assert {"id": "call_tomorrow", "label": "Yarın sizi arayacağım"} in replies


def test_patient_turn_shows_the_understood_topic_in_the_coordinators_language(
    fake_setup: ConsoleSetup, ayse: ConsoleClient
) -> None:
    conversation_id = new_conversation(fake_setup, language="ru")
    [patient] = [
        t
        for t in ayse.get(f"/api/conversations/{conversation_id}").json()["turns"]
        if t["role"] == "patient"
    ]
    assert patient["intent"] == "request_human"
    assert patient["topic"] == "Bir kişiyle görüşmek istiyor"


def test_failed_delivery_is_queued_and_retried_without_a_duplicate(
    fake_setup: ConsoleSetup, ayse: ConsoleClient
) -> None:
    conversation_id = new_conversation(fake_setup)
    assert ayse.post(f"/api/conversations/{conversation_id}/takeover").status_code == 200
    assert fake_setup.fake is not None
    fake_setup.fake.fail_next = 2
    message_id = "c-" + uuid.uuid4().hex
    response = ayse.post(
        f"/api/conversations/{conversation_id}/messages",
        {"text": "Yarın ararım.", "message_id": message_id},
    )
    assert response.status_code == 502
    assert response.json()["error"] == "could_not_deliver"
    assert response.json()["status"] == "queued"
    pending = ayse.get(f"/api/conversations/{conversation_id}").json()["pending"]
    assert [p["message_id"] for p in pending] == [message_id]
    # the same request again (a coordinator pressing send twice) is no second message
    assert (
        ayse.post(
            f"/api/conversations/{conversation_id}/messages",
            {"text": "Yarın ararım.", "message_id": message_id},
        ).status_code
        == 502
    )
    eventually(
        lambda: any(d["message_id"] == message_id for d in delivered(fake_setup, conversation_id))
    )
    attempts = [s for s in fake_setup.fake.sends if s.get("message_id") == message_id]
    assert len(attempts) == 3  # two failures, one success
    assert [d["message_id"] for d in delivered(fake_setup, conversation_id)].count(message_id) == 1
    assert ayse.get(f"/api/conversations/{conversation_id}").json()["pending"] == []
    again = ayse.post(
        f"/api/conversations/{conversation_id}/messages",
        {"text": "Yarın ararım.", "message_id": message_id},
    )
    assert again.status_code == 200 and again.json()["status"] == "sent"


def test_whatsapp_window_open_shows_the_time_left(
    fake_setup: ConsoleSetup, ayse: ConsoleClient
) -> None:
    conversation_id = new_conversation(fake_setup, channel="whatsapp", age=3600)
    window = ayse.get(f"/api/conversations/{conversation_id}").json()["window"]
    assert window["applies"] and window["open"]
    assert 22.9 * 3600 < window["seconds_left"] <= 23 * 3600


def test_outside_the_whatsapp_window_free_text_is_blocked_and_templates_are_sent(
    fake_setup: ConsoleSetup, ayse: ConsoleClient
) -> None:
    conversation_id = new_conversation(fake_setup, channel="whatsapp", age=25 * 3600)
    view = ayse.get(f"/api/conversations/{conversation_id}").json()
    assert view["window"]["applies"] and not view["window"]["open"]
    for body in ({"text": "Merhaba"}, {"reply": "call_tomorrow"}):
        response = ayse.post(f"/api/conversations/{conversation_id}/messages", body)
        assert response.status_code == 409
        assert response.json()["error"] == "window_closed"
    assert delivered(fake_setup, conversation_id) == []
    response = ayse.post(
        f"/api/conversations/{conversation_id}/messages",
        {"template": "quote_ready", "parameters": ["HFS-ABC123"]},
    )
    assert response.status_code == 200, response.text
    sent = delivered(fake_setup, conversation_id)[-1]
    assert sent["whatsapp_template"] == {
        "name": "quote_ready",
        "language": "tr",
        "parameters": ["HFS-ABC123"],
    }


def test_template_with_wrong_parameters_is_400(
    fake_setup: ConsoleSetup, ayse: ConsoleClient
) -> None:
    conversation_id = new_conversation(fake_setup, channel="whatsapp", age=25 * 3600)
    assert (
        ayse.post(
            f"/api/conversations/{conversation_id}/messages", {"template": "quote_ready"}
        ).status_code
        == 400
    )
    assert (
        ayse.post(
            f"/api/conversations/{conversation_id}/messages", {"template": "nope"}
        ).status_code
        == 400
    )


def test_bad_message_bodies_are_400_not_500(fake_setup: ConsoleSetup, ayse: ConsoleClient) -> None:
    conversation_id = new_conversation(fake_setup)
    for body in (
        {},
        {"text": ""},
        {"text": 5},
        {"text": "a", "reply": "send_mri"},
        {"reply": "unknown"},
        {"text": "a", "message_id": "bad id!"},
    ):
        assert (
            ayse.post(f"/api/conversations/{conversation_id}/messages", body).status_code == 400
        ), body
    assert ayse.post("/api/conversations/nobody-here/messages", {"text": "hi"}).status_code == 404


def test_handback_resumes_the_bot_and_tells_the_patient(
    fake_setup: ConsoleSetup, ayse: ConsoleClient
) -> None:
    conversation_id = new_conversation(fake_setup)
    assert ayse.post(f"/api/conversations/{conversation_id}/takeover").status_code == 200
    response = ayse.post(f"/api/conversations/{conversation_id}/handback")
    assert response.status_code == 200 and response.json() == {"status": "bot"}
    assert fake_setup.fake is not None and not fake_setup.fake.paused(conversation_id)
    assert delivered(fake_setup, conversation_id)[-1]["response"] == "utter_coordinator_left"
    view = ayse.get(f"/api/conversations/{conversation_id}").json()
    assert view["paused"] is False and view["held_by"] is None


def test_unanswered_held_conversation_gets_one_waiting_notice(
    fake_setup: ConsoleSetup, ayse: ConsoleClient
) -> None:
    conversation_id = new_conversation(fake_setup)
    assert ayse.post(f"/api/conversations/{conversation_id}/takeover").status_code == 200
    assert fake_setup.fake is not None
    with fake_setup.fake.lock:
        fake_setup.fake.trackers[conversation_id].append(
            {
                "event": "user",
                "text": "Orada mısınız?",
                "timestamp": time.time(),
                "input_channel": "socketio",
                "parse_data": {"intent": {"name": "greet"}},
            }
        )
    eventually(
        lambda: any(
            d.get("response") == "utter_coordinator_shortly"
            for d in delivered(fake_setup, conversation_id)
        ),
        timeout=30,
    )
    time.sleep(3)  # further rounds of the loop: still one notice for this message
    notices = [
        d
        for d in delivered(fake_setup, conversation_id)
        if d.get("response") == "utter_coordinator_shortly"
    ]
    assert len(notices) == 1


def test_close_ticket_with_an_outcome_removes_it_from_the_queue(
    fake_setup: ConsoleSetup, ayse: ConsoleClient
) -> None:
    conversation_id = new_conversation(fake_setup)
    ticket = next(
        t
        for t in ayse.get("/api/tickets").json()["tickets"]
        if t["conversation_id"] == conversation_id
    )
    assert ayse.post(f"/api/tickets/{ticket['id']}/close", {"outcome": "maybe"}).status_code == 400
    closed = ayse.post(f"/api/tickets/{ticket['id']}/close", {"outcome": "answered"})
    assert closed.status_code == 200 and closed.json()["ticket"]["status"] == "closed"
    assert closed.json()["ticket"]["outcome"] == "answered"
    assert all(t["id"] != ticket["id"] for t in ayse.get("/api/tickets").json()["tickets"])
    assert (
        ayse.post(f"/api/tickets/{ticket['id']}/close", {"outcome": "answered"}).status_code == 409
    )


def test_queue_puts_emergencies_first_then_the_oldest(
    fake_setup: ConsoleSetup, ayse: ConsoleClient
) -> None:
    first = new_conversation(fake_setup)
    emergency = new_conversation(fake_setup, kind="emergency")
    tickets = ayse.get("/api/tickets").json()["tickets"]
    order = [t["conversation_id"] for t in tickets]
    assert order.index(emergency) < order.index(first)
    emergencies = [t for t in tickets if t["kind"] == "emergency"]
    assert tickets[: len(emergencies)] == emergencies
    rest = tickets[len(emergencies) :]
    assert [t["created_at"] for t in rest] == sorted(t["created_at"] for t in rest)
    assert {
        "id",
        "reference",
        "kind",
        "status",
        "language",
        "channel",
        "conversation_id",
        "created_at",
        "assignee",
        "waiting_seconds",
    } <= set(tickets[0])


def test_every_action_is_in_the_audit_log(fake_setup: ConsoleSetup, ayse: ConsoleClient) -> None:
    conversation_id = new_conversation(fake_setup)
    ayse.post(f"/api/conversations/{conversation_id}/messages", {"text": "Merhaba"})
    ayse.get(f"/api/conversations/{conversation_id}")
    ayse.post(f"/api/conversations/{conversation_id}/handback")
    entries = fake_setup.admin().get("/api/audit").json()["entries"]
    mine = [
        (e["username"], e["action"]) for e in entries if e["conversation_id"] == conversation_id
    ]
    assert {
        ("ayse", "takeover"),
        ("ayse", "message"),
        ("ayse", "view"),
        ("ayse", "handback"),
    } <= set(mine)
    assert ("ayse", "login") in [(e["username"], e["action"]) for e in entries]


def test_attachments_are_listed_and_downloadable(
    fake_setup: ConsoleSetup, ayse: ConsoleClient
) -> None:
    from sqlalchemy import text

    conversation_id = new_conversation(fake_setup, channel="whatsapp")
    [ticket] = fake_setup.tickets.for_sender(conversation_id)
    with fake_setup.tickets.engine.begin() as connection:  # the table as the Rasa side defines it
        connection.execute(
            text(
                "CREATE TABLE IF NOT EXISTS ticket_attachments (id VARCHAR(36) PRIMARY KEY, ticket_id VARCHAR(36), filename VARCHAR(255), media_type VARCHAR(100), size INTEGER, sha256 VARCHAR(64), content BLOB, created_at DATETIME)"
            )
        )
        connection.execute(
            text(
                "INSERT INTO ticket_attachments VALUES (:i, :t, 'MRI report.pdf', 'application/pdf', 8, 'x', :c, '2026-12-01 10:00:00')"
            ),
            {"i": "att-" + conversation_id, "t": ticket.id, "c": b"%PDF-1.7"},
        )
    [attachment] = ayse.get(f"/api/conversations/{conversation_id}").json()["attachments"]
    assert (
        attachment["filename"] == "MRI report.pdf"
        and attachment["url"] == f"/api/attachments/att-{conversation_id}"
    )
    download = ayse.get(attachment["url"])
    assert download.status_code == 200 and download.content == b"%PDF-1.7"
    assert download.headers["Content-Disposition"] == 'attachment; filename="MRIreport.pdf"'
    assert download.headers["Content-Type"] == "application/octet-stream"  # never rendered inline
    assert ayse.get("/api/attachments/nope").status_code == 404
    audit = fake_setup.admin().get("/api/audit").json()["entries"]
    assert ("ayse", "attachment_download") in [(e["username"], e["action"]) for e in audit]
