"""Meta's documented WhatsApp webhook payloads, signed deliveries, and a patient who
talks to the bot over the real `/webhooks/whatsapp/webhook` endpoint."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import requests

from tests.support.chat import which_response
from tests.support.fake_graph_api import FakeGraphApi
from tests.support.servers import RunningBot

APP_SECRET = "test-app-secret"
VERIFY_TOKEN = "test-verify-token"
ACCESS_TOKEN = "test-access-token"
PHONE_NUMBER_ID = "106540352242922"
DISPLAY_NUMBER = "15550783881"
WABA_ID = "102290129340398"


def new_message_id() -> str:
    return f"wamid.test-{uuid.uuid4().hex}"


def envelope(value: dict[str, Any]) -> dict[str, Any]:
    """`object` / `entry[].changes[].value` around a value, as Meta sends it."""
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": WABA_ID,
                "changes": [
                    {
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": DISPLAY_NUMBER,
                                "phone_number_id": PHONE_NUMBER_ID,
                            },
                            **value,
                        },
                        "field": "messages",
                    }
                ],
            }
        ],
    }


def messages_value(wa_id: str, name: str, *messages: dict[str, Any]) -> dict[str, Any]:
    return {
        "contacts": [{"profile": {"name": name}, "wa_id": wa_id}],
        "messages": [{"from": wa_id, "timestamp": str(int(time.time())), **m} for m in messages],
    }


def text(body: str, message_id: str | None = None) -> dict[str, Any]:
    return {"id": message_id or new_message_id(), "type": "text", "text": {"body": body}}


def button_reply(reply_id: str, title: str) -> dict[str, Any]:
    return {
        "id": new_message_id(),
        "context": {"from": DISPLAY_NUMBER, "id": new_message_id()},
        "type": "interactive",
        "interactive": {"type": "button_reply", "button_reply": {"id": reply_id, "title": title}},
    }


def list_reply(reply_id: str, title: str) -> dict[str, Any]:
    return {
        "id": new_message_id(),
        "context": {"from": DISPLAY_NUMBER, "id": new_message_id()},
        "type": "interactive",
        "interactive": {
            "type": "list_reply",
            "list_reply": {"id": reply_id, "title": title, "description": ""},
        },
    }


def media(kind: str, media_id: str, mime_type: str, **extra: str) -> dict[str, Any]:
    """image, document, audio, video or sticker."""
    content = {"mime_type": mime_type, "sha256": "", "id": media_id, **extra}
    return {"id": new_message_id(), "type": kind, kind: content}


def location() -> dict[str, Any]:
    return {
        "id": new_message_id(),
        "type": "location",
        "location": {
            "latitude": 41.0082,
            "longitude": 28.9784,
            "name": "Hotel",
            "address": "Istanbul",
        },
    }


def reaction(emoji: str | None) -> dict[str, Any]:
    content: dict[str, Any] = {"message_id": new_message_id()}
    if emoji is not None:
        content["emoji"] = emoji
    return {"id": new_message_id(), "type": "reaction", "reaction": content}


def unsupported(kind: str = "edit") -> dict[str, Any]:
    return {
        "id": new_message_id(),
        "errors": [
            {
                "code": 131051,
                "title": "Message type unknown",
                "message": "Message type unknown",
                "error_data": {"details": "Message type is currently not supported."},
            }
        ],
        "type": "unsupported",
        "unsupported": {"type": kind},
    }


def statuses(wa_id: str, status: str = "delivered") -> dict[str, Any]:
    return {
        "statuses": [
            {
                "id": new_message_id(),
                "status": status,
                "timestamp": str(int(time.time())),
                "recipient_id": wa_id,
                "conversation": {"id": uuid.uuid4().hex, "origin": {"type": "service"}},
                "pricing": {"billable": True, "pricing_model": "CBP", "category": "service"},
            }
        ]
    }


def sign(body: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def deliver(
    bot: RunningBot, payload: Any, signature: str | None = "valid", raw: bytes | None = None
) -> requests.Response:
    """POSTs a delivery to the webhook; `signature` "valid" signs it, None omits the header."""
    body = raw if raw is not None else json.dumps(payload).encode("utf-8")
    headers = {"Content-Type": "application/json"}
    if signature == "valid":
        headers["X-Hub-Signature-256"] = sign(body)
    elif signature is not None:
        headers["X-Hub-Signature-256"] = signature
    return requests.post(
        f"{bot.url}/webhooks/whatsapp/webhook", data=body, headers=headers, timeout=30
    )


def tracker_events(bot: RunningBot, sender_id: str) -> list[dict[str, Any]]:
    response = requests.get(
        f"{bot.url}/conversations/{sender_id}/tracker",
        params={"token": bot.auth_token},
        timeout=30,
    )
    response.raise_for_status()
    return list(response.json().get("events") or [])


def user_events(bot: RunningBot, sender_id: str) -> list[dict[str, Any]]:
    """The patient's messages as Rasa stored them (text, message_id, metadata)."""
    return [e for e in tracker_events(bot, sender_id) if e.get("event") == "user"]


def wait_until_processed(
    bot: RunningBot, sender_id: str, message_id: str, timeout: float = 60
) -> None:
    """Until Rasa stored the message and the bot's turn after it (its replies are sent by then)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        events = tracker_events(bot, sender_id)
        user = [
            i
            for i, e in enumerate(events)
            if e.get("event") == "user" and e.get("message_id") == message_id
        ]
        if user and any(
            e.get("event") == "action" and e.get("name") == "action_listen"
            for e in events[user[-1] + 1 :]
        ):
            return
        time.sleep(0.2)
    raise AssertionError(f"message not processed in {timeout} s")


def body_text(message: dict[str, Any]) -> str:
    """The text a patient reads in a sent message (the bot's own text, menu lines cut)."""
    if message.get("type") == "text":
        return str(message["text"]["body"]).split("\n\n1. ")[0]
    if message.get("type") == "interactive":
        return str(message["interactive"]["body"]["text"])
    return ""


def response_of(message: dict[str, Any]) -> tuple[str, str] | None:
    return which_response(body_text(message))


@dataclass
class Patient:
    """A WhatsApp user: sends deliveries and reads what the fake Graph API received."""

    bot: RunningBot
    graph: FakeGraphApi
    wa_id: str
    name: str = "Test Patient"
    seen: int = field(default=0)

    def send(self, *messages: dict[str, Any]) -> list[dict[str, Any]]:
        """Delivers the messages in one webhook call; returns what the bot sent back."""
        response = deliver(self.bot, envelope(messages_value(self.wa_id, self.name, *messages)))
        assert response.status_code == 200, response.text
        wait_until_processed(self.bot, self.wa_id, messages[-1]["id"])
        return self.new_replies()

    def new_replies(self) -> list[dict[str, Any]]:
        sent = self.graph.sent_to(self.wa_id)
        replies, self.seen = sent[self.seen :], len(sent)
        return replies

    def says(self, body: str) -> list[tuple[str, str] | None]:
        return [response_of(m) for m in self.send(text(body))]
