"""A fake Twilio Messages API: a real HTTP server on a loopback port that records the
messages the bot sends (form posts to /2010-04-01/Accounts/{sid}/Messages.json) and
serves the media of incoming messages (GET /media/{name}, with the account's credentials,
as Twilio's MediaUrl does)."""

from __future__ import annotations

import base64
import json
import threading
import uuid
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator
from urllib.parse import parse_qs


class FakeTwilioApi:
    def __init__(self, account_sid: str, auth_token: str) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self._sent: list[dict[str, str]] = []
        self._media: dict[str, tuple[bytes, str]] = {}
        self._failures = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def fail_next_sends(self, count: int) -> None:
        """The next `count` messages are refused with a 500, as an outage would."""
        with self._lock:
            self._failures += count

    def serve_media(self, name: str, content: bytes, content_type: str) -> str:
        """Serves a file; returns its MediaUrl."""
        with self._lock:
            self._media[name] = (content, content_type)
        return f"{self.base_url}/media/{name}"

    def sent_to(self, number: str) -> list[dict[str, str]]:
        with self._lock:
            return [m for m in self._sent if m.get("To") == number]

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                fake._handle(self)

            def do_GET(self) -> None:
                fake._download(self)

        return Handler

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        expected = (
            "Basic " + base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        )
        length = int(request.headers.get("Content-Length") or 0)
        form = {k: v[0] for k, v in parse_qs(request.rfile.read(length).decode()).items()}
        path_ok = request.path == f"/2010-04-01/Accounts/{self.account_sid}/Messages.json"
        if request.headers.get("Authorization") != expected or not path_ok:
            return self._reply(
                request, 401, {"code": 20003, "message": "Authenticate", "status": 401}
            )
        with self._lock:
            failing = self._failures > 0
            self._failures -= 1 if failing else 0
            if not failing:
                self._sent.append(form)
        if failing:
            return self._reply(
                request, 500, {"code": 20500, "message": "Internal error", "status": 500}
            )
        sid = "SM" + uuid.uuid4().hex
        self._reply(
            request,
            201,
            {
                "sid": sid,
                "account_sid": self.account_sid,
                "to": form.get("To"),
                "from": form.get("From"),
                "body": form.get("Body"),
                "status": "queued",
                "num_media": "0",
                "num_segments": "1",
                "direction": "outbound-api",
                "api_version": "2010-04-01",
                "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
            },
        )

    def _download(self, request: BaseHTTPRequestHandler) -> None:
        expected = (
            "Basic " + base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        )
        with self._lock:
            media = self._media.get(request.path.removeprefix("/media/"))
        if request.headers.get("Authorization") != expected:
            return self._reply(request, 401, {"code": 20003, "message": "Authenticate"})
        if media is None:
            return self._reply(request, 404, {"code": 20404, "message": "Not found"})
        content, content_type = media
        request.send_response(200)
        request.send_header("Content-Type", content_type)
        request.send_header("Content-Length", str(len(content)))
        request.end_headers()
        request.wfile.write(content)

    @staticmethod
    def _reply(request: BaseHTTPRequestHandler, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        request.send_response(status)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)


@contextmanager
def fake_twilio_api(account_sid: str, auth_token: str) -> Iterator[FakeTwilioApi]:
    fake = FakeTwilioApi(account_sid, auth_token)
    fake._thread.start()
    try:
        yield fake
    finally:
        fake._server.shutdown()
        fake._server.server_close()
