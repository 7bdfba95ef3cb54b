"""The patient channels endpoint's pure parts: validation, window, metadata, rendering."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from bot.channels.outgoing import Outgoing
from bot.channels.patients import (
    BadRequest,
    already_sent,
    message_metadata,
    parse_send_request,
    valid_token,
    window_closed,
)
from bot.channels.whatsapp.render import template_message
from bot.channels.whatsapp.twilio import twilio_body
from bot.channels.widget import bot_uttered_payload

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=timezone.utc)


def body(**extra: Any) -> dict[str, Any]:
    return {"conversation_id": "c-1", "message_id": "m-1", **extra}


def test_a_coordinators_text_is_accepted() -> None:
    request = parse_send_request(
        body(text=" Hello ", sender={"role": "coordinator", "name": "Ayşe"})
    )
    assert (request.text, request.coordinator, request.response) == ("Hello", "Ayşe", None)


def test_a_response_with_variables_and_a_template_are_accepted() -> None:
    request = parse_send_request(
        body(response="utter_coordinator_joined", variables={"coordinator_name": "Ayşe"})
    )
    assert request.variables == {"coordinator_name": "Ayşe"} and request.coordinator is None
    template = parse_send_request(
        body(whatsapp_template={"name": "follow_up", "language": "tr", "parameters": ["Ayşe"]})
    ).template
    assert template is not None and template.parameters == ("Ayşe",)


@pytest.mark.parametrize(
    "bad",
    [
        [],
        "text",
        {"message_id": "m-1", "text": "x"},
        body(),
        body(text="x", response="utter_coordinator_left"),
        body(text="   "),
        body(text="x" * 5000),
        {"conversation_id": "c-1", "message_id": "not valid!", "text": "x"},
        {"conversation_id": "c-1", "message_id": "m" * 65, "text": "x"},
        body(response="say_hello"),
        body(text="x", sender={"role": "coordinator"}),
        body(text="x", sender={"role": "admin", "name": "A"}),
        body(text="x", buttons=[{"title": "Yes"}]),
        body(text="x", buttons="yes"),
        body(response="utter_coordinator_joined", variables={"a b": "x"}),
        body(response="utter_coordinator_joined", variables={"name": {"x": 1}}),
        body(whatsapp_template={"name": "Follow Up", "language": "tr"}),
        body(whatsapp_template={"name": "follow_up", "language": "turkish"}),
        body(whatsapp_template={"name": "follow_up", "language": "tr", "parameters": [1]}),
    ],
)
def test_bad_requests_are_refused_with_a_reason(bad: Any) -> None:
    with pytest.raises(BadRequest) as refused:
        parse_send_request(bad)
    assert str(refused.value)


def test_a_message_id_already_in_the_tracker_is_a_duplicate() -> None:
    events = [{"event": "bot", "text": "hi", "metadata": {"message_id": "m-1"}}]
    assert already_sent(events, "m-1") and not already_sent(events, "m-2")
    assert not already_sent([{"event": "user", "metadata": {"message_id": "m-1"}}], "m-1")


def _user(channel: str, at: datetime) -> dict[str, Any]:
    return {"event": "user", "input_channel": channel, "timestamp": at.timestamp()}


def test_whatsapp_free_text_needs_a_patient_message_of_the_last_24_hours() -> None:
    recent = [_user("whatsapp", NOW - timedelta(hours=23))]
    old = [_user("whatsapp", NOW - timedelta(hours=25))]
    assert window_closed("whatsapp", recent, NOW) == (False, NOW + timedelta(hours=1))
    assert window_closed("twilio", old, NOW) == (True, NOW - timedelta(hours=1))
    assert window_closed("socketio", old, NOW) == (False, None)
    assert window_closed("whatsapp", [], NOW) == (True, None)


def test_the_latest_whatsapp_message_counts() -> None:
    events = [_user("whatsapp", NOW - timedelta(days=3)), _user("whatsapp", NOW)]
    assert window_closed("whatsapp", events, NOW)[0] is False


def test_metadata_marks_the_coordinator_or_the_bot() -> None:
    coordinator = parse_send_request(body(text="x", sender={"role": "coordinator", "name": "A"}))
    assert message_metadata(coordinator) == {
        "message_id": "m-1",
        "from": "coordinator",
        "name": "A",
    }
    bot = parse_send_request(body(response="utter_coordinator_shortly"))
    assert message_metadata(bot) == {
        "message_id": "m-1",
        "from": "bot",
        "utter_action": "utter_coordinator_shortly",
    }


def test_the_token_is_a_bearer_token() -> None:
    assert valid_token("Bearer secret", "secret") and valid_token("bearer  secret", "secret")
    assert not valid_token("Bearer wrong", "secret") and not valid_token(None, "secret")
    assert not valid_token("secret", "secret") and not valid_token("Basic secret", "secret")


def test_a_template_message_has_its_body_parameters() -> None:
    assert template_message("follow_up", "tr", ["Ayşe", "HFS-ABC"]).body == {
        "type": "template",
        "template": {
            "name": "follow_up",
            "language": {"code": "tr"},
            "components": [
                {
                    "type": "body",
                    "parameters": [
                        {"type": "text", "text": "Ayşe"},
                        {"type": "text", "text": "HFS-ABC"},
                    ],
                }
            ],
        },
    }


def test_twilio_shows_buttons_as_a_numbered_menu() -> None:
    text, menu = twilio_body("Shall I?", [{"title": "Yes", "payload": "/affirm"}])
    assert text.startswith("Shall I?\n\n1. Yes") and menu == ("/affirm",)


def test_the_widget_gets_an_ordinary_bot_message_with_metadata() -> None:
    message = Outgoing("Hi", "en", ({"title": "OK", "payload": "/affirm"},), {"from": "bot"})
    assert bot_uttered_payload(message) == {
        "text": "Hi",
        "buttons": [{"title": "OK", "payload": "/affirm"}],
        "metadata": {"from": "bot"},
    }
