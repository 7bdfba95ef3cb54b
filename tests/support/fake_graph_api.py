"""A fake WhatsApp Cloud API (Graph API): a real HTTP server on a loopback port.

It records every call, answers `POST /{phone_number_id}/messages` like Meta does, serves
media (`GET /{media_id}` then the download URL), and can be told to fail the next sends
(e.g. 429 with Retry-After) to exercise retries.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterator
from urllib.parse import parse_qs, urlparse

API_VERSION = "v23.0"


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    query: dict[str, list[str]]
    authorization: str | None
    body: Any


@dataclass
class ServedMedia:
    content: bytes
    mime_type: str
    declared_size: int | None = None  # what GET /{media_id} claims (defaults to the real size)


@dataclass
class Failure:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] = field(default_factory=dict)


class FakeGraphApi:
    def __init__(self, access_token: str, phone_number_id: str) -> None:
        self.access_token = access_token
        self.phone_number_id = phone_number_id
        self._calls: list[Call] = []
        self._delivered: list[dict[str, Any]] = []
        self._media: dict[str, ServedMedia] = {}
        self._failures: list[Failure] = []
        self._sends_allowed = threading.Event()
        self._sends_allowed.set()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def root_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def base_url(self) -> str:
        return f"{self.root_url}/{API_VERSION}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # --- test controls -------------------------------------------------------------

    def serve_media(
        self, media_id: str, content: bytes, mime_type: str, declared_size: int | None = None
    ) -> None:
        with self._lock:
            self._media[media_id] = ServedMedia(content, mime_type, declared_size)

    def fail_next_sends(self, *failures: Failure) -> None:
        with self._lock:
            self._failures.extend(failures)

    def hold_sends(self) -> None:
        """Until `release_sends`, every call waits (as a very slow Graph API would)."""
        self._sends_allowed.clear()

    def release_sends(self) -> None:
        self._sends_allowed.set()

    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    def sent_to(self, wa_id: str) -> list[dict[str, Any]]:
        """Messages delivered to one patient (read receipts and failed attempts excluded)."""
        with self._lock:
            return [body for body in self._delivered if body.get("to") == wa_id]

    def attempts_to(self, wa_id: str) -> list[dict[str, Any]]:
        """Every send to one patient, including the attempts the fake failed."""
        return [
            c.body
            for c in self.calls()
            if c.method == "POST" and isinstance(c.body, dict) and c.body.get("to") == wa_id
        ]

    def read_receipts(self) -> list[str]:
        return [
            c.body["message_id"]
            for c in self.calls()
            if isinstance(c.body, dict) and c.body.get("status") == "read"
        ]

    def wait_until(self, condition: Callable[[], bool], timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"condition not met in {timeout} s; calls: {self.calls()}")
            time.sleep(0.1)

    # --- the server ----------------------------------------------------------------

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:
                fake._handle(self, "GET")

            def do_POST(self) -> None:
                fake._handle(self, "POST")

        return Handler

    def _handle(self, request: BaseHTTPRequestHandler, method: str) -> None:
        self._sends_allowed.wait(timeout=120)
        url = urlparse(request.path)
        length = int(request.headers.get("Content-Length") or 0)
        raw = request.rfile.read(length) if length else b""
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw
        authorization = request.headers.get("Authorization")
        with self._lock:
            self._calls.append(Call(method, url.path, parse_qs(url.query), authorization, body))
        if authorization != f"Bearer {self.access_token}":
            return self._reply(
                request, 401, {"error": {"code": 190, "message": "Invalid OAuth access token"}}
            )
        parts = url.path.strip("/").split("/")
        if method == "POST" and parts == [API_VERSION, self.phone_number_id, "messages"]:
            return self._messages(request, body)
        if method == "GET" and len(parts) == 2 and parts[0] == API_VERSION:
            return self._media_info(request, parts[1])
        if method == "GET" and len(parts) == 2 and parts[0] == "download":
            return self._download(request, parts[1])
        self._reply(request, 404, {"error": {"code": 100, "message": "Unknown path"}})

    def _messages(self, request: BaseHTTPRequestHandler, body: Any) -> None:
        with self._lock:
            failure = (
                self._failures.pop(0) if self._failures and body.get("status") != "read" else None
            )
        if failure is not None:
            return self._reply(
                request, failure.status, failure.body or {"error": {"code": 4}}, failure.headers
            )
        if body.get("status") == "read":
            return self._reply(request, 200, {"success": True})
        with self._lock:
            self._delivered.append(body)
        self._reply(
            request,
            200,
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": body.get("to"), "wa_id": body.get("to")}],
                "messages": [{"id": f"wamid.fake-{uuid.uuid4().hex}"}],
            },
        )

    def _media_info(self, request: BaseHTTPRequestHandler, media_id: str) -> None:
        media = self._media.get(media_id)
        if media is None:
            return self._reply(request, 404, {"error": {"code": 100, "message": "Unknown media"}})
        size = media.declared_size if media.declared_size is not None else len(media.content)
        self._reply(
            request,
            200,
            {
                "messaging_product": "whatsapp",
                "url": f"{self.root_url}/download/{media_id}",
                "mime_type": media.mime_type,
                "sha256": hashlib.sha256(media.content).hexdigest(),
                "file_size": str(size),
                "id": media_id,
            },
        )

    def _download(self, request: BaseHTTPRequestHandler, media_id: str) -> None:
        media = self._media.get(media_id)
        if media is None:
            return self._reply(request, 404, {"error": {"code": 100}})
        request.send_response(200)
        request.send_header("Content-Type", media.mime_type)
        request.send_header("Content-Length", str(len(media.content)))
        request.end_headers()
        request.wfile.write(media.content)

    @staticmethod
    def _reply(
        request: BaseHTTPRequestHandler,
        status: int,
        body: dict[str, Any],
        headers: dict[str, str] | None = None,
    ) -> None:
        data = json.dumps(body).encode("utf-8")
        request.send_response(status)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            request.send_header(name, value)
        request.end_headers()
        request.wfile.write(data)


@contextmanager
def fake_graph_api(access_token: str, phone_number_id: str) -> Iterator[FakeGraphApi]:
    fake = FakeGraphApi(access_token, phone_number_id)
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()
