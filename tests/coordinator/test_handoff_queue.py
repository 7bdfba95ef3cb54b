"""The handoff store's console side (queue order, assign, close, delete for one patient, the
columns added to stores written before the console), on SQLite and the real PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from actions.handoff_store import HandoffStore, NewTicket


def ticket(sender: str, kind: str = "handoff") -> NewTicket:
    return NewTicket(kind=kind, channel="socketio", sender_id=sender, language="tr")


def test_queue_is_open_tickets_emergencies_first_then_oldest(database_url: str) -> None:
    store = HandoffStore(database_url)
    first, second = store.create(ticket("a")), store.create(ticket("b", "booking"))
    emergency = store.create(ticket("c", "emergency"))
    closed = store.create(ticket("d"))
    assert store.close(closed.id, "answered")
    assert [t.id for t in store.queue()] == [emergency.id, first.id, second.id]


def test_assign_and_close_with_an_outcome(database_url: str) -> None:
    store = HandoffStore(database_url)
    created = store.create(ticket("a"))
    store.assign(created.id, "ayse")
    assert store.get(created.id).assignee == "ayse"  # type: ignore[union-attr]
    assert store.close(created.id, "booked")
    closed = store.get(created.id)
    assert closed is not None and closed.status == "closed" and closed.outcome == "booked"
    assert closed.closed_at is not None
    assert not store.close(created.id, "booked")
    with pytest.raises(ValueError):
        store.close(created.id, "whatever")


def test_delete_for_sender_removes_tickets_and_their_attachments(database_url: str) -> None:
    store = HandoffStore(database_url)
    mine, other = store.create(ticket("patient")), store.create(ticket("someone-else"))
    store.add_attachment(mine.id, "mri.pdf", "application/pdf", b"%PDF-mine")
    kept = store.add_attachment(other.id, "mri.pdf", "application/pdf", b"%PDF-other")
    assert store.delete_for_sender("patient") == 1
    assert store.for_sender("patient") == [] and len(store.for_sender("someone-else")) == 1
    with store.engine.connect() as connection:
        assert [
            r[0] for r in connection.execute(text("SELECT ticket_id FROM ticket_attachments"))
        ] == [other.id]
    assert store.attachment(kept.id) is not None


def test_delete_for_sender_without_attachments(database_url: str) -> None:
    store = HandoffStore(database_url)
    store.create(ticket("patient"))
    assert store.delete_for_sender("patient") == 1


def test_a_store_written_before_the_console_gets_its_columns(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'old.db'}"
    with create_engine(url).begin() as connection:
        connection.execute(
            text(
                "CREATE TABLE handoff_tickets (id VARCHAR(36) PRIMARY KEY, reference VARCHAR(16) NOT NULL, kind VARCHAR(16) NOT NULL, channel VARCHAR(32) NOT NULL, sender_id VARCHAR(255) NOT NULL, language VARCHAR(8) NOT NULL, form_data JSON NOT NULL, consent_at DATETIME, transcript_summary TEXT NOT NULL, status VARCHAR(16) NOT NULL, created_at DATETIME NOT NULL, updated_at DATETIME NOT NULL, delivery_attempts INTEGER NOT NULL, next_attempt_at DATETIME NOT NULL, claimed_until DATETIME, delivered_at DATETIME, last_error VARCHAR(255))"
            )
        )
    store = HandoffStore(url)
    created = store.create(ticket("a"))
    store.assign(created.id, "ayse")
    assert store.queue()[0].assignee == "ayse"
