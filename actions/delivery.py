"""Delivers handoff tickets to the clinic's coordinator/CRM webhook, retrying until it works.

    POST $COORDINATOR_WEBHOOK_URL
    Content-Type: application/json
    X-Signature-256: sha256=<HMAC-SHA256 of the raw body with $COORDINATOR_WEBHOOK_SECRET>
    Idempotency-Key: <ticket id>   (the same on every retry of the same ticket)

A 2xx answer marks the ticket delivered. Timeouts, connection errors, 429 and 5xx keep it
pending with exponential backoff; any other answer too (the receiver may be misconfigured),
so a ticket is never dropped. Run the worker with `python -m actions.delivery` (`make run`
starts it when a webhook URL is configured).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Optional

import requests

from actions.handoff_store import HandoffStore, Ticket, console_url

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class WebhookConfig:
    url: str
    secret: str
    connect_timeout: float = 3.0
    read_timeout: float = 10.0
    base_backoff: float = 2.0
    max_backoff: float = 600.0

    @classmethod
    def from_environment(cls) -> Optional[WebhookConfig]:
        url = os.environ.get("COORDINATOR_WEBHOOK_URL", "").strip()
        if not url:
            return None
        secret = os.environ.get("COORDINATOR_WEBHOOK_SECRET", "")
        if not secret:
            raise RuntimeError(
                "COORDINATOR_WEBHOOK_URL is set but COORDINATOR_WEBHOOK_SECRET is not"
            )
        return cls(url=url, secret=secret)

    def backoff(self, attempts: int) -> timedelta:
        return timedelta(seconds=min(self.max_backoff, self.base_backoff * 2 ** max(0, attempts)))


def signature(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def encode(ticket: Ticket) -> bytes:
    return json.dumps(ticket.as_payload(console_url()), ensure_ascii=False, sort_keys=True).encode()


def post_ticket(session: requests.Session, config: WebhookConfig, ticket: Ticket) -> Optional[str]:
    """Posts one ticket; returns None when delivered, else a short error (no personal data)."""
    body = encode(ticket)
    headers = {
        "Content-Type": "application/json",
        "X-Signature-256": signature(body, config.secret),
        "Idempotency-Key": ticket.id,
    }
    try:
        response = session.post(
            config.url,
            data=body,
            headers=headers,
            timeout=(config.connect_timeout, config.read_timeout),
        )
    except requests.Timeout:
        return "timeout"
    except requests.RequestException as error:
        return f"connection error: {type(error).__name__}"
    if 200 <= response.status_code < 300:
        return None
    return f"HTTP {response.status_code}"


def deliver_due(store: HandoffStore, config: WebhookConfig, session: requests.Session) -> int:
    """One pass over due tickets; returns how many were delivered."""
    delivered = 0
    for ticket in store.claim_due(lease=timedelta(seconds=config.read_timeout * 3)):
        error = post_ticket(session, config, ticket)
        if error is None:
            store.mark_delivered(ticket.id)
            delivered += 1
            logger.info("ticket %s delivered", ticket.reference)
        else:
            retry_in = config.backoff(ticket.delivery_attempts)
            store.mark_failed(ticket.id, error, retry_in)
            logger.warning(
                "ticket %s not delivered (%s), retry in %.0f s",
                ticket.reference,
                error,
                retry_in.total_seconds(),
            )
    return delivered


def heartbeat_file() -> Optional[Path]:
    """DELIVERY_HEARTBEAT_FILE: touched after every pass, for liveness probes."""
    configured = os.environ.get("DELIVERY_HEARTBEAT_FILE")
    return Path(configured) if configured else None


def heartbeat_is_fresh(path: Optional[Path], max_age_seconds: float) -> bool:
    """True when the worker finished a pass within `max_age_seconds` (the probe's check)."""
    try:
        return path is not None and time.time() - path.stat().st_mtime < max_age_seconds
    except OSError:
        return False


def run_worker(
    store: HandoffStore, config: WebhookConfig, stop: threading.Event, interval: float
) -> None:
    heartbeat = heartbeat_file()
    with requests.Session() as session:
        while not stop.is_set():
            try:
                deliver_due(store, config, session)
                if heartbeat is not None:
                    heartbeat.touch()
            except Exception:  # a database hiccup must not kill the worker
                logger.exception("delivery pass failed; retrying")
            stop.wait(interval)


def main(argv: Optional[list[str]] = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["--check-heartbeat"]:  # `python -m actions.delivery --check-heartbeat 60`
        return 0 if heartbeat_is_fresh(heartbeat_file(), float(args[1])) else 1
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    config = WebhookConfig.from_environment()
    if config is None:
        logger.info("COORDINATOR_WEBHOOK_URL not set: tickets wait in the handoff store")
        return 0
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    interval = float(os.environ.get("COORDINATOR_DELIVERY_INTERVAL", "2"))
    run_worker(HandoffStore.from_environment(), config, stop, interval)
    return 0


if __name__ == "__main__":
    sys.exit(main())
