"""A real local HTTP server standing in for the clinic's coordinator/CRM webhook.

It can fail the first N calls with 503 and stall once (longer than the client's timeout),
records every attempt, checks the signature, and accepts each Idempotency-Key once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator


@dataclass
class Attempt:
    idempotency_key: str
    signature_valid: bool
    body: dict[str, Any]
    answered: int


@dataclass
class FakeWebhook:
    secret: str
    fail_first: int = 0
    stall_once_seconds: float = 0.0
    attempts: list[Attempt] = field(default_factory=list)
    accepted: dict[str, dict[str, Any]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def handle(self, raw: bytes, headers: dict[str, str]) -> int:
        expected = "sha256=" + hmac.new(self.secret.encode(), raw, hashlib.sha256).hexdigest()
        valid = hmac.compare_digest(expected, headers.get("x-signature-256", ""))
        key = headers.get("idempotency-key", "")
        with self.lock:
            number = len(self.attempts)
            stall = self.stall_once_seconds and number == self.fail_first
            status = 503 if number < self.fail_first else (401 if not valid else 200)
            if stall:
                status = 504
            self.attempts.append(Attempt(key, valid, json.loads(raw or b"{}"), status))
        if stall:
            time.sleep(self.stall_once_seconds)
        if status == 200:
            with self.lock:
                self.accepted.setdefault(key, json.loads(raw))
        return status


@contextmanager
def running_fake_webhook(**options: Any) -> Iterator[FakeWebhook]:
    fake = FakeWebhook(**options)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            status = fake.handle(raw, {k.lower(): v for k, v in self.headers.items()})
            try:
                self.send_response(status)
                self.end_headers()
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}/tickets"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
