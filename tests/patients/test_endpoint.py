"""`POST /webhooks/patients/send` against the real Rasa and action servers: to a widget
session (socket.io), WhatsApp (fake Graph API) and Twilio (fake Twilio API)."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import pytest
import requests

from bot.channels.patients_client import PatientChannelsClient
from tests.patients.conftest import TOKEN
from tests.support.chat import RestChat, which_response
from tests.support.fake_graph_api import Failure, FakeGraphApi
from tests.support.fake_twilio_api import FakeTwilioApi
from tests.support.servers import RunningBot
from tests.support.whatsapp import Patient, text, tracker_events
from tests.support.widget import ThirdPartyWidget
from tests.whatsapp.test_twilio import post as post_to_twilio
from tests.whatsapp.test_twilio import twilio_form

COORDINATOR = {"role": "coordinator", "name": "Ayşe"}


def send(bot: RunningBot, body: Any, token: str | None = TOKEN) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return requests.post(
        f"{bot.url}/webhooks/patients/send", json=body, headers=headers, timeout=60
    )


def new_id() -> str:
    return f"c-{uuid.uuid4().hex}"


def bot_events(bot: RunningBot, conversation_id: str) -> list[dict[str, Any]]:
    return [e for e in tracker_events(bot, conversation_id) if e.get("event") == "bot"]


def with_message_id(bot: RunningBot, conversation_id: str, message_id: str) -> list[dict]:
    return [
        e
        for e in bot_events(bot, conversation_id)
        if (e.get("metadata") or {}).get("message_id") == message_id
    ]


def add_events(bot: RunningBot, conversation_id: str, events: list[dict[str, Any]]) -> None:
    answer = requests.post(
        f"{bot.url}/conversations/{conversation_id}/tracker/events",
        params={"token": bot.auth_token},
        json=events,
        timeout=30,
    )
    answer.raise_for_status()


# ---- auth, validation, unknown conversations ------------------------------------------


def test_health_needs_no_token(patients_bot: RunningBot) -> None:
    answer = requests.get(f"{patients_bot.url}/webhooks/patients/health", timeout=10)
    assert answer.status_code == 200 and answer.json() == {"status": "ok"}


@pytest.mark.parametrize("token", [None, "wrong-token", ""])
def test_without_the_right_token_nothing_is_sent(
    patients_bot: RunningBot, token: str | None
) -> None:
    chat = RestChat(patients_bot.url)
    chat.send("hello")
    answer = send(
        patients_bot, {"conversation_id": chat.sender, "message_id": new_id(), "text": "x"}, token
    )
    assert answer.status_code == 401 and answer.json() == {"error": "unauthorized"}
    assert len(bot_events(patients_bot, chat.sender)) == 1  # only the greeting


@pytest.mark.parametrize(
    "body",
    [
        {"conversation_id": "x", "message_id": "m-1"},
        {"conversation_id": "x", "message_id": "bad id", "text": "hi"},
        {"conversation_id": "x", "message_id": "m-1", "text": "hi", "response": "utter_greet"},
        ["not", "an", "object"],
    ],
)
def test_a_bad_body_is_a_400_with_a_reason(patients_bot: RunningBot, body: Any) -> None:
    answer = send(patients_bot, body)
    assert answer.status_code == 400 and answer.json()["error"]


def test_a_body_that_is_not_json_is_a_400(patients_bot: RunningBot) -> None:
    answer = requests.post(
        f"{patients_bot.url}/webhooks/patients/send",
        data=b"{not json",
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
        timeout=30,
    )
    assert answer.status_code == 400 and answer.json()["error"]


def test_an_unknown_conversation_is_a_404(patients_bot: RunningBot) -> None:
    answer = send(patients_bot, {"conversation_id": new_id(), "message_id": "m-1", "text": "hi"})
    assert answer.status_code == 404 and answer.json() == {"error": "unknown_conversation"}


def test_an_unknown_response_is_a_400(patients_bot: RunningBot) -> None:
    chat = RestChat(patients_bot.url)
    chat.send("hello")
    body = {"conversation_id": chat.sender, "message_id": new_id(), "response": "utter_nothing"}
    assert send(patients_bot, body).status_code == 400


# ---- the widget ------------------------------------------------------------------------


async def test_a_coordinators_message_reaches_the_widget_room_and_the_tracker(
    patients_bot: RunningBot,
) -> None:
    widget = ThirdPartyWidget(patients_bot.url, origin=None)
    session = await widget.connect(uuid.uuid4().hex)
    try:
        assert await widget.say("merhaba") == [("utter_greet", "tr")]
        joined = {
            "conversation_id": session,
            "message_id": "join-1",
            "response": "utter_coordinator_joined",
            "variables": {"coordinator_name": "Ayşe"},
            "sender": COORDINATOR,
        }
        answer = await asyncio.to_thread(send, patients_bot, joined)
        assert answer.status_code == 200, answer.text
        assert answer.json() | {"text": ""} == {
            "status": "sent",
            "channel": "socketio",
            "language": "tr",
            "text": "",
        }
        received = await asyncio.wait_for(widget.replies.get(), timeout=10)
        assert received["text"] == answer.json()["text"]
        assert which_response(received["text"]) == ("utter_coordinator_joined", "tr")
        assert "Ayşe" in received["text"]
        assert received["metadata"] == {
            "message_id": "join-1",
            "from": "coordinator",
            "name": "Ayşe",
            "utter_action": "utter_coordinator_joined",
        }
        [recorded] = with_message_id(patients_bot, session, "join-1")
        assert recorded["text"] == received["text"]
        assert recorded["metadata"]["from"] == "coordinator"

        # a retry with the same message_id is not sent again
        again = await asyncio.to_thread(send, patients_bot, joined)
        assert again.status_code == 200 and again.json()["status"] == "duplicate"
        assert again.json()["text"] == received["text"]
        await asyncio.sleep(1)
        assert widget.replies.empty()
        assert len(with_message_id(patients_bot, session, "join-1")) == 1

        free_text = {
            "conversation_id": session,
            "message_id": "text-1",
            "text": "Merhaba, ben Ayşe.",
            "buttons": [{"title": "Tamam", "payload": "/affirm"}],
            "sender": COORDINATOR,
        }
        assert (await asyncio.to_thread(send, patients_bot, free_text)).status_code == 200
        received = await asyncio.wait_for(widget.replies.get(), timeout=10)
        assert received["text"] == "Merhaba, ben Ayşe."
        assert received["buttons"] == [{"title": "Tamam", "payload": "/affirm"}]
    finally:
        await widget.close()


async def test_a_widget_that_was_closed_gets_the_coordinators_messages_when_it_returns(
    patients_bot: RunningBot,
) -> None:
    page = ThirdPartyWidget(patients_bot.url, origin=None)
    session = await page.connect(uuid.uuid4().hex)
    assert await page.say("merhaba") == [("utter_greet", "tr")]
    await page.close()  # the patient closed the tab
    for message_id, words in (("closed-1", "Merhaba, ben Ayşe."), ("closed-2", "Yarın ararım.")):
        body = {"conversation_id": session, "message_id": message_id, "text": words}
        answer = await asyncio.to_thread(send, patients_bot, body | {"sender": COORDINATOR})
        assert answer.status_code == 200, answer.text

    async def reopen(seen: list[str]) -> list[dict[str, Any]]:
        widget = ThirdPartyWidget(patients_bot.url, origin=None)
        await widget.client.connect(patients_bot.url, transports=["websocket"])
        await widget.client.emit("session_request", {"session_id": session, "seen": seen})
        assert await asyncio.wait_for(widget.confirmed.get(), timeout=10) == session
        await asyncio.sleep(1.5)
        received = []
        while not widget.replies.empty():
            received.append(widget.replies.get_nowait())
        await widget.close()
        return received

    missed = await reopen([])
    assert [m["text"] for m in missed] == ["Merhaba, ben Ayşe.", "Yarın ararım."]
    assert missed[0]["metadata"] == {
        "from": "coordinator",
        "name": "Ayşe",
        "message_id": "closed-1",
    }
    assert [m["text"] for m in await reopen(["closed-1"])] == ["Yarın ararım."]
    assert await reopen(["closed-1", "closed-2"]) == []
    # a third-party widget sends no `seen`: Rasa's protocol unchanged, nothing resent
    other = ThirdPartyWidget(patients_bot.url, origin=None)
    assert await other.connect(session) == session
    await asyncio.sleep(1)
    assert other.replies.empty()
    await other.close()


# ---- WhatsApp (Cloud API) --------------------------------------------------------------


def test_a_coordinators_text_reaches_whatsapp(
    patients_bot: RunningBot, graph: FakeGraphApi
) -> None:
    patient = Patient(patients_bot, graph, "4915112600001")
    patient.send(text("Hallo"))
    body = {
        "conversation_id": patient.wa_id,
        "message_id": new_id(),
        "text": "Guten Tag!",
        "sender": COORDINATOR,
    }
    answer = send(patients_bot, body)
    assert answer.status_code == 200 and answer.json()["status"] == "sent"
    assert answer.json()["channel"] == "whatsapp" and answer.json()["language"] == "de"
    [sent] = patient.new_replies()
    assert sent["type"] == "text" and sent["text"]["body"] == "Guten Tag!"
    assert with_message_id(patients_bot, patient.wa_id, body["message_id"])


def test_a_response_with_buttons_is_rendered_as_the_bot_renders_it(
    patients_bot: RunningBot, graph: FakeGraphApi
) -> None:
    patient = Patient(patients_bot, graph, "905551260002")
    patient.send(text("Merhaba"))
    body = {
        "conversation_id": patient.wa_id,
        "message_id": new_id(),
        "response": "utter_coordinator_left",
        "buttons": [
            {"title": "Evet", "payload": "/affirm"},
            {"title": "Hayır", "payload": "/deny"},
        ],
    }
    assert send(patients_bot, body).status_code == 200
    [sent] = patient.new_replies()
    assert sent["type"] == "interactive"
    assert [b["reply"]["id"] for b in sent["interactive"]["action"]["buttons"]] == [
        "/affirm",
        "/deny",
    ]
    assert which_response(sent["interactive"]["body"]["text"]) == ("utter_coordinator_left", "tr")
    [recorded] = with_message_id(patients_bot, patient.wa_id, body["message_id"])
    assert recorded["metadata"]["from"] == "bot"


def test_outside_the_24_hour_window_only_a_template_is_sent(
    patients_bot: RunningBot, graph: FakeGraphApi
) -> None:
    wa_id = "905551260003"
    long_ago = time.time() - 25 * 3600
    add_events(
        patients_bot,
        wa_id,
        [
            {
                "event": "user",
                "text": "merhaba",
                "timestamp": long_ago,
                "input_channel": "whatsapp",
                "parse_data": {"intent": {"name": "greet", "confidence": 1.0}, "entities": []},
            }
        ],
    )
    refused = send(
        patients_bot, {"conversation_id": wa_id, "message_id": new_id(), "text": "Merhaba"}
    )
    assert refused.status_code == 409 and refused.json()["error"] == "window_closed"
    assert refused.json()["window_closed_at"].startswith(
        time.strftime("%Y-%m-%d", time.gmtime(long_ago + 24 * 3600))
    )
    assert graph.sent_to(wa_id) == []

    template = {"name": "follow_up", "language": "tr", "parameters": ["Ayşe"]}
    body = {"conversation_id": wa_id, "message_id": new_id(), "whatsapp_template": template}
    answer = send(patients_bot, body)
    assert answer.status_code == 200 and answer.json()["status"] == "sent"
    [sent] = graph.sent_to(wa_id)
    assert sent["type"] == "template"
    assert sent["template"] == {
        "name": "follow_up",
        "language": {"code": "tr"},
        "components": [{"type": "body", "parameters": [{"type": "text", "text": "Ayşe"}]}],
    }
    [recorded] = with_message_id(patients_bot, wa_id, body["message_id"])
    assert recorded["metadata"]["whatsapp_template"] == "follow_up"


def test_when_whatsapp_fails_nothing_is_recorded_and_a_retry_sends_it(
    patients_bot: RunningBot, graph: FakeGraphApi
) -> None:
    patient = Patient(patients_bot, graph, "4915112600004")
    patient.send(text("Hallo"))
    body = {"conversation_id": patient.wa_id, "message_id": new_id(), "text": "Einen Moment bitte."}
    graph.fail_next_sends(*[Failure(500, {"Retry-After": "0"}) for _ in range(4)])
    failed = send(patients_bot, body)
    assert failed.status_code == 502
    assert failed.json() == {"error": "delivery_failed", "channel": "whatsapp"}
    assert with_message_id(patients_bot, patient.wa_id, body["message_id"]) == []
    assert patient.new_replies() == []

    retried = send(patients_bot, body)
    assert retried.status_code == 200 and retried.json()["status"] == "sent"
    assert [m["text"]["body"] for m in patient.new_replies()] == ["Einen Moment bitte."]
    assert len(with_message_id(patients_bot, patient.wa_id, body["message_id"])) == 1


def test_a_template_needs_a_whatsapp_conversation(patients_bot: RunningBot) -> None:
    chat = RestChat(patients_bot.url)
    chat.send("hello")
    template = {"name": "follow_up", "language": "en"}
    body = {"conversation_id": chat.sender, "message_id": new_id(), "whatsapp_template": template}
    assert send(patients_bot, body).status_code == 400


# ---- Twilio, REST ----------------------------------------------------------------------


def test_a_coordinators_text_reaches_twilio(
    patients_bot: RunningBot, twilio_api: FakeTwilioApi
) -> None:
    sender = "whatsapp:+4915112600005"
    assert post_to_twilio(patients_bot, twilio_form(sender, "Hallo")).status_code == 200
    before = len(twilio_api.sent_to(sender))
    body = {
        "conversation_id": sender,
        "message_id": new_id(),
        "text": "Guten Tag, hier ist Ayşe.",
        "sender": COORDINATOR,
    }
    answer = send(patients_bot, body)
    assert answer.status_code == 200 and answer.json()["channel"] == "twilio"
    assert [m["Body"] for m in twilio_api.sent_to(sender)[before:]] == ["Guten Tag, hier ist Ayşe."]
    assert send(patients_bot, body).json()["status"] == "duplicate"
    assert len(twilio_api.sent_to(sender)) == before + 1


def test_when_twilio_fails_nothing_is_recorded(
    patients_bot: RunningBot, twilio_api: FakeTwilioApi
) -> None:
    sender = "whatsapp:+4915112600006"
    assert post_to_twilio(patients_bot, twilio_form(sender, "Hallo")).status_code == 200
    before = len(twilio_api.sent_to(sender))
    body = {"conversation_id": sender, "message_id": new_id(), "text": "Einen Moment bitte."}
    twilio_api.fail_next_sends(1)
    failed = send(patients_bot, body)
    assert failed.status_code == 502
    assert failed.json() == {"error": "delivery_failed", "channel": "twilio"}
    assert with_message_id(patients_bot, sender, body["message_id"]) == []
    assert send(patients_bot, body).json()["status"] == "sent"
    assert [m["Body"] for m in twilio_api.sent_to(sender)[before:]] == ["Einen Moment bitte."]


def test_a_rest_conversation_is_only_recorded(patients_bot: RunningBot) -> None:
    chat = RestChat(patients_bot.url)
    chat.send("hello")
    body = {
        "conversation_id": chat.sender,
        "message_id": new_id(),
        "response": "utter_coordinator_shortly",
    }
    answer = send(patients_bot, body)
    assert answer.status_code == 200 and answer.json()["status"] == "recorded"
    assert which_response(answer.json()["text"]) == ("utter_coordinator_shortly", "en")
    [recorded] = with_message_id(patients_bot, chat.sender, body["message_id"])
    assert recorded["metadata"]["utter_action"] == "utter_coordinator_shortly"


# ---- take over: the bot stays silent while paused --------------------------------------


def test_a_paused_conversation_gets_no_bot_reply_until_it_is_resumed(
    patients_bot: RunningBot,
) -> None:
    chat = RestChat(patients_bot.url)
    assert chat.answers("hello") == [("utter_greet", "en")]
    add_events(patients_bot, chat.sender, [{"event": "pause"}])
    assert chat.send("what is hemifacial spasm?") == []
    answer = send(
        patients_bot,
        {
            "conversation_id": chat.sender,
            "message_id": new_id(),
            "text": "Hi, I'm Ayşe.",
            "sender": COORDINATOR,
        },
    )
    assert answer.status_code == 200  # the coordinator still reaches the patient
    add_events(patients_bot, chat.sender, [{"event": "resume"}])
    assert chat.answers("hello") == [("utter_greet", "en")]


async def test_a_paused_widget_conversation_gets_no_bot_reply(patients_bot: RunningBot) -> None:
    widget = ThirdPartyWidget(patients_bot.url, origin=None)
    session = await widget.connect(uuid.uuid4().hex)
    try:
        assert await widget.say("hello") == [("utter_greet", "en")]
        await asyncio.to_thread(add_events, patients_bot, session, [{"event": "pause"}])
        assert await widget.say("hello") == []
        await asyncio.to_thread(add_events, patients_bot, session, [{"event": "resume"}])
        assert await widget.say("hello") == [("utter_greet", "en")]
    finally:
        await widget.close()


# ---- the bot's own proactive messages, from another process ----------------------------


def test_the_bots_own_proactive_message_goes_through_the_client(patients_bot: RunningBot) -> None:
    chat = RestChat(patients_bot.url)
    chat.send("merhaba")
    client = PatientChannelsClient(patients_bot.url, TOKEN)
    message_id = new_id()
    answer = client.send_response(chat.sender, message_id, "utter_coordinator_shortly")
    assert answer.delivered and answer.body["status"] == "recorded"
    assert which_response(answer.body["text"]) == ("utter_coordinator_shortly", "tr")
    assert (
        client.send_response(chat.sender, message_id, "utter_coordinator_shortly").body["status"]
        == "duplicate"
    )
    [recorded] = with_message_id(patients_bot, chat.sender, message_id)
    assert recorded["metadata"]["from"] == "bot"
