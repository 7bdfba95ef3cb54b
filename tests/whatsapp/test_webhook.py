"""The WhatsApp webhook over HTTP: Meta's verification handshake, signatures, bad bodies."""

from __future__ import annotations

import json

import pytest
import requests

from tests.support.fake_graph_api import FakeGraphApi
from tests.support.servers import RunningBot
from tests.support.whatsapp import (
    VERIFY_TOKEN,
    deliver,
    envelope,
    messages_value,
    sign,
    statuses,
    text,
    user_events,
)

WEBHOOK = "/webhooks/whatsapp/webhook"


def test_verification_handshake_returns_the_challenge_as_plain_text(
    whatsapp_bot: RunningBot,
) -> None:
    params = {
        "hub.mode": "subscribe",
        "hub.verify_token": VERIFY_TOKEN,
        "hub.challenge": "1158201444",
    }
    answer = requests.get(whatsapp_bot.url + WEBHOOK, params=params, timeout=10)
    assert answer.status_code == 200
    assert answer.text == "1158201444"
    assert answer.headers["Content-Type"].startswith("text/plain")


@pytest.mark.parametrize(
    "params",
    [
        {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"},
        {"hub.mode": "unsubscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"},
        {"hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"},
        {},
    ],
    ids=["wrong-token", "wrong-mode", "no-mode", "nothing"],
)
def test_verification_with_anything_else_is_refused(
    whatsapp_bot: RunningBot, params: dict[str, str]
) -> None:
    answer = requests.get(whatsapp_bot.url + WEBHOOK, params=params, timeout=10)
    assert answer.status_code == 403
    assert "1" not in answer.text.replace("403", "")


@pytest.mark.parametrize(
    "signature",
    [None, "", "sha256=" + "0" * 64, "sha1=abc", sign(b"another body")],
    ids=["missing", "empty", "wrong-digest", "wrong-algorithm", "other-body"],
)
def test_delivery_with_a_missing_or_wrong_signature_is_refused_and_not_processed(
    whatsapp_bot: RunningBot, graph: FakeGraphApi, signature: str | None
) -> None:
    wa_id = "4915112340001"
    message = text("Was ist ein Hemispasmus facialis?")
    answer = deliver(
        whatsapp_bot, envelope(messages_value(wa_id, "Anna", message)), signature=signature
    )
    assert answer.status_code == 403
    assert user_events(whatsapp_bot, wa_id) == []
    assert graph.sent_to(wa_id) == []


def test_signature_is_checked_before_the_body_is_parsed(whatsapp_bot: RunningBot) -> None:
    answer = deliver(whatsapp_bot, None, signature="sha256=" + "1" * 64, raw=b"{not json")
    assert answer.status_code == 403


@pytest.mark.parametrize(
    "raw",
    [b"{not json", b"", "\u00e9".encode("latin-1"), b"[1, 2, 3]", b'"text"', b"null"],
    ids=["broken", "empty", "not-utf8", "array", "string", "null"],
)
def test_malformed_signed_body_gets_400_not_500(whatsapp_bot: RunningBot, raw: bytes) -> None:
    answer = deliver(whatsapp_bot, None, raw=raw)
    assert answer.status_code == 400
    assert answer.json() == {"error": "malformed JSON payload"}


def test_oversized_body_is_refused(whatsapp_bot: RunningBot) -> None:
    payload = envelope(messages_value("4915112340002", "Anna", text("x" * (4 * 1024 * 1024))))
    answer = deliver(whatsapp_bot, payload)
    assert answer.status_code == 413


def test_unexpected_but_signed_shapes_are_acknowledged_and_ignored(
    whatsapp_bot: RunningBot, graph: FakeGraphApi
) -> None:
    odd = [
        {"object": "page", "entry": []},
        {"object": "whatsapp_business_account", "entry": "nope"},
        {"object": "whatsapp_business_account", "entry": [{"changes": [{"value": None}]}]},
        envelope({"messages": [{"type": "text"}]}),  # no id, no sender
    ]
    before = len(graph.calls())
    for payload in odd:
        answer = deliver(whatsapp_bot, payload)
        assert answer.status_code == 200, payload
    assert len(graph.calls()) == before


def test_messages_for_another_business_number_are_ignored(
    whatsapp_bot: RunningBot, graph: FakeGraphApi
) -> None:
    payload = envelope(messages_value("4915112340003", "Anna", text("Hallo")))
    payload["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = "999"
    answer = deliver(whatsapp_bot, payload)
    assert answer.status_code == 200
    assert user_events(whatsapp_bot, "4915112340003") == []


def test_status_updates_are_acknowledged_and_nothing_is_sent(
    whatsapp_bot: RunningBot, graph: FakeGraphApi
) -> None:
    wa_id = "4915112340004"
    before = len(graph.calls())
    for status in ("sent", "delivered", "read", "failed"):
        answer = deliver(whatsapp_bot, envelope(statuses(wa_id, status)))
        assert answer.status_code == 200
        assert answer.json() == {"status": "received"}
    assert len(graph.calls()) == before
    assert user_events(whatsapp_bot, wa_id) == []


def test_the_webhook_answers_while_the_bot_is_still_busy(
    whatsapp_bot: RunningBot, graph: FakeGraphApi
) -> None:
    """Meta gets its 200 at once: here the Graph API blocks every call, so no read
    receipt and no reply can have been sent when the webhook answers."""
    wa_id = "4915112340005"
    graph.hold_sends()
    try:
        payload = envelope(messages_value(wa_id, "Anna", text("Was ist ein Hemispasmus facialis?")))
        answer = deliver(whatsapp_bot, payload)
        assert answer.status_code == 200
        assert answer.json() == {"status": "received"}
        assert graph.sent_to(wa_id) == []
    finally:
        graph.release_sends()
    graph.wait_until(lambda: len(graph.sent_to(wa_id)) == 2)


def test_webhook_health_says_configured(whatsapp_bot: RunningBot) -> None:
    answer = requests.get(whatsapp_bot.url + "/webhooks/whatsapp/", timeout=10)
    assert answer.json() == {"status": "ok", "configured": True}
    assert json.loads(requests.get(whatsapp_bot.url + "/webhooks/twilio/", timeout=10).text)[
        "configured"
    ]


def test_the_patient_channels_endpoint_is_off_without_rasa_auth_token(
    whatsapp_bot: RunningBot,
) -> None:
    answer = requests.post(
        f"{whatsapp_bot.url}/webhooks/patients/send",
        json={"conversation_id": "x", "message_id": "m-1", "text": "hi"},
        headers={"Authorization": f"Bearer {whatsapp_bot.auth_token}"},
        timeout=30,
    )
    assert answer.status_code == 503 and answer.json() == {"error": "disabled"}
    health = requests.get(f"{whatsapp_bot.url}/webhooks/patients/health", timeout=10)
    assert health.status_code == 200
