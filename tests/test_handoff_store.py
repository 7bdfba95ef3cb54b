"""Handoff store against a real SQLite file and a real PostgreSQL (same tests)."""

from __future__ import annotations

from datetime import timedelta

from actions.handoff_store import HandoffStore, NewTicket, utcnow


def booking(sender: str = "patient-1") -> NewTicket:
    return NewTicket(
        kind="booking",
        channel="rest",
        sender_id=sender,
        language="tr",
        form_data={"patient_name": "Ayşe Yılmaz", "contact": "+905321234567"},
        consent_at=utcnow(),
        transcript_summary="user: randevu almak istiyorum",
    )


def test_ticket_is_stored_with_all_its_fields(database_url: str) -> None:
    store = HandoffStore(database_url)
    created = store.create(booking())
    loaded = store.get(created.id)
    assert loaded is not None
    assert loaded.reference.startswith("HFS-") and loaded.status == "new"
    assert loaded.form_data["patient_name"] == "Ayşe Yılmaz"
    assert loaded.language == "tr" and loaded.consent_at is not None


def test_tickets_survive_a_new_store_instance(database_url: str) -> None:
    created = HandoffStore(database_url).create(booking())
    assert HandoffStore(database_url).get(created.id) is not None


def test_a_due_ticket_is_claimed_by_only_one_worker(database_url: str) -> None:
    first, second = HandoffStore(database_url), HandoffStore(database_url)
    first.create(booking())
    claimed_by_first = list(first.claim_due(lease=timedelta(minutes=1)))
    claimed_by_second = list(second.claim_due(lease=timedelta(minutes=1)))
    assert len(claimed_by_first) == 1 and claimed_by_second == []


def test_failed_delivery_is_retried_later_not_dropped(database_url: str) -> None:
    store = HandoffStore(database_url)
    ticket = store.create(booking())
    store.mark_failed(ticket.id, "HTTP 503", retry_in=timedelta(seconds=0))
    again = list(store.claim_due(lease=timedelta(minutes=1)))
    assert [t.id for t in again] == [ticket.id] and again[0].delivery_attempts == 1


def test_delivered_ticket_is_not_claimed_again(database_url: str) -> None:
    store = HandoffStore(database_url)
    ticket = store.create(booking())
    store.mark_delivered(ticket.id)
    assert list(store.claim_due(lease=timedelta(minutes=1))) == []
    assert store.get(ticket.id).status == "delivered"  # type: ignore[union-attr]


def test_status_moves_through_the_coordinator_states(database_url: str) -> None:
    store = HandoffStore(database_url)
    ticket = store.create(booking())
    for status in ("delivered", "taken", "closed"):
        store.set_status(ticket.id, status)
        assert store.get(ticket.id).status == status  # type: ignore[union-attr]
    assert [t.id for t in store.list(status="closed")] == [ticket.id]
