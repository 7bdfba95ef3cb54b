"""A stand-in for the Rasa server's side of the console contract, as a real HTTP server on
a loopback port: the tracker API (`GET /conversations/{id}/tracker`, `POST …/tracker/events`
with pause/resume) and the patient channels endpoint `POST /webhooks/patients/send`
(docs/coordinators.md, contract section 2), including idempotency by `message_id`.

Tests seed conversations, can make the next sends fail (502 delivery_failed), and read what
was delivered. The real endpoint lives in bot/channels/patients.py (Rasa side).
"""

from __future__ import annotations

import json
import re
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator
from urllib.parse import parse_qs, unquote, urlparse

RESPONSES = {  # what the Rasa side renders, enough to tell the languages apart
    "utter_coordinator_joined": {
        "en": "{coordinator_name} has joined.",
        "tr": "{coordinator_name} katıldı.",
    },
    "utter_coordinator_left": {"en": "The assistant is back.", "tr": "Asistan geri döndü."},
    "utter_coordinator_shortly": {
        "en": "A coordinator will be with you shortly.",
        "tr": "Bir koordinatör birazdan sizinle olacak.",
    },
}


@dataclass
class FakeRasa:
    token: str
    trackers: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    sends: list[dict[str, Any]] = field(default_factory=list)  # every request received
    delivered: list[dict[str, Any]] = field(default_factory=list)  # actually delivered
    fail_next: int = 0
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def seed(
        self,
        conversation_id: str,
        channel: str = "socketio",
        language: str = "tr",
        age_seconds: float = 10,
    ) -> None:
        now = time.time()
        self.trackers[conversation_id] = [
            {"event": "action", "name": "action_session_start", "timestamp": now - age_seconds - 1},
            {
                "event": "slot",
                "name": "language",
                "value": language,
                "timestamp": now - age_seconds - 1,
            },
            {
                "event": "user",
                "text": "Merhaba, bir insanla konuşmak istiyorum",
                "timestamp": now - age_seconds,
                "input_channel": channel,
                "parse_data": {
                    "intent": {"name": "request_human", "confidence": 0.9},
                    "entities": [],
                },
            },
        ]

    def events(self, conversation_id: str) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.trackers.get(conversation_id, []))

    def paused(self, conversation_id: str) -> bool:
        state = False
        for event in self.events(conversation_id):
            if event["event"] == "pause":
                state = True
            elif event["event"] == "resume":
                state = False
        return state

    def handle_send(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self.lock:
            self.sends.append(body)
            conversation_id = str(body.get("conversation_id") or "")
            message_id = str(body.get("message_id") or "")
            if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", message_id):
                return 400, {"error": "invalid message_id"}
            events = self.trackers.get(conversation_id)
            if not events:
                return 404, {"error": "unknown_conversation"}
            if any((e.get("metadata") or {}).get("message_id") == message_id for e in events):
                return 200, {"status": "duplicate", "channel": "socketio"}
            if self.fail_next > 0:
                self.fail_next -= 1
                return 502, {"error": "delivery_failed", "channel": "socketio"}
            language = next(
                (
                    e["value"]
                    for e in reversed(events)
                    if e["event"] == "slot" and e["name"] == "language"
                ),
                "en",
            )
            channel = next(
                (e["input_channel"] for e in reversed(events) if e["event"] == "user"), "rest"
            )
            last_user = next((e for e in reversed(events) if e["event"] == "user"), None)
            if (
                channel in ("whatsapp", "twilio")
                and not body.get("whatsapp_template")
                and last_user
                and time.time() - last_user["timestamp"] > 24 * 3600
            ):
                return 409, {"error": "window_closed", "window_closed_at": "…"}
            if body.get("response"):
                variants = RESPONSES.get(body["response"], {"en": body["response"]})
                text = (variants.get(language) or variants["en"]).format(
                    **(body.get("variables") or {})
                )
            elif body.get("whatsapp_template"):
                text = "[template " + body["whatsapp_template"]["name"] + "]"
            else:
                text = body.get("text") or ""
            sender = body.get("sender") or {}
            metadata = {
                "message_id": message_id,
                "from": "coordinator" if sender.get("role") == "coordinator" else "bot",
            }
            if sender.get("name"):
                metadata["name"] = sender["name"]
            if body.get("response"):
                metadata["utter_action"] = body["response"]
            events.append(
                {
                    "event": "bot",
                    "text": text,
                    "timestamp": time.time(),
                    "metadata": metadata,
                    "data": {},
                }
            )
            self.delivered.append({**body, "rendered": text, "language": language})
            return 200, {"status": "sent", "channel": channel, "language": language, "text": text}


def _handler(fake: FakeRasa) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _reply(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _token_ok(self, query: dict[str, list[str]]) -> bool:
            return query.get("token", [""])[0] == fake.token

        def _body(self) -> Any:
            length = int(self.headers.get("Content-Length") or 0)
            return json.loads(self.rfile.read(length) or b"{}")

        def do_GET(self) -> None:
            url = urlparse(self.path)
            match = re.fullmatch(r"/conversations/([^/]+)/tracker", url.path)
            if not match:
                return self._reply(404, {"error": "not_found"})
            if not self._token_ok(parse_qs(url.query)):
                return self._reply(401, {"error": "unauthorized"})
            conversation_id = unquote(match.group(1))
            events = fake.events(conversation_id)
            slots = {e["name"]: e["value"] for e in events if e["event"] == "slot"}
            self._reply(
                200,
                {
                    "sender_id": conversation_id,
                    "events": events,
                    "slots": slots,
                    "paused": fake.paused(conversation_id),
                },
            )

        def do_POST(self) -> None:
            url = urlparse(self.path)
            if url.path == "/webhooks/patients/send":
                if self.headers.get("Authorization") != f"Bearer {fake.token}":
                    return self._reply(401, {"error": "unauthorized"})
                status, body = fake.handle_send(self._body())
                return self._reply(status, body)
            match = re.fullmatch(r"/conversations/([^/]+)/tracker/events", url.path)
            if not match:
                return self._reply(404, {"error": "not_found"})
            if not self._token_ok(parse_qs(url.query)):
                return self._reply(401, {"error": "unauthorized"})
            event = self._body()
            with fake.lock:
                fake.trackers.setdefault(unquote(match.group(1)), []).append(
                    {**event, "timestamp": time.time()}
                )
            self._reply(200, {})

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def running_fake_rasa(token: str) -> Iterator[FakeRasa]:
    fake = FakeRasa(token)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
