"""Live updates for the console's pages, sent as Server-Sent Events (`GET /api/events`).

Mechanism (no change to Rasa's configuration): the console polls, read-only and by
increasing id, the `events` table of Rasa's SQL tracker store (`TRACKER_DB_URL`, the same
database `endpoints.yml` gives Rasa) and the handoff store's tickets by creation time, every
`CONSOLE_POLL_SECONDS` (0.25 s). Every new patient/bot event and every new ticket becomes one
SSE event for every connected page; the console's own actions (takeover, hand back, close,
message status) are published directly. Events carry ids only, never text: a page fetches
what it shows through the API, so SSE never bypasses authorisation or the audit log.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Optional

from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from actions.handoff_store import HandoffStore, utcnow
from bot.coordinator.store import engine_for

logger = logging.getLogger(__name__)
QUEUE_SIZE = 200


@dataclass(frozen=True)
class LiveEvent:
    type: str  # ticket | message | hold | outbox
    data: dict[str, Any]

    def encode(self) -> bytes:
        return f"event: {self.type}\ndata: {json.dumps(self.data)}\n\n".encode()


class Hub:
    """Fan-out: every subscriber (one per open page) gets every event; a page too slow to
    read loses events rather than slowing everyone down (it refetches on `reset`)."""

    def __init__(self) -> None:
        self._subscribers: set[asyncio.Queue[LiveEvent]] = set()

    def subscribe(self) -> asyncio.Queue[LiveEvent]:
        queue: asyncio.Queue[LiveEvent] = asyncio.Queue(QUEUE_SIZE)
        self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[LiveEvent]) -> None:
        self._subscribers.discard(queue)

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def publish(self, event: LiveEvent) -> None:
        for queue in list(self._subscribers):
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                queue.get_nowait()
                queue.put_nowait(LiveEvent("reset", {}))


class TrackerEventsReader:
    """New rows of the SQL tracker store's `events` table, by id (read only)."""

    def __init__(self, url: str) -> None:
        self.engine: Engine = engine_for(url)
        self.last_id: Optional[int] = None

    def _has_table(self) -> bool:
        return inspect(self.engine).has_table("events")

    def new_events(self) -> list[tuple[int, str, str]]:
        if not self._has_table():
            self.last_id = self.last_id or 0
            return []
        with self.engine.connect() as connection:
            if self.last_id is None:
                self.last_id = int(
                    connection.execute(text("SELECT COALESCE(MAX(id), 0) FROM events")).scalar()
                    or 0
                )
                return []
            rows = connection.execute(
                text(
                    "SELECT id, sender_id, type_name FROM events WHERE id > :last "
                    "ORDER BY id LIMIT 1000"
                ),
                {"last": self.last_id},
            ).all()
        if rows:
            self.last_id = int(rows[-1][0])
        return [(int(r[0]), str(r[1]), str(r[2])) for r in rows]


async def poll_forever(
    hub: Hub, tracker: TrackerEventsReader, tickets: HandoffStore, every: float
) -> None:
    since: datetime = utcnow()
    while True:
        try:
            for _, sender_id, type_name in await asyncio.to_thread(tracker.new_events):
                if type_name in ("user", "bot", "pause", "resume"):
                    hub.publish(
                        LiveEvent("message", {"conversation_id": sender_id, "event": type_name})
                    )
            for ticket in await asyncio.to_thread(tickets.created_since, since):
                since = max(since, ticket.created_at)
                hub.publish(
                    LiveEvent(
                        "ticket",
                        {
                            "id": ticket.id,
                            "kind": ticket.kind,
                            "conversation_id": ticket.sender_id,
                            "new": True,
                        },
                    )
                )
        except SQLAlchemyError as error:
            logger.warning("live update poll failed: %s", type(error).__name__)
        await asyncio.sleep(every)
