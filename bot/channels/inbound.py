"""What every patient channel needs around an incoming message: the patient's state from
the tracker store, one patient's messages in arrival order, and log references that are
not personal data."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from collections import Counter
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, AsyncIterator

from bot.languages import normalise_language
from bot.names import LANGUAGE_SLOT, TICKET_SLOT

_LOG_KEY = secrets.token_bytes(32)


@dataclass(frozen=True)
class PatientState:
    language: str | None
    ticket_id: str | None


async def patient_state(agent: Any, sender_id: str) -> PatientState:
    """The conversation's language and handoff ticket, from Rasa's tracker store."""
    tracker = await agent.tracker_store.retrieve(sender_id)
    if tracker is None:
        return PatientState(None, None)
    ticket = tracker.get_slot(TICKET_SLOT)
    return PatientState(
        normalise_language(tracker.get_slot(LANGUAGE_SLOT)), str(ticket) if ticket else None
    )


def anonymous(value: str) -> str:
    """A short reference for logs instead of a phone number or message id: stable within
    one process (to follow a conversation), keyed with a random secret so it cannot be
    turned back into the number."""
    return hmac.new(_LOG_KEY, value.encode("utf-8"), hashlib.sha256).hexdigest()[:12]


class SenderLocks:
    """Processes one patient's messages one after the other, in arrival order."""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: Counter[str] = Counter()

    @asynccontextmanager
    async def hold(self, sender_id: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault(sender_id, asyncio.Lock())
        self._users[sender_id] += 1
        try:
            async with lock:
                yield
        finally:
            self._users[sender_id] -= 1
            if not self._users[sender_id]:
                del self._users[sender_id]
                del self._locks[sender_id]
