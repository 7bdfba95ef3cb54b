"""Export and deletion across every store, on real SQLite files shaped as each owner writes
them: Rasa's tracker store and SQL event broker (`events`), the handoff store with
`ticket_attachments`, the WhatsApp channel's store (`whatsapp_*`) and the console's DB."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

from sqlalchemy import create_engine, text

from actions.handoff_store import HandoffStore, NewTicket
from bot.coordinator import privacy
from bot.coordinator.store import ConsoleStore

PATIENT, OTHER = "905321234567", "491701234567"
EVENTS = "CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id VARCHAR(255), type_name VARCHAR(255), timestamp FLOAT, intent_name VARCHAR(255), action_name VARCHAR(255), data TEXT)"


def events_db(path: Path) -> str:
    url = f"sqlite:///{path}"
    with create_engine(url).begin() as connection:
        connection.execute(text(EVENTS))
        for sender in (PATIENT, OTHER):
            data = json.dumps({"event": "user", "text": f"hello from {sender}", "timestamp": 1.0})
            connection.execute(
                text(
                    "INSERT INTO events (sender_id, type_name, timestamp, data) VALUES (:s, 'user', 1.0, :d)"
                ),
                {"s": sender, "d": data},
            )
    return url


def whatsapp_db(path: Path, ticket_ids: dict[str, str]) -> str:
    url = f"sqlite:///{path}"
    with create_engine(url).begin() as connection:
        connection.execute(
            text(
                "CREATE TABLE whatsapp_pending_menus (contact_key VARCHAR(64) PRIMARY KEY, payloads TEXT, created_at DATETIME)"
            )
        )
        connection.execute(
            text(
                "CREATE TABLE whatsapp_attachments (id INTEGER PRIMARY KEY, ticket_id VARCHAR(64), media_id VARCHAR(255), mime_type VARCHAR(100), filename VARCHAR(255), size_bytes INTEGER, sha256 VARCHAR(64), content BLOB, received_at DATETIME)"
            )
        )
        for sender, ticket_id in ticket_ids.items():
            key = hashlib.sha256(sender.encode()).hexdigest()
            connection.execute(
                text("INSERT INTO whatsapp_pending_menus VALUES (:k, '[]', '2026-12-01 00:00:00')"),
                {"k": key},
            )
            connection.execute(
                text(
                    "INSERT INTO whatsapp_attachments (ticket_id, media_id, mime_type, filename, size_bytes, sha256, content, received_at) VALUES (:t, 'm1', 'application/pdf', 'mri.pdf', 4, 'x', :c, '2026-12-01 00:00:00')"
                ),
                {"t": ticket_id, "c": b"%PDF"},
            )
    return url


def places(tmp_path: Path) -> tuple[privacy.Places, dict[str, str]]:
    tickets = HandoffStore(f"sqlite:///{tmp_path / 'handoff.db'}")
    ids = {
        sender: tickets.create(
            NewTicket(
                kind="booking",
                channel="whatsapp",
                sender_id=sender,
                language="tr",
                form_data={"country": "TR"},
            )
        ).id
        for sender in (PATIENT, OTHER)
    }
    for ticket_id in ids.values():
        tickets.add_attachment(ticket_id, "mri report.pdf", "application/pdf", b"%PDF")
    console = ConsoleStore(f"sqlite:///{tmp_path / 'console.db'}")
    for sender in (PATIENT, OTHER):
        console.enqueue("c-" + sender, sender, "ayse", "text", {"text": "Merhaba"})
        console.set_hold(sender, "ayse")
        console.audit("ayse", "takeover", sender)
    return (
        privacy.Places.from_urls(
            events_db(tmp_path / "tracker.db"),
            tickets,
            console,
            events_db(tmp_path / "broker.db"),
            whatsapp_db(tmp_path / "wa.db", ids),
        ),
        ids,
    )


def count(engine_url: str, query: str, value: str) -> int:
    with create_engine(engine_url).connect() as connection:
        return int(connection.execute(text(query), {"v": value}).scalar() or 0)


def test_export_holds_everything_about_the_patient_and_nothing_else(tmp_path: Path) -> None:
    found, ids = places(tmp_path)
    archive = zipfile.ZipFile(io.BytesIO(privacy.export_zip(found, PATIENT)))
    names = set(archive.namelist())
    assert {
        "README.txt",
        "tracker_events.json",
        "broker_events.json",
        "tickets.json",
        "attachments.json",
        "whatsapp.json",
        "console.json",
    } <= names
    assert json.loads(archive.read("tracker_events.json")) == [
        {"event": "user", "text": f"hello from {PATIENT}", "timestamp": 1.0}
    ]
    assert [t["ticket_id"] for t in json.loads(archive.read("tickets.json"))] == [ids[PATIENT]]
    [attachment] = json.loads(archive.read("attachments.json"))
    assert archive.read(attachment["file"]) == b"%PDF"
    assert len(json.loads(archive.read("whatsapp.json"))) == 1
    console = json.loads(archive.read("console.json"))
    assert [m["conversation_id"] for m in console["messages"]] == [PATIENT]
    assert {e["action"] for e in console["audit"]} == {"takeover"}
    assert OTHER not in b"".join(archive.read(n) for n in names).decode("utf-8", "replace")


def test_delete_leaves_nothing_behind_and_keeps_other_patients(tmp_path: Path) -> None:
    found, ids = places(tmp_path)
    counts = privacy.delete_everywhere(found, PATIENT)
    assert counts == {
        "whatsapp": 2,
        "tickets": 1,
        "tracker_events": 1,
        "broker_events": 1,
        "console_messages": 1,
    }
    for url, query in (
        (
            f"sqlite:///{tmp_path / 'tracker.db'}",
            "SELECT COUNT(*) FROM events WHERE sender_id = :v",
        ),
        (f"sqlite:///{tmp_path / 'broker.db'}", "SELECT COUNT(*) FROM events WHERE sender_id = :v"),
        (
            f"sqlite:///{tmp_path / 'handoff.db'}",
            "SELECT COUNT(*) FROM handoff_tickets WHERE sender_id = :v",
        ),
        (
            f"sqlite:///{tmp_path / 'console.db'}",
            "SELECT COUNT(*) FROM console_outbox WHERE conversation_id = :v",
        ),
        (
            f"sqlite:///{tmp_path / 'console.db'}",
            "SELECT COUNT(*) FROM console_holds WHERE conversation_id = :v",
        ),
        (
            f"sqlite:///{tmp_path / 'console.db'}",
            "SELECT COUNT(*) FROM console_audit WHERE conversation_id = :v",
        ),
    ):
        assert count(url, query, PATIENT) == 0, query
        assert count(url, query, OTHER) == 1, query
    assert (
        count(
            f"sqlite:///{tmp_path / 'handoff.db'}",
            "SELECT COUNT(*) FROM ticket_attachments WHERE ticket_id = :v",
            ids[PATIENT],
        )
        == 0
    )
    assert (
        count(
            f"sqlite:///{tmp_path / 'wa.db'}",
            "SELECT COUNT(*) FROM whatsapp_attachments WHERE ticket_id = :v",
            ids[PATIENT],
        )
        == 0
    )
    assert (
        count(
            f"sqlite:///{tmp_path / 'wa.db'}",
            "SELECT COUNT(*) FROM whatsapp_pending_menus WHERE contact_key = :v",
            hashlib.sha256(PATIENT.encode()).hexdigest(),
        )
        == 0
    )
    assert (
        count(f"sqlite:///{tmp_path / 'wa.db'}", "SELECT COUNT(*) FROM whatsapp_attachments", "")
        == 1
    )


def test_export_and_delete_of_an_unknown_patient_are_harmless(tmp_path: Path) -> None:
    found, _ = places(tmp_path)
    assert (
        json.loads(
            zipfile.ZipFile(io.BytesIO(privacy.export_zip(found, "nobody"))).read("tickets.json")
        )
        == []
    )
    assert set(privacy.delete_everywhere(found, "nobody").values()) == {0}
