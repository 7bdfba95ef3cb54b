"""The console's own database (`CONSOLE_DB_URL`, SQLite `console.db` by default).

Users, sign-in sessions, the audit log, holds (which coordinator holds which conversation,
since when) and the outbox of coordinator messages: a message is written here first, then
delivered through Rasa's patient channels endpoint with its `message_id` as idempotency key,
and retried until it is sent (or fails for good, e.g. the WhatsApp window is closed).
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, List, Optional

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Integer,
    String,
    create_engine,
    delete,
    func,
    select,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import declarative_base, sessionmaker

Base = declarative_base()
ROLES = ("coordinator", "admin")
OUTBOX_STATUSES = ("queued", "sent", "failed")


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def token_digest(token: str) -> str:
    """Sessions are stored by the SHA-256 of their cookie value, never the value itself."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class UserRow(Base):  # type: ignore[misc, valid-type]
    __tablename__ = "console_users"
    username = Column(String(64), primary_key=True)
    display_name = Column(String(64), nullable=False)
    password_hash = Column(String(255), nullable=False)
    role = Column(String(16), nullable=False, default="coordinator")
    language = Column(String(8), nullable=False, default="en")
    active = Column(Boolean, nullable=False, default=True)
    must_change_password = Column(Boolean, nullable=False, default=False)
    created_at = Column(DateTime, nullable=False, default=utcnow)


class SessionRow(Base):  # type: ignore[misc, valid-type]
    __tablename__ = "console_sessions"
    token_hash = Column(String(64), primary_key=True)
    username = Column(String(64), nullable=False, index=True)
    csrf_token = Column(String(64), nullable=False)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    expires_at = Column(DateTime, nullable=False)


class AuditRow(Base):  # type: ignore[misc, valid-type]
    __tablename__ = "console_audit"
    id = Column(Integer, primary_key=True, autoincrement=True)
    at = Column(DateTime, nullable=False, default=utcnow, index=True)
    username = Column(String(64), nullable=True)
    action = Column(String(32), nullable=False)
    conversation_id = Column(String(255), nullable=True, index=True)
    ticket_id = Column(String(36), nullable=True)
    detail = Column(JSON, nullable=False, default=dict)


class HoldRow(Base):  # type: ignore[misc, valid-type]
    __tablename__ = "console_holds"
    conversation_id = Column(String(255), primary_key=True)
    username = Column(String(64), nullable=False)
    since = Column(DateTime, nullable=False, default=utcnow)
    notice_for = Column(String(64), nullable=True)  # patient event timestamp already noticed


class OutboxRow(Base):  # type: ignore[misc, valid-type]
    __tablename__ = "console_outbox"
    message_id = Column(String(64), primary_key=True)
    conversation_id = Column(String(255), nullable=False, index=True)
    username = Column(String(64), nullable=True)  # None: the bot speaks (notices)
    kind = Column(String(16), nullable=False)  # text | reply | response | template
    payload = Column(JSON, nullable=False)  # the body for /webhooks/patients/send
    status = Column(String(16), nullable=False, default="queued", index=True)
    attempts = Column(Integer, nullable=False, default=0)
    last_error = Column(String(64), nullable=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    next_attempt_at = Column(DateTime, nullable=False, default=utcnow)
    sent_at = Column(DateTime, nullable=True)
    channel = Column(String(32), nullable=True)
    delivered_text = Column(String(4096), nullable=True)


@dataclass(frozen=True)
class User:
    username: str
    display_name: str
    password_hash: str
    role: str
    language: str
    active: bool
    must_change_password: bool

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def public(self) -> dict[str, Any]:
        return {
            "username": self.username,
            "display_name": self.display_name,
            "role": self.role,
            "language": self.language,
            "active": self.active,
            "must_change_password": self.must_change_password,
        }


@dataclass(frozen=True)
class Session:
    username: str
    csrf_token: str
    expires_at: datetime


@dataclass(frozen=True)
class Hold:
    conversation_id: str
    username: str
    since: datetime
    notice_for: Optional[str]


@dataclass(frozen=True)
class OutboxMessage:
    message_id: str
    conversation_id: str
    username: Optional[str]
    kind: str
    payload: dict[str, Any]
    status: str
    attempts: int
    last_error: Optional[str]
    created_at: datetime
    sent_at: Optional[datetime]
    channel: Optional[str]
    delivered_text: Optional[str]

    def public(self) -> dict[str, Any]:
        return {
            "message_id": self.message_id,
            "conversation_id": self.conversation_id,
            "from": self.username,
            "kind": self.kind,
            "text": self.delivered_text or self.payload.get("text"),
            "status": self.status,
            "attempts": self.attempts,
            "error": self.last_error,
            "created_at": iso(self.created_at),
            "sent_at": iso(self.sent_at),
        }


def iso(value: Optional[datetime]) -> Optional[str]:
    return value.replace(tzinfo=timezone.utc).isoformat() if value else None


def _user(row: UserRow) -> User:
    return User(
        row.username,
        row.display_name,
        row.password_hash,
        row.role,
        row.language,
        bool(row.active),
        bool(row.must_change_password),
    )


def _outbox(row: OutboxRow) -> OutboxMessage:
    return OutboxMessage(
        row.message_id,
        row.conversation_id,
        row.username,
        row.kind,
        dict(row.payload or {}),
        row.status,
        row.attempts,
        row.last_error,
        row.created_at,
        row.sent_at,
        row.channel,
        row.delivered_text,
    )


def engine_for(url: str) -> Engine:
    """SQL errors never carry the statement's parameters (patient data) into logs."""
    return create_engine(url, future=True, pool_pre_ping=True, hide_parameters=True)


def new_message_id() -> str:
    return "c-" + uuid.uuid4().hex


class ConsoleStore:
    def __init__(self, url: str) -> None:
        self.engine: Engine = create_engine(
            url, future=True, pool_pre_ping=True, hide_parameters=True
        )
        Base.metadata.create_all(self.engine)
        self._sessions = sessionmaker(self.engine, future=True, expire_on_commit=False)

    # ---- users ------------------------------------------------------------------------
    def add_user(
        self,
        username: str,
        display_name: str,
        password_hash: str,
        role: str,
        language: str = "en",
        must_change_password: bool = False,
    ) -> User:
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}")
        row = UserRow(
            username=username,
            display_name=display_name,
            password_hash=password_hash,
            role=role,
            language=language,
            active=True,
            must_change_password=must_change_password,
        )
        with self._sessions.begin() as session:
            if session.get(UserRow, username) is not None:
                raise KeyError(username)
            session.add(row)
        return _user(row)

    def user(self, username: str) -> Optional[User]:
        with self._sessions() as session:
            row = session.get(UserRow, username)
            return _user(row) if row else None

    def users(self) -> List[User]:
        with self._sessions() as session:
            return [_user(r) for r in session.scalars(select(UserRow).order_by(UserRow.username))]

    def count_users(self) -> int:
        with self._sessions() as session:
            return int(session.scalar(select(func.count()).select_from(UserRow)) or 0)

    def update_user(self, username: str, **values: Any) -> bool:
        allowed = {
            "display_name",
            "password_hash",
            "role",
            "language",
            "active",
            "must_change_password",
        }
        if not values or set(values) - allowed:
            raise ValueError("unknown user field")
        with self._sessions.begin() as session:
            changed = session.execute(
                update(UserRow).where(UserRow.username == username).values(**values)
            ).rowcount
            if values.get("active") is False or "password_hash" in values:
                session.execute(delete(SessionRow).where(SessionRow.username == username))
        return changed == 1

    # ---- sessions ---------------------------------------------------------------------
    def create_session(self, token: str, username: str, csrf: str, lifetime: timedelta) -> None:
        now = utcnow()
        with self._sessions.begin() as session:
            session.execute(delete(SessionRow).where(SessionRow.expires_at < now))
            session.add(
                SessionRow(
                    token_hash=token_digest(token),
                    username=username,
                    csrf_token=csrf,
                    created_at=now,
                    expires_at=now + lifetime,
                )
            )

    def session(self, token: str) -> Optional[Session]:
        with self._sessions() as session:
            row = session.get(SessionRow, token_digest(token))
            if row is None or row.expires_at < utcnow():
                return None
            return Session(row.username, row.csrf_token, row.expires_at)

    def delete_session(self, token: str) -> None:
        with self._sessions.begin() as session:
            session.execute(delete(SessionRow).where(SessionRow.token_hash == token_digest(token)))

    # ---- audit ------------------------------------------------------------------------
    def audit(
        self,
        username: Optional[str],
        action: str,
        conversation_id: Optional[str] = None,
        ticket_id: Optional[str] = None,
        **detail: Any,
    ) -> None:
        with self._sessions.begin() as session:
            session.add(
                AuditRow(
                    at=utcnow(),
                    username=username,
                    action=action,
                    conversation_id=conversation_id,
                    ticket_id=ticket_id,
                    detail=detail,
                )
            )

    def audit_entries(
        self, limit: int = 200, conversation_id: Optional[str] = None
    ) -> List[dict[str, Any]]:
        query = select(AuditRow).order_by(AuditRow.id.desc()).limit(limit)
        if conversation_id is not None:
            query = query.where(AuditRow.conversation_id == conversation_id)
        with self._sessions() as session:
            return [
                {
                    "id": row.id,
                    "at": iso(row.at),
                    "username": row.username,
                    "action": row.action,
                    "conversation_id": row.conversation_id,
                    "ticket_id": row.ticket_id,
                    "detail": row.detail or {},
                }
                for row in session.scalars(query)
            ]

    # ---- holds ------------------------------------------------------------------------
    def hold(self, conversation_id: str) -> Optional[Hold]:
        with self._sessions() as session:
            row = session.get(HoldRow, conversation_id)
            return (
                Hold(row.conversation_id, row.username, row.since, row.notice_for) if row else None
            )

    def holds(self) -> List[Hold]:
        with self._sessions() as session:
            return [
                Hold(r.conversation_id, r.username, r.since, r.notice_for)
                for r in session.scalars(select(HoldRow))
            ]

    def set_hold(self, conversation_id: str, username: str) -> Hold:
        """Takes the conversation (a colleague's hold passes to `username`)."""
        now = utcnow()
        with self._sessions.begin() as session:
            row = session.get(HoldRow, conversation_id)
            if row is None:
                session.add(HoldRow(conversation_id=conversation_id, username=username, since=now))
            elif row.username != username:
                row.username, row.since = username, now
        hold = self.hold(conversation_id)
        assert hold is not None
        return hold

    def release_hold(self, conversation_id: str) -> None:
        with self._sessions.begin() as session:
            session.execute(delete(HoldRow).where(HoldRow.conversation_id == conversation_id))

    def mark_noticed(self, conversation_id: str, patient_event: str) -> None:
        with self._sessions.begin() as session:
            session.execute(
                update(HoldRow)
                .where(HoldRow.conversation_id == conversation_id)
                .values(notice_for=patient_event)
            )

    # ---- outbox -----------------------------------------------------------------------
    def enqueue(
        self,
        message_id: str,
        conversation_id: str,
        username: Optional[str],
        kind: str,
        payload: dict[str, Any],
    ) -> tuple[OutboxMessage, bool]:
        """Writes the message first; (message, created). An existing id is returned as is."""
        with self._sessions.begin() as session:
            existing = session.get(OutboxRow, message_id)
            if existing is not None:
                return _outbox(existing), False
            row = OutboxRow(
                message_id=message_id,
                conversation_id=conversation_id,
                username=username,
                kind=kind,
                payload=payload,
                status="queued",
                attempts=0,
                created_at=utcnow(),
                next_attempt_at=utcnow(),
            )
            session.add(row)
        return _outbox(row), True

    def outbox_message(self, message_id: str) -> Optional[OutboxMessage]:
        with self._sessions() as session:
            row = session.get(OutboxRow, message_id)
            return _outbox(row) if row else None

    def outbox_for(self, conversation_id: str) -> List[OutboxMessage]:
        query = (
            select(OutboxRow)
            .where(OutboxRow.conversation_id == conversation_id)
            .order_by(OutboxRow.created_at)
        )
        with self._sessions() as session:
            return [_outbox(row) for row in session.scalars(query)]

    def all_sent(self) -> List[OutboxMessage]:
        query = select(OutboxRow).where(OutboxRow.status == "sent")
        with self._sessions() as session:
            return [_outbox(row) for row in session.scalars(query)]

    def due(self, limit: int = 50) -> List[OutboxMessage]:
        query = (
            select(OutboxRow)
            .where(OutboxRow.status == "queued", OutboxRow.next_attempt_at <= utcnow())
            .order_by(OutboxRow.created_at)
            .limit(limit)
        )
        with self._sessions() as session:
            return [_outbox(row) for row in session.scalars(query)]

    def mark_sent(self, message_id: str, channel: Optional[str], text: Optional[str]) -> None:
        with self._sessions.begin() as session:
            session.execute(
                update(OutboxRow)
                .where(OutboxRow.message_id == message_id)
                .values(
                    status="sent",
                    sent_at=utcnow(),
                    attempts=OutboxRow.attempts + 1,
                    last_error=None,
                    channel=channel,
                    delivered_text=(text or "")[:4096] or None,
                )
            )

    def mark_attempt_failed(
        self, message_id: str, error: str, retry_in: Optional[timedelta]
    ) -> None:
        """`retry_in` None: the failure is final (e.g. window closed), no more retries."""
        values: dict[str, Any] = {"attempts": OutboxRow.attempts + 1, "last_error": error[:64]}
        if retry_in is None:
            values["status"] = "failed"
        else:
            values["next_attempt_at"] = utcnow() + retry_in
        with self._sessions.begin() as session:
            session.execute(
                update(OutboxRow).where(OutboxRow.message_id == message_id).values(**values)
            )

    # ---- privacy ----------------------------------------------------------------------
    def delete_conversation(self, conversation_id: str) -> int:
        """Outbox and holds of one conversation; audit entries keep only that it happened."""
        with self._sessions.begin() as session:
            removed = session.execute(
                delete(OutboxRow).where(OutboxRow.conversation_id == conversation_id)
            ).rowcount
            session.execute(delete(HoldRow).where(HoldRow.conversation_id == conversation_id))
            session.execute(
                update(AuditRow)
                .where(AuditRow.conversation_id == conversation_id)
                .values(conversation_id=None, detail={})
            )
        return int(removed or 0)
