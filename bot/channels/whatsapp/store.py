"""What the WhatsApp channels must remember: processed message ids (Meta and Twilio retry
deliveries) and the numbered menu a patient may answer. Files a patient sends belong to
their ticket and live in the handoff store (`actions/handoff_store.py`).

In memory by default (one process, forgotten on restart); in SQL tables when
`WHATSAPP_DATABASE_URL` is set (PostgreSQL in production, shared by every replica and
kept across restarts). Phone numbers are stored only as SHA-256 keys.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
from collections import OrderedDict
from typing import Protocol, Sequence

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from actions.handoff_store import utcnow

PROCESSED_RETENTION = dt.timedelta(days=14)  # Meta stops retrying a delivery long before
MENU_VALIDITY = dt.timedelta(hours=24)  # WhatsApp's customer-service window
PRUNE_EVERY = 500  # claims between two clean-ups of old message ids


class ChannelStore(Protocol):
    def claim_message(self, message_id: str) -> bool:
        """True the first time a message id is seen, False for every later delivery."""

    def remember_menu(self, wa_id: str, payloads: Sequence[str]) -> None:
        """The payloads of the numbered menu just sent to this patient."""

    def take_menu(self, wa_id: str) -> tuple[str, ...]:
        """The patient's pending menu (empty if none or expired); it is used up."""


def contact_key(wa_id: str) -> str:
    return hashlib.sha256(wa_id.encode("utf-8")).hexdigest()


class InMemoryChannelStore:
    """Bounded, per process: enough for `make run` and a single replica without a database."""

    def __init__(self, max_messages: int = 50_000, max_menus: int = 10_000) -> None:
        self._messages: OrderedDict[str, None] = OrderedDict()
        self._menus: OrderedDict[str, tuple[dt.datetime, tuple[str, ...]]] = OrderedDict()
        self._max_messages, self._max_menus = max_messages, max_menus
        self._lock = threading.Lock()

    def claim_message(self, message_id: str) -> bool:
        with self._lock:
            if message_id in self._messages:
                self._messages.move_to_end(message_id)
                return False
            self._messages[message_id] = None
            while len(self._messages) > self._max_messages:
                self._messages.popitem(last=False)
            return True

    def remember_menu(self, wa_id: str, payloads: Sequence[str]) -> None:
        with self._lock:
            self._menus[contact_key(wa_id)] = (utcnow(), tuple(payloads))
            self._menus.move_to_end(contact_key(wa_id))
            while len(self._menus) > self._max_menus:
                self._menus.popitem(last=False)

    def take_menu(self, wa_id: str) -> tuple[str, ...]:
        with self._lock:
            created, payloads = self._menus.pop(contact_key(wa_id), (dt.datetime.min, ()))
        return payloads if utcnow() - created <= MENU_VALIDITY else ()


_metadata = sa.MetaData()
processed_messages = sa.Table(
    "whatsapp_processed_messages",
    _metadata,
    sa.Column("message_id", sa.String(255), primary_key=True),
    sa.Column("received_at", sa.DateTime, nullable=False, index=True),
)
pending_menus = sa.Table(
    "whatsapp_pending_menus",
    _metadata,
    sa.Column("contact_key", sa.String(64), primary_key=True),
    sa.Column("payloads", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
)


class SqlChannelStore:
    """The same, in SQL tables (created if missing); safe across replicas and restarts."""

    def __init__(self, url: str) -> None:
        self._engine = sa.create_engine(url, pool_pre_ping=True, future=True)
        _metadata.create_all(self._engine)
        self._claims = 0
        self._lock = threading.Lock()

    def claim_message(self, message_id: str) -> bool:
        try:
            with self._engine.begin() as connection:
                connection.execute(
                    processed_messages.insert().values(message_id=message_id, received_at=utcnow())
                )
        except IntegrityError:
            return False
        self._prune_now_and_then()
        return True

    def remember_menu(self, wa_id: str, payloads: Sequence[str]) -> None:
        key = contact_key(wa_id)
        with self._engine.begin() as connection:
            connection.execute(pending_menus.delete().where(pending_menus.c.contact_key == key))
            connection.execute(
                pending_menus.insert().values(
                    contact_key=key, payloads=json.dumps(list(payloads)), created_at=utcnow()
                )
            )

    def take_menu(self, wa_id: str) -> tuple[str, ...]:
        key = contact_key(wa_id)
        with self._engine.begin() as connection:
            row = connection.execute(
                sa.select(pending_menus.c.payloads, pending_menus.c.created_at).where(
                    pending_menus.c.contact_key == key
                )
            ).first()
            if row is None:
                return ()
            connection.execute(pending_menus.delete().where(pending_menus.c.contact_key == key))
        if utcnow() - row.created_at > MENU_VALIDITY:
            return ()
        return tuple(str(p) for p in json.loads(row.payloads))

    def dispose(self) -> None:
        self._engine.dispose()

    def _prune_now_and_then(self) -> None:
        with self._lock:
            self._claims += 1
            if self._claims % PRUNE_EVERY:
                return
        with self._engine.begin() as connection:
            connection.execute(
                processed_messages.delete().where(
                    processed_messages.c.received_at < utcnow() - PROCESSED_RETENTION
                )
            )


def create_store(database_url: str | None) -> ChannelStore:
    return SqlChannelStore(database_url) if database_url else InMemoryChannelStore()
