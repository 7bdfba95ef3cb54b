"""Data protection (GDPR / KVKK): everything stored about one patient, exported as a ZIP of
JSON files, and deleted everywhere on request.

One patient = one conversation id (Rasa sender id: widget session id or WhatsApp number).
Places: Rasa's tracker store (`events` rows of TRACKER_DB_URL), the SQL event broker when one
is configured (EVENT_BROKER_DB_URL), the handoff store's tickets and `ticket_attachments`,
the WhatsApp channel's store (`whatsapp_*` tables in WHATSAPP_DATABASE_URL: pending menus by
the hashed number, attachments by ticket) and the console's own outbox, holds and audit
entries. The audit log keeps that an export/deletion happened, with a digest of the id only.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Optional

from sqlalchemy import MetaData, Table, delete, inspect, select, text
from sqlalchemy.engine import Engine

from actions.handoff_store import HandoffStore
from bot.coordinator.store import ConsoleStore, engine_for


def conversation_digest(conversation_id: str) -> str:
    return hashlib.sha256(conversation_id.encode("utf-8")).hexdigest()[:16]


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.replace(tzinfo=value.tzinfo or timezone.utc).isoformat()
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    return str(value)


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, default=_json_default)


def _whatsapp_keys(conversation_id: str) -> list[str]:
    number = conversation_id.removeprefix("whatsapp:").lstrip("+")
    forms = (conversation_id, number, "+" + number, "whatsapp:+" + number)  # Cloud API, Twilio
    return sorted({hashlib.sha256(key.encode()).hexdigest() for key in forms})


@dataclass
class Places:
    tracker: Engine
    tickets: HandoffStore
    console: ConsoleStore
    broker: Optional[Engine] = None
    whatsapp: Optional[Engine] = None

    @classmethod
    def from_urls(
        cls,
        tracker_url: str,
        tickets: HandoffStore,
        console: ConsoleStore,
        broker_url: Optional[str],
        whatsapp_url: Optional[str],
    ) -> Places:
        return cls(
            engine_for(tracker_url),
            tickets,
            console,
            engine_for(broker_url) if broker_url else None,
            engine_for(whatsapp_url) if whatsapp_url else None,
        )


def _events(engine: Engine, conversation_id: str) -> list[dict[str, Any]]:
    if not inspect(engine).has_table("events"):
        return []
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT data FROM events WHERE sender_id = :s ORDER BY id"), {"s": conversation_id}
        ).all()
    return [json.loads(row[0]) if isinstance(row[0], str) else {} for row in rows]


def _table(engine: Engine, name: str) -> Optional[Table]:
    if not inspect(engine).has_table(name):
        return None
    return Table(name, MetaData(), autoload_with=engine)


def _attachment_rows(engine: Engine, ticket_ids: list[str], name: str) -> list[dict[str, Any]]:
    table = _table(engine, name)
    if table is None or not ticket_ids:
        return []
    with engine.connect() as connection:
        return [
            dict(row)
            for row in connection.execute(
                select(table).where(table.c.ticket_id.in_(ticket_ids))
            ).mappings()
        ]


def export_zip(places: Places, conversation_id: str) -> bytes:
    tickets = places.tickets.for_sender(conversation_id)
    ticket_ids = [t.id for t in tickets]
    attachments = _attachment_rows(places.tickets.engine, ticket_ids, "ticket_attachments")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "README.txt",
            "Everything the clinic's assistant stores about one conversation.\n"
            "tracker_events.json: the conversation as Rasa recorded it; tickets.json: requests "
            "to the clinic; attachments/: files sent; console.json: coordinators' messages and "
            "the audit entries about this conversation.\n",
        )
        archive.writestr("tracker_events.json", _dump(_events(places.tracker, conversation_id)))
        if places.broker is not None:
            archive.writestr("broker_events.json", _dump(_events(places.broker, conversation_id)))
        archive.writestr(
            "tickets.json",
            _dump([{**t.as_payload(), "status": t.status, "outcome": t.outcome} for t in tickets]),
        )
        listing = []
        for row in attachments:
            name = f"attachments/{row['id']}-{str(row.get('filename') or 'file').replace('/', '_')}"
            archive.writestr(name, bytes(row.get("content") or b""))
            listing.append({k: v for k, v in row.items() if k != "content"} | {"file": name})
        archive.writestr("attachments.json", _dump(listing))
        if places.whatsapp is not None:
            whatsapp_files = _attachment_rows(places.whatsapp, ticket_ids, "whatsapp_attachments")
            for row in whatsapp_files:
                archive.writestr(f"whatsapp/{row['id']}", bytes(row.get("content") or b""))
            archive.writestr(
                "whatsapp.json",
                _dump([{k: v for k, v in r.items() if k != "content"} for r in whatsapp_files]),
            )
        archive.writestr(
            "console.json",
            _dump(
                {
                    "messages": [m.public() for m in places.console.outbox_for(conversation_id)],
                    "audit": places.console.audit_entries(10_000, conversation_id),
                }
            ),
        )
    return buffer.getvalue()


def _delete_events(engine: Optional[Engine], conversation_id: str) -> int:
    if engine is None or not inspect(engine).has_table("events"):
        return 0
    with engine.begin() as connection:
        result = connection.execute(
            text("DELETE FROM events WHERE sender_id = :s"), {"s": conversation_id}
        )
    return int(result.rowcount or 0)


def delete_everywhere(places: Places, conversation_id: str) -> dict[str, int]:
    """Deletes the patient's data in every store; returns how many rows went from each."""
    ticket_ids = [t.id for t in places.tickets.for_sender(conversation_id)]
    counts = {"whatsapp": 0}
    if places.whatsapp is not None:
        with places.whatsapp.begin() as connection:
            files = _table(places.whatsapp, "whatsapp_attachments")
            if files is not None and ticket_ids:
                counts["whatsapp"] += int(
                    connection.execute(
                        delete(files).where(files.c.ticket_id.in_(ticket_ids))
                    ).rowcount
                    or 0
                )
            menus = _table(places.whatsapp, "whatsapp_pending_menus")
            if menus is not None:
                counts["whatsapp"] += int(
                    connection.execute(
                        delete(menus).where(
                            menus.c.contact_key.in_(_whatsapp_keys(conversation_id))
                        )
                    ).rowcount
                    or 0
                )
    counts["tickets"] = places.tickets.delete_for_sender(conversation_id)
    counts["tracker_events"] = _delete_events(places.tracker, conversation_id)
    counts["broker_events"] = _delete_events(places.broker, conversation_id)
    counts["console_messages"] = places.console.delete_conversation(conversation_id)
    return counts
