"""Handoff store against a real SQLite file and a real PostgreSQL (same tests)."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest

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


def test_files_belong_to_their_ticket(database_url: str) -> None:
    from actions.handoff_store import UnknownTicket

    store = HandoffStore(database_url)
    ticket = store.create(booking())
    other = store.create(booking("patient-2"))
    content = b"%PDF-1.4 MRI report"
    added = store.add_attachment(ticket.id, "mri.pdf", "application/pdf", content)
    [listed] = store.attachments(ticket.id)
    assert listed == added and listed.content == b""  # metadata only
    assert (listed.filename, listed.media_type, listed.size) == ("mri.pdf", "application/pdf", 19)
    assert listed.sha256 == hashlib.sha256(content).hexdigest()
    assert store.attachment(added.id).content == content  # type: ignore[union-attr]
    assert store.attachments(other.id) == [] and store.attachment("no-such-id") is None
    with pytest.raises(UnknownTicket):
        store.add_attachment("no-such-ticket", "x.pdf", "application/pdf", b"x")


def test_the_webhook_payload_lists_attachments_with_a_console_download_url(
    database_url: str,
) -> None:
    store = HandoffStore(database_url)
    ticket = store.create(booking())
    added = store.add_attachment(ticket.id, "scan.png", "image/png", b"\x89PNG")
    payload = store.get(ticket.id).as_payload("https://console.clinic.example")  # type: ignore[union-attr]
    assert payload["attachments"] == [
        {
            "id": added.id,
            "filename": "scan.png",
            "media_type": "image/png",
            "size": 4,
            "sha256": hashlib.sha256(b"\x89PNG").hexdigest(),
            "created_at": payload["attachments"][0]["created_at"],
            "url": f"https://console.clinic.example/api/attachments/{added.id}",
        }
    ]


def test_the_console_url_defaults_to_localhost() -> None:
    from actions.handoff_store import console_url

    assert console_url({}) == "http://localhost:8000"
    assert console_url({"CONSOLE_PUBLIC_URL": "https://c.example/"}) == "https://c.example"


def test_fallback_is_a_ticket_kind(database_url: str) -> None:
    ticket = HandoffStore(database_url).create(
        NewTicket(kind="fallback", channel="socketio", sender_id="s-1", language="de")
    )
    assert ticket.kind == "fallback"
