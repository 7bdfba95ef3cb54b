"""An SQL tracker store whose per-message cost does not grow with the conversation's length.

Rasa's `SQLTrackerStore.retrieve` loads and replays every event of the current session, and
every policy prediction then turns the whole history into states (`tracker.past_states`), so
the 300th message of a WhatsApp conversation costs several times the first one
(docs/performance.md has the profile). Dialogue needs far less: the current slot values, the
pause flag, the active form and the last few turns (MemoizationPolicy looks 5 turns back, our
rules fewer, the handoff transcript takes the last 12 messages).

`RecentHistorySQLTrackerStore` keeps the full history stored (same `events` table, same rows,
the console and `GET /conversations/<id>/tracker` still read everything through
`retrieve_full_tracker`) but `retrieve` loads only:

- the latest stored `SlotSet` of each slot before the window (since the last restart or slot
  reset), and the latest `pause` if the conversation is paused (coordinator take-over), then
- every event from the `recent_user_turns`-th last user message on; if a form is active at
  that point the window starts at the message that started the form instead.

Sessions with fewer user messages, or with events whose meaning depends on the full history
(`rewind`/`undo` reverts, the legacy `form` event), are loaded whole, exactly as Rasa does.
`save` appends only the events that are new since retrieval. At start-up the store creates the
indexes these queries need (Rasa creates only `ix_events_sender_id`, and not on tables made by
older versions).

On a database server (PostgreSQL) the database work of `retrieve` and `save` runs in a worker
thread (Rasa's store runs it in the event loop, which then waits for every query and commit):
while one patient's turn waits for the database, the process goes on with other patients'
turns. Rasa's lock store keeps one turn per conversation at a time, so a tracker is never read or
written by two threads at once. SQLite (the embedded default) stays in the event loop: its
writes are serialised anyway, and threads only added lock contention (bench/load.py: 27 → 20
msg/s at 10 patients).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterator, List, Optional, TypeVar

import sqlalchemy as sa
import ujson  # Rasa's and Sanic's own dependency: decodes the loaded events ~1.8x faster
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY

logger = logging.getLogger(__name__)
T = TypeVar("T")

DEFAULT_RECENT_USER_TURNS = 20
# Events whose effect on the state needs the whole session: load everything.
FULL_HISTORY_EVENT_TYPES = ("rewind", "undo", "form")
RESET_EVENT_TYPES = ("restart", "reset_slots")
PAUSE_EVENT_TYPES = ("pause", "resume")
LOOP_EVENT_TYPE = "active_loop"
# The number of events of a tracker that came from the store (the rest are new).
STORED_EVENT_COUNT = "_recent_history_stored_event_count"
INDEXES = (
    ("ix_events_sender_id", ("sender_id",)),
    ("ix_events_sender_id_id", ("sender_id", "id")),
    ("ix_events_sender_id_type_name_id", ("sender_id", "type_name", "id")),
)


SCHEMA_ATTEMPTS = 5


def create_schema(db_url: str) -> None:
    """Rasa's events table and our indexes, before several Rasa processes start and race to
    create them (`make run-prod`)."""
    engine = sa.create_engine(db_url)
    try:
        ensure_schema(engine)
    finally:
        engine.dispose()


def ensure_schema(engine: sa.engine.Engine) -> None:
    """The events table and the indexes the store's queries use, if missing: idempotent, and
    retried while another replica is creating them at the same moment (PostgreSQL then fails
    one of the two with a DuplicateTable or a UniqueViolation, or shows no table yet)."""
    table = SQLTrackerStore.SQLEvent.__table__
    for attempt in range(1, SCHEMA_ATTEMPTS + 1):
        try:
            table.create(engine, checkfirst=True)
            with engine.begin() as connection:
                for name, columns in INDEXES:  # our constants, not input
                    on = f"{table.name} ({', '.join(columns)})"
                    connection.execute(sa.text(f"CREATE INDEX IF NOT EXISTS {name} ON {on}"))
            return
        except (sa.exc.DBAPIError, sa.exc.NoSuchTableError) as error:
            if attempt == SCHEMA_ATTEMPTS:
                raise
            logger.info("tracker store schema being created elsewhere (%s)", type(error).__name__)
            time.sleep(0.2 * attempt)


@dataclass(frozen=True)
class Window:
    """Where the loaded history starts, and the latest event of each kind before it."""

    first_event_id: int
    latest_before: Dict[str, int]


class RecentHistorySQLTrackerStore(SQLTrackerStore):
    """`SQLTrackerStore` that loads the recent turns plus the state they need."""

    def __init__(
        self, *args: Any, recent_user_turns: int = DEFAULT_RECENT_USER_TURNS, **kwargs: Any
    ):
        try:
            super().__init__(*args, **kwargs)
        except sa.exc.IntegrityError:
            # Rasa's own table creation lost a race it does not catch (PostgreSQL's catalog
            # UniqueViolation): the other replica has created the table, connect again
            time.sleep(0.5)
            super().__init__(*args, **kwargs)
        if int(recent_user_turns) < 1:
            raise ValueError("recent_user_turns must be at least 1")
        self.recent_user_turns = int(recent_user_turns)
        self._in_worker_thread = self.engine.dialect.name != "sqlite"
        ensure_schema(self.engine)

    async def retrieve(self, sender_id: str) -> Optional[DialogueStateTracker]:
        """The tracker of the latest session, with only the recent turns replayed."""
        events = await self._database(self._recent_events, sender_id)
        if not (self.domain and events):
            return None
        tracker = DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
        setattr(tracker, STORED_EVENT_COUNT, len(tracker.events))
        return tracker

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Rasa's `save` (stream to the event broker, append the new events), the database part
        in a worker thread."""
        await self.stream_events(tracker)
        await self._database(self._store_new_events, tracker)

    async def _database(self, work: Callable[..., T], *args: Any) -> T:
        if self._in_worker_thread:
            return await asyncio.to_thread(work, *args)
        return work(*args)

    def _store_new_events(self, tracker: DialogueStateTracker) -> None:
        """The database part of Rasa's `SQLTrackerStore.save`, row for row."""
        with self.session_scope() as session:
            for event in self._additional_events(session, tracker):
                data = event.as_dict()
                intent = data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY)
                session.add(
                    self.SQLEvent(
                        sender_id=tracker.sender_id,
                        type_name=event.type_name,
                        timestamp=data.get("timestamp"),
                        intent_name=intent,
                        action_name=data.get("name"),
                        data=json.dumps(data),
                    )
                )
            session.commit()

    def _recent_events(self, sender_id: str) -> List[Dict[str, Any]]:
        with self.session_scope() as session:
            session_start = self._session_start_timestamp(session, sender_id)
            window = self._window(session, sender_id, session_start)
            # only the `data` column: building ORM objects for every row cost more than the
            # query, and decoding the rows stood out next (py-spy, docs/performance.md)
            if window is None:
                rows = (
                    self._event_query(session, sender_id, fetch_events_from_all_sessions=False)
                    .with_entities(self.SQLEvent.data)
                    .all()
                )
                events = [ujson.loads(data) for (data,) in rows]
            else:
                events = self._state_before(session, sender_id, session_start, window)
                events += [
                    ujson.loads(data)
                    for (data,) in self._session_events(session, sender_id, session_start)
                    .filter(self.SQLEvent.id >= window.first_event_id)
                    .order_by(self.SQLEvent.id)
                    .with_entities(self.SQLEvent.data)
                ]
        return events

    def _additional_events(self, session: Any, tracker: DialogueStateTracker) -> Iterator:
        """Events of `tracker` not stored yet: those after the ones `retrieve` loaded."""
        stored = getattr(tracker, STORED_EVENT_COUNT, None)
        if stored is None:  # a tracker this store did not load (new, or built by the HTTP API)
            return super()._additional_events(session, tracker)
        setattr(tracker, STORED_EVENT_COUNT, len(tracker.events))  # a second save adds nothing
        return iter(list(tracker.events)[stored:])

    def _session_start_timestamp(self, session: Any, sender_id: str) -> Optional[float]:
        """Timestamp of the latest `session_started`, as Rasa's own query defines a session."""
        return (
            session.query(sa.func.max(self.SQLEvent.timestamp))
            .filter(
                self.SQLEvent.sender_id == sender_id,
                self.SQLEvent.type_name == SessionStarted.type_name,
            )
            .scalar()
        )

    def _session_events(self, session: Any, sender_id: str, session_start: Optional[float]) -> Any:
        query = session.query(self.SQLEvent).filter(self.SQLEvent.sender_id == sender_id)
        if session_start is not None:
            query = query.filter(self.SQLEvent.timestamp >= session_start)
        return query

    def _window(
        self, session: Any, sender_id: str, session_start: Optional[float]
    ) -> Optional[Window]:
        """Where to start loading, or None to load the whole session."""
        events = self._session_events(session, sender_id, session_start)
        full_history = events.filter(self.SQLEvent.type_name.in_(FULL_HISTORY_EVENT_TYPES))
        if full_history.with_entities(self.SQLEvent.id).first():
            return None
        cut = (
            events.filter(self.SQLEvent.type_name == "user")
            .order_by(self.SQLEvent.id.desc())
            .offset(self.recent_user_turns - 1)
            .limit(1)
            .with_entities(self.SQLEvent.id)
            .scalar()
        )
        if cut is None:  # a short session
            return None
        before = self._latest_before(events, cut)
        loop_event_id = before.get(LOOP_EVENT_TYPE, 0)
        if loop_event_id > before.get("restart", 0):
            loop = json.loads(session.get(self.SQLEvent, loop_event_id).data)
            if loop.get("name"):  # a form is active: start at the message that started it
                cut = (
                    events.filter(
                        self.SQLEvent.type_name == "user", self.SQLEvent.id < loop_event_id
                    )
                    .with_entities(sa.func.max(self.SQLEvent.id))
                    .scalar()
                )
                if cut is None:
                    return None
        # start at the action before that message (normally `action_listen`): the first
        # loaded turn then has the same dialogue state as in the full history
        previous_action = (
            events.filter(self.SQLEvent.type_name == "action", self.SQLEvent.id < cut)
            .with_entities(sa.func.max(self.SQLEvent.id))
            .scalar()
        )
        first = previous_action or cut
        return Window(first_event_id=first, latest_before=self._latest_before(events, first))

    def _latest_before(self, events: Any, cut: int) -> Dict[str, int]:
        """The id of the latest reset, pause, resume and loop event before `cut`."""
        kinds = (*RESET_EVENT_TYPES, *PAUSE_EVENT_TYPES, LOOP_EVENT_TYPE)
        return dict(
            events.filter(self.SQLEvent.type_name.in_(kinds), self.SQLEvent.id < cut)
            .with_entities(self.SQLEvent.type_name, sa.func.max(self.SQLEvent.id))
            .group_by(self.SQLEvent.type_name)
            .all()
        )

    def _state_before(
        self, session: Any, sender_id: str, session_start: Optional[float], window: Window
    ) -> List[Dict[str, Any]]:
        """Stored events that recreate the slots and pause flag in force when the window starts."""
        since = max([window.latest_before.get(kind, 0) for kind in RESET_EVENT_TYPES], default=0)
        events = self._session_events(session, sender_id, session_start).filter(
            self.SQLEvent.id > since, self.SQLEvent.id < window.first_event_id
        )
        # Rasa stores a SlotSet's slot name in `action_name`.
        latest_per_slot = (
            events.filter(self.SQLEvent.type_name == "slot")
            .with_entities(sa.func.max(self.SQLEvent.id))
            .group_by(self.SQLEvent.action_name)
        )
        ids = [event_id for (event_id,) in latest_per_slot]
        pause = window.latest_before.get("pause", 0)
        latest = window.latest_before
        if pause > max(latest.get("restart", 0), latest.get("resume", 0)):
            ids.append(pause)
        rows = (
            session.query(self.SQLEvent.data)
            .filter(self.SQLEvent.id.in_(ids))
            .order_by(self.SQLEvent.id)
            .all()
            if ids
            else []
        )
        return [ujson.loads(data) for (data,) in rows]
