"""The handoff store: every booking and handoff request becomes a ticket, written first.

SQLAlchemy, SQLite file by default (`handoff.db`), PostgreSQL when `HANDOFF_DB_URL` is set.
Delivery to the clinic's coordinator webhook happens afterwards (actions/delivery.py); a
ticket stays `new` until a delivery succeeds, so nothing is lost when the webhook is down.
Several workers may deliver at once: a ticket is *claimed* with one atomic UPDATE.

Files a patient sends for a request (scans, reports) belong to its ticket: table
`ticket_attachments`, content in the database (LargeBinary), listed with the ticket's
webhook payload by metadata and a download URL of the coordinator console.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Iterator, List, Optional

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    case,
    create_engine,
    delete,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import declarative_base, defer, sessionmaker

DEFAULT_DB_URL = "sqlite:///handoff.db"
STATUSES = ("new", "delivered", "taken", "closed")
KINDS = ("booking", "handoff", "emergency", "fallback")
"""`fallback`: a handoff that began with the bot not understanding the patient."""
CONSOLE_URL_VARIABLE = "CONSOLE_PUBLIC_URL"
DEFAULT_CONSOLE_URL = "http://localhost:8000"
_REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud safely
OUTCOMES = ("booked", "answered", "no_response", "not_suitable", "duplicate", "other")
CONSOLE_COLUMNS = (
    ("assignee", "VARCHAR(64)"),
    ("closed_at", "TIMESTAMP"),
    ("outcome", "VARCHAR(32)"),
)

Base = declarative_base()


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


class TicketRow(Base):  # type: ignore[misc, valid-type]
    __tablename__ = "handoff_tickets"

    id = Column(String(36), primary_key=True)
    reference = Column(String(16), unique=True, nullable=False)
    kind = Column(String(16), nullable=False)
    channel = Column(String(32), nullable=False)
    sender_id = Column(String(255), nullable=False, index=True)
    language = Column(String(8), nullable=False)
    form_data = Column(JSON, nullable=False, default=dict)
    consent_at = Column(DateTime, nullable=True)
    transcript_summary = Column(Text, nullable=False, default="")
    status = Column(String(16), nullable=False, default="new", index=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    updated_at = Column(DateTime, nullable=False, default=utcnow)
    delivery_attempts = Column(Integer, nullable=False, default=0)
    next_attempt_at = Column(DateTime, nullable=False, default=utcnow, index=True)
    claimed_until = Column(DateTime, nullable=True)
    delivered_at = Column(DateTime, nullable=True)
    last_error = Column(String(255), nullable=True)
    # the coordinator console (bot/coordinator): who works on it, when and how it ended
    assignee = Column(String(64), nullable=True)
    closed_at = Column(DateTime, nullable=True)
    outcome = Column(String(32), nullable=True)


class AttachmentRow(Base):  # type: ignore[misc, valid-type]
    __tablename__ = "ticket_attachments"

    id = Column(String(36), primary_key=True)
    ticket_id = Column(String(36), ForeignKey("handoff_tickets.id"), nullable=False, index=True)
    filename = Column(String(255), nullable=False)
    media_type = Column(String(100), nullable=False)
    size = Column(Integer, nullable=False)
    sha256 = Column(String(64), nullable=False)
    content = Column(LargeBinary, nullable=False)
    created_at = Column(DateTime, nullable=False, default=utcnow)


class UnknownTicket(LookupError):
    """No ticket with this id (e.g. a file for a ticket that was deleted)."""


@dataclass(frozen=True)
class Attachment:
    """A file of a ticket; `content` is empty when only the metadata was read."""

    id: str
    ticket_id: str
    filename: str
    media_type: str
    size: int
    sha256: str
    created_at: datetime
    content: bytes = b""

    def as_payload(self, console_url: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "filename": self.filename,
            "media_type": self.media_type,
            "size": self.size,
            "sha256": self.sha256,
            "created_at": _iso(self.created_at),
            "url": attachment_url(console_url, self.id),
        }


def console_url(environ: Optional[dict[str, str]] = None) -> str:
    """Where coordinators open the console (download links in the webhook payload)."""
    value = (environ if environ is not None else os.environ).get(CONSOLE_URL_VARIABLE, "")
    return (value.strip() or DEFAULT_CONSOLE_URL).rstrip("/")


def attachment_url(base_url: str, attachment_id: str) -> str:
    return f"{base_url.rstrip('/')}/api/attachments/{attachment_id}"


def _attachment(row: AttachmentRow, with_content: bool) -> Attachment:
    return Attachment(
        id=row.id,
        ticket_id=row.ticket_id,
        filename=row.filename,
        media_type=row.media_type,
        size=row.size,
        sha256=row.sha256,
        created_at=row.created_at,
        content=bytes(row.content) if with_content else b"",
    )


@dataclass(frozen=True)
class NewTicket:
    kind: str
    channel: str
    sender_id: str
    language: str
    form_data: dict[str, Any] = field(default_factory=dict)
    consent_at: Optional[datetime] = None
    transcript_summary: str = ""


@dataclass(frozen=True)
class Ticket:
    id: str
    reference: str
    kind: str
    channel: str
    sender_id: str
    language: str
    form_data: dict[str, Any]
    consent_at: Optional[datetime]
    transcript_summary: str
    status: str
    created_at: datetime
    delivery_attempts: int
    delivered_at: Optional[datetime]
    attachments: tuple[Attachment, ...] = ()  # metadata only
    assignee: Optional[str] = None
    closed_at: Optional[datetime] = None
    outcome: Optional[str] = None

    def as_payload(self, console_url: str = DEFAULT_CONSOLE_URL) -> dict[str, Any]:
        """The JSON body sent to the coordinator webhook."""
        return {
            "ticket_id": self.id,
            "reference": self.reference,
            "kind": self.kind,
            "channel": self.channel,
            "sender_id": self.sender_id,
            "language": self.language,
            "form_data": self.form_data,
            "consent_at": _iso(self.consent_at),
            "transcript_summary": self.transcript_summary,
            "created_at": _iso(self.created_at),
            "attachments": [a.as_payload(console_url) for a in self.attachments],
        }


def _iso(value: Optional[datetime]) -> Optional[str]:
    return value.replace(tzinfo=timezone.utc).isoformat() if value else None


def _ticket(row: TicketRow, attachments: tuple[Attachment, ...] = ()) -> Ticket:
    return Ticket(
        id=row.id,
        reference=row.reference,
        kind=row.kind,
        channel=row.channel,
        sender_id=row.sender_id,
        language=row.language,
        form_data=dict(row.form_data or {}),
        consent_at=row.consent_at,
        transcript_summary=row.transcript_summary or "",
        status=row.status,
        created_at=row.created_at,
        delivery_attempts=row.delivery_attempts,
        delivered_at=row.delivered_at,
        attachments=attachments,
        assignee=row.assignee,
        closed_at=row.closed_at,
        outcome=row.outcome,
    )


def new_reference() -> str:
    return "HFS-" + "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(6))


def _add_console_columns(engine: Engine) -> None:
    """Stores created before the console existed get its three columns (no migration tool)."""
    existing = {column["name"] for column in inspect(engine).get_columns("handoff_tickets")}
    missing = [
        (name, kind)
        for name, kind in CONSOLE_COLUMNS
        if name not in existing  # e.g. a store written by an older version
    ]
    with engine.begin() as connection:
        for name, kind in missing:
            connection.execute(text(f"ALTER TABLE handoff_tickets ADD COLUMN {name} {kind}"))


class HandoffStore:
    def __init__(self, url: str) -> None:
        self.engine: Engine = create_engine(url, future=True, pool_pre_ping=True)
        Base.metadata.create_all(self.engine)
        _add_console_columns(self.engine)
        self._sessions = sessionmaker(self.engine, future=True, expire_on_commit=False)

    @classmethod
    def from_environment(cls) -> HandoffStore:
        return cls(os.environ.get("HANDOFF_DB_URL") or DEFAULT_DB_URL)

    def create(self, new: NewTicket) -> Ticket:
        if new.kind not in KINDS:
            raise ValueError(f"unknown ticket kind {new.kind!r}")
        now = utcnow()
        row = TicketRow(
            id=str(uuid.uuid4()),
            reference=new_reference(),
            kind=new.kind,
            channel=new.channel,
            sender_id=new.sender_id,
            language=new.language,
            form_data=new.form_data,
            consent_at=new.consent_at,
            transcript_summary=new.transcript_summary,
            status="new",
            created_at=now,
            updated_at=now,
            next_attempt_at=now,
        )
        with self._sessions.begin() as session:
            session.add(row)
        return _ticket(row)

    def get(self, ticket_id: str) -> Optional[Ticket]:
        """The ticket with its attachments' metadata, or None."""
        with self._sessions() as session:
            row = session.get(TicketRow, ticket_id)
            if row is None:
                return None
        return _ticket(row, tuple(self.attachments(ticket_id)))

    def list(self, status: Optional[str] = None, limit: int = 200) -> list[Ticket]:
        query = select(TicketRow).order_by(TicketRow.created_at.desc()).limit(limit)
        if status:
            query = query.where(TicketRow.status == status)
        with self._sessions() as session:
            return [_ticket(row) for row in session.scalars(query)]

    def set_status(self, ticket_id: str, status: str) -> None:
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}")
        with self._sessions.begin() as session:
            session.execute(
                update(TicketRow)
                .where(TicketRow.id == ticket_id)
                .values(status=status, updated_at=utcnow())
            )

    def claim_due(self, lease: timedelta, limit: int = 20) -> Iterator[Ticket]:
        """Yields undelivered tickets that are due, each claimed for `lease` by this worker."""
        now = utcnow()
        query = (
            select(TicketRow.id)
            .where(TicketRow.status == "new", TicketRow.next_attempt_at <= now)
            .order_by(TicketRow.next_attempt_at)
            .limit(limit)
        )
        with self._sessions() as session:
            candidates = list(session.scalars(query))
        for ticket_id in candidates:
            with self._sessions.begin() as session:
                claimed = session.execute(
                    update(TicketRow)
                    .where(
                        TicketRow.id == ticket_id,
                        TicketRow.status == "new",
                        (TicketRow.claimed_until.is_(None)) | (TicketRow.claimed_until < now),
                    )
                    .values(claimed_until=now + lease)
                ).rowcount
            if claimed == 1:
                ticket = self.get(ticket_id)
                if ticket is not None:
                    yield ticket

    def mark_delivered(self, ticket_id: str) -> None:
        now = utcnow()
        with self._sessions.begin() as session:
            session.execute(
                update(TicketRow)
                .where(TicketRow.id == ticket_id, TicketRow.status == "new")
                .values(
                    status="delivered",
                    delivered_at=now,
                    updated_at=now,
                    claimed_until=None,
                    last_error=None,
                    delivery_attempts=TicketRow.delivery_attempts + 1,
                )
            )

    def mark_failed(self, ticket_id: str, error: str, retry_in: timedelta) -> None:
        now = utcnow()
        with self._sessions.begin() as session:
            session.execute(
                update(TicketRow)
                .where(TicketRow.id == ticket_id)
                .values(
                    next_attempt_at=now + retry_in,
                    claimed_until=None,
                    last_error=error[:255],
                    updated_at=now,
                    delivery_attempts=TicketRow.delivery_attempts + 1,
                )
            )

    # --- attachments ----------------------------------------------------------------

    def add_attachment(
        self, ticket_id: str, filename: str, media_type: str, content: bytes
    ) -> Attachment:
        """Stores a file with its ticket; raises UnknownTicket when there is no such ticket."""
        now = utcnow()
        row = AttachmentRow(
            id=str(uuid.uuid4()),
            ticket_id=ticket_id,
            filename=filename[:255] or "attachment",
            media_type=media_type[:100],
            size=len(content),
            sha256=hashlib.sha256(content).hexdigest(),
            content=content,
            created_at=now,
        )
        with self._sessions.begin() as session:
            if session.get(TicketRow, ticket_id) is None:
                raise UnknownTicket(ticket_id)
            session.add(row)
            session.execute(
                update(TicketRow).where(TicketRow.id == ticket_id).values(updated_at=now)
            )
        return _attachment(row, with_content=False)

    def attachments(self, ticket_id: str) -> List[Attachment]:
        """The ticket's files, oldest first, without their content."""
        query = (
            select(AttachmentRow)
            .options(defer(AttachmentRow.content))
            .where(AttachmentRow.ticket_id == ticket_id)
            .order_by(AttachmentRow.created_at, AttachmentRow.id)
        )
        with self._sessions() as session:
            return [_attachment(row, with_content=False) for row in session.scalars(query)]

    def attachment(self, attachment_id: str) -> Optional[Attachment]:
        """One file with its content, or None."""
        with self._sessions() as session:
            row = session.get(AttachmentRow, attachment_id)
            return _attachment(row, with_content=True) if row else None

    # ---- the coordinator console ------------------------------------------------------
    def queue(self, limit: int = 500) -> List[Ticket]:
        """Open tickets: emergencies first, then the oldest waiting."""
        is_emergency = case((TicketRow.kind == "emergency", 0), else_=1)
        query = (
            select(TicketRow)
            .where(TicketRow.status != "closed")
            .order_by(is_emergency, TicketRow.created_at)
            .limit(limit)
        )
        with self._sessions() as session:
            return [_ticket(row) for row in session.scalars(query)]

    def for_sender(self, sender_id: str) -> List[Ticket]:
        query = (
            select(TicketRow).where(TicketRow.sender_id == sender_id).order_by(TicketRow.created_at)
        )
        with self._sessions() as session:
            return [_ticket(row) for row in session.scalars(query)]

    def created_since(self, since: datetime) -> List[Ticket]:
        query = select(TicketRow).where(TicketRow.created_at > since).order_by(TicketRow.created_at)
        with self._sessions() as session:
            return [_ticket(row) for row in session.scalars(query)]

    def assign(self, ticket_id: str, username: Optional[str]) -> None:
        """Who works on the ticket (None: nobody); delivery status is left alone."""
        with self._sessions.begin() as session:
            session.execute(
                update(TicketRow)
                .where(TicketRow.id == ticket_id)
                .values(assignee=username, updated_at=utcnow())
            )

    def close(self, ticket_id: str, outcome: str) -> bool:
        """Closes the ticket with an outcome; False when there is no such open ticket."""
        if outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {outcome!r}")
        now = utcnow()
        with self._sessions.begin() as session:
            changed = session.execute(
                update(TicketRow)
                .where(TicketRow.id == ticket_id, TicketRow.status != "closed")
                .values(status="closed", closed_at=now, outcome=outcome, updated_at=now)
            ).rowcount
        return changed == 1

    def delete_for_sender(self, sender_id: str) -> int:
        """Deletes every ticket of one patient and their attachments; returns how many
        tickets were deleted."""
        with self._sessions.begin() as session:
            ids = list(
                session.scalars(select(TicketRow.id).where(TicketRow.sender_id == sender_id))
            )
            if ids:
                session.execute(delete(AttachmentRow).where(AttachmentRow.ticket_id.in_(ids)))
            session.execute(delete(TicketRow).where(TicketRow.sender_id == sender_id))
        return len(ids)
