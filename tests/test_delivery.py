"""Ticket delivery to the coordinator webhook: failures, a stall and a worker restart."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import requests

from actions.delivery import WebhookConfig, deliver_due, signature
from actions.handoff_store import HandoffStore, NewTicket
from tests.support.fake_webhook import running_fake_webhook
from tests.support.servers import ROOT, test_environment

SECRET = "test-webhook-secret"


def ticket(n: int) -> NewTicket:
    return NewTicket(kind="handoff", channel="rest", sender_id=f"p{n}", language="en")


def fast_config(url: str) -> WebhookConfig:
    return WebhookConfig(url=url, secret=SECRET, read_timeout=0.5, base_backoff=0.0)


def test_signature_is_hmac_sha256_of_the_body() -> None:
    # RFC 4231-style known answer, computed independently with `openssl dgst -sha256 -hmac k`
    assert signature(b"{}", "k") == (
        "sha256=add853b103fbcc936a194f9eb15e29c4ff08af6e47d5d1bca4f20218e31e4fff"
    )


def test_every_ticket_arrives_once_despite_failures_and_a_stall(database_url: str) -> None:
    store = HandoffStore(database_url)
    created = [store.create(ticket(n)) for n in range(3)]
    with running_fake_webhook(secret=SECRET, fail_first=2, stall_once_seconds=1.5) as fake:
        config = fast_config(fake.url)
        with requests.Session() as session:
            for _ in range(10):
                deliver_due(store, config, session)
                if all(store.get(t.id).status == "delivered" for t in created):  # type: ignore[union-attr]
                    break
                time.sleep(0.1)
    assert set(fake.accepted) == {t.id for t in created}
    assert all(a.signature_valid for a in fake.attempts)
    assert {a.idempotency_key for a in fake.attempts} == {t.id for t in created}
    assert any(a.answered == 503 for a in fake.attempts) and any(
        a.answered == 504 for a in fake.attempts
    )


def test_undeliverable_ticket_stays_pending(database_url: str) -> None:
    store = HandoffStore(database_url)
    created = store.create(ticket(1))
    config = fast_config("http://127.0.0.1:9/nowhere")  # nothing listens on port 9
    with requests.Session() as session:
        assert deliver_due(store, config, session) == 0
    loaded = store.get(created.id)
    assert loaded is not None and loaded.status == "new" and loaded.delivery_attempts == 1


def _worker_environment(db_url: str, webhook_url: str, interval: str) -> dict[str, str]:
    return test_environment(
        {
            "HANDOFF_DB_URL": db_url,
            "COORDINATOR_WEBHOOK_URL": webhook_url,
            "COORDINATOR_WEBHOOK_SECRET": SECRET,
            "COORDINATOR_DELIVERY_INTERVAL": interval,
        }
    )


def _worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "actions.delivery"],
        cwd=ROOT,
        env=env,
        stdout=open(log, "ab"),
        stderr=subprocess.STDOUT,
    )


def test_worker_restart_loses_nothing(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'handoff.db'}"
    store = HandoffStore(db_url)
    created = [store.create(ticket(n)) for n in range(5)]
    with running_fake_webhook(secret=SECRET, fail_first=6) as fake:
        env = _worker_environment(db_url, fake.url, "0.2")
        first = _worker(env, tmp_path / "worker.log")
        deadline = time.monotonic() + 30
        while len(fake.attempts) < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        first.kill()  # a crash, not a clean stop
        first.wait()
        created.append(store.create(ticket(99)))  # arrives while no worker runs
        second = _worker(env, tmp_path / "worker.log")
        try:
            deadline = time.monotonic() + 60
            while len(fake.accepted) < len(created) and time.monotonic() < deadline:
                time.sleep(0.2)
        finally:
            second.terminate()
            second.wait(timeout=10)
    assert set(fake.accepted) == {t.id for t in created}
    assert all(store.get(t.id).status == "delivered" for t in created)  # type: ignore[union-attr]


def test_log_of_the_worker_contains_no_personal_data(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'handoff.db'}"
    store = HandoffStore(db_url)
    store.create(
        NewTicket(
            kind="booking",
            channel="rest",
            sender_id="+905321112233",
            language="tr",
            form_data={"patient_name": "Zeynep Kaya", "contact": "zeynep@example.com"},
        )
    )
    with running_fake_webhook(secret=SECRET, fail_first=1) as fake:
        env = _worker_environment(db_url, fake.url, "0.1")
        worker = _worker(env, tmp_path / "worker.log")
        deadline = time.monotonic() + 30
        while not fake.accepted and time.monotonic() < deadline:
            time.sleep(0.1)
        worker.terminate()
        worker.wait(timeout=10)
    log = (tmp_path / "worker.log").read_text()
    assert "delivered" in log
    for secret in ("Zeynep", "zeynep@example.com", "905321112233"):
        assert secret not in log
    assert SECRET not in log
