"""RecentHistorySQLTrackerStore: same bot, same stored history, bounded work per message.

A real Rasa server whose store loads only the last two user turns (the default is 20) runs every
REST and booking conversation test of the suite; afterwards each stored conversation, loaded the
short way, has the same slots, form, pause flag and latest dialogue states as loaded whole by
Rasa's own SQLTrackerStore, and the database holds every message exactly once.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import requests
import sqlalchemy as sa
import yaml
from rasa.core.tracker_store import SQLTrackerStore, TrackerStore
from rasa.core.utils import AvailableEndpoints
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker

from actions.handoff import handoff_config
from bot.stores.recent_history import (
    DEFAULT_RECENT_USER_TURNS,
    INDEXES,
    RecentHistorySQLTrackerStore,
    create_schema,
)
from tests import test_e2e_booking, test_e2e_rest
from tests.conftest import DEFAULT_CREDENTIALS, ROOT
from tests.support.chat import RestChat
from tests.support.postgres import temporary_database
from tests.support.servers import RunningBot, running_bot

SHORT_MEMORY = 2
STORE = "bot.stores.recent_history.RecentHistorySQLTrackerStore"


def _conversation_tests() -> list[Callable[[RunningBot], None]]:
    found = []
    for module in (test_e2e_rest, test_e2e_booking):
        for name, function in vars(module).items():
            if name.startswith("test_") and list(inspect.signature(function).parameters) == ["bot"]:
                found.append(function)
    return found


CONVERSATIONS = _conversation_tests()


@pytest.fixture(scope="module")
def short_memory_bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningBot]:
    workdir = tmp_path_factory.mktemp("short-memory")
    endpoints = (
        f"tracker_store:\n  type: {STORE}\n  dialect: sqlite\n  db: {workdir / 'tracker.db'}\n"
        f"  recent_user_turns: {SHORT_MEMORY}\n"
    )
    with running_bot(workdir, DEFAULT_CREDENTIALS, tracker_store=endpoints) as running:
        yield running


def stores(db: Path, domain: Domain) -> tuple[SQLTrackerStore, RecentHistorySQLTrackerStore]:
    whole = SQLTrackerStore(domain, dialect="sqlite", db=str(db))
    recent = RecentHistorySQLTrackerStore(
        domain, dialect="sqlite", db=str(db), recent_user_turns=SHORT_MEMORY
    )
    return whole, recent


def dialogue_state(tracker: DialogueStateTracker) -> dict[str, Any]:
    """What actions and the session logic see of a conversation."""
    return {
        "slots": tracker.current_slot_values(),
        "active_loop": tracker.active_loop,
        "paused": tracker.is_paused(),
        "latest_message": tracker.latest_message.as_dict() if tracker.latest_message else None,
        "latest_action": tracker.latest_action_name,
        "input_channel": tracker.get_latest_input_channel(),
    }


def assert_same_dialogue(
    short: DialogueStateTracker, full: DialogueStateTracker, domain: Domain
) -> None:
    """Same state, and the same recent dialogue states for the policies.

    RulePolicy's rules look at most a few states back (MemoizationPolicy, when it was configured,
    5); every state the short tracker has after its synthetic start must equal the full
    history's (up to 6).
    """
    assert dialogue_state(short) == dialogue_state(full), short.sender_id
    for rule_only in (None, {}):
        short_states = short.past_states(domain, rule_only_data=rule_only)
        full_states = full.past_states(domain, rule_only_data=rule_only)
        depth = min(6, len(short_states) - 1)
        assert depth >= 2, short.sender_id
        assert short_states[-depth:] == full_states[-depth:], short.sender_id


@pytest.mark.parametrize("conversation", CONVERSATIONS, ids=[c.__name__ for c in CONVERSATIONS])
def test_conversations_behave_the_same_with_two_turns_loaded(
    short_memory_bot: RunningBot, conversation: Callable[[RunningBot], None]
) -> None:
    conversation(short_memory_bot)


def test_long_conversation_keeps_state_and_stores_each_message_once(
    short_memory_bot: RunningBot, domain: Domain
) -> None:
    chat = RestChat(short_memory_bot.url)
    messages = [
        "Wie wird die Krankheit diagnostiziert?",
        "und Botox?",
        "Welche Nebenwirkungen hat das?",
        "Ich möchte einen Termin buchen",
        "ja",
        "Hans Müller",
        "Was kostet das?",  # a question in the middle of the form
        "Deutschland",
        "hans.mueller@example.com",
        "danke",
    ]
    replies = [chat.send(message) for message in messages]
    assert all(replies), replies
    whole, recent = stores(short_memory_bot.workdir / "tracker.db", domain)
    full, short = (
        asyncio.run(whole.retrieve(chat.sender)),
        asyncio.run(recent.retrieve(chat.sender)),
    )
    assert full is not None and short is not None
    assert len(short.events) < len(full.events)  # it really loaded less
    assert_same_dialogue(short, full, domain)
    assert short.active_loop_name == "booking_form"  # the form started 6 messages ago
    stored = [e for e in full.events if e.type_name == "user"]
    assert [e.text for e in stored] == messages
    bot_events = [e for e in full.events if e.type_name == "bot"]
    assert len(bot_events) == sum(len(r) for r in replies)


def test_every_stored_conversation_loads_to_the_same_dialogue_state(
    short_memory_bot: RunningBot, domain: Domain
) -> None:
    whole, recent = stores(short_memory_bot.workdir / "tracker.db", domain)
    senders = list(asyncio.run(whole.keys()))
    assert len(senders) >= len(CONVERSATIONS)
    cut = 0
    for sender in senders:
        full, short = asyncio.run(whole.retrieve(sender)), asyncio.run(recent.retrieve(sender))
        assert full is not None and short is not None, sender
        cut += len(short.events) < len(full.events)
        assert_same_dialogue(short, full, domain)
        # every loaded event decodes to exactly what Rasa's store decodes (timestamps too)
        full_events = [e.as_dict() for e in full.events]
        short_events = [e.as_dict() for e in short.events]
        assert all(event in full_events for event in short_events), sender
        assert short_events[-10:] == full_events[-10:], sender
    assert cut >= 5  # most conversations are longer than two turns


def test_paused_conversation_stays_paused_and_the_api_shows_everything(
    short_memory_bot: RunningBot, domain: Domain
) -> None:
    chat = RestChat(short_memory_bot.url)
    chat.send("Hello")
    api = f"{short_memory_bot.url}/conversations/{chat.sender}/tracker"
    auth = {"token": short_memory_bot.auth_token}
    response = requests.post(f"{api}/events", json=[{"event": "pause"}], params=auth, timeout=30)
    response.raise_for_status()
    for text in ("are you there?", "hello?", "anyone?", "please"):
        assert chat.send(text) == []  # a coordinator has the conversation
    full = requests.get(api, params=auth, timeout=30).json()
    assert [e["text"] for e in full["events"] if e["event"] == "user"] == [
        "Hello",
        "are you there?",
        "hello?",
        "anyone?",
        "please",
    ]
    _, recent = stores(short_memory_bot.workdir / "tracker.db", domain)
    short = asyncio.run(recent.retrieve(chat.sender))
    assert short is not None and short.is_paused()
    requests.post(
        f"{api}/events", json=[{"event": "resume"}], params=auth, timeout=30
    ).raise_for_status()
    assert chat.send("What is hemifacial spasm?")


def test_default_window_covers_policies_rules_and_the_handoff_transcript() -> None:
    config = yaml.safe_load((ROOT / "config.yml").read_text())
    memory = [p.get("max_history", 5) for p in config["policies"] if p["name"] != "RulePolicy"]
    longest_story = max(
        sum(1 for step in story["steps"] if "intent" in step or "or" in step)
        for path in (ROOT / "data").rglob("*.yml")
        for kind in ("stories", "rules")
        for story in (yaml.safe_load(path.read_text()) or {}).get(kind) or []
    )
    assert all(max_history <= DEFAULT_RECENT_USER_TURNS for max_history in memory)
    assert longest_story < DEFAULT_RECENT_USER_TURNS
    assert handoff_config().transcript_messages <= DEFAULT_RECENT_USER_TURNS


def test_postgresql_gets_the_indexes_and_the_same_state(domain: Domain) -> None:
    with temporary_database() as url:
        store = RecentHistorySQLTrackerStore(domain, host=url, recent_user_turns=2)
        indexes = {i["name"] for i in sa.inspect(store.engine).get_indexes("events")}
        assert {"ix_events_sender_id", "ix_events_sender_id_id"} <= indexes
        events = [
            {"event": "action", "name": "action_session_start", "timestamp": 1.0},
            {"event": "session_started", "timestamp": 1.1},
            {"event": "action", "name": "action_listen", "timestamp": 1.2},
        ]
        for turn in range(4):
            events += [
                {
                    "event": "user",
                    "text": f"message {turn}",
                    "parse_data": {"intent": {"name": "greet", "confidence": 1.0}, "entities": []},
                    "timestamp": 2.0 + turn,
                },
                {"event": "slot", "name": "language", "value": "de", "timestamp": 2.1 + turn},
                {"event": "action", "name": "action_listen", "timestamp": 2.2 + turn},
            ]
        tracker = DialogueStateTracker.from_dict("pg-sender", events, domain.slots)
        asyncio.run(store.save(tracker))
        short = asyncio.run(store.retrieve("pg-sender"))
        assert short is not None and short.get_slot("language") == "de"
        assert [e.text for e in short.events if e.type_name == "user"] == ["message 2", "message 3"]
        with store.engine.connect() as connection:
            stored = connection.execute(sa.text("SELECT data FROM events")).all()
        assert len(stored) == len(events)
        assert json.loads(stored[-1][0])["name"] == "action_listen"
        store.engine.dispose()


def start_replicas_at_once(domain: Domain, url: str, count: int = 4) -> set[str]:
    """`count` tracker stores created at the same moment on `url`; the indexes found then."""
    start = threading.Barrier(count)

    def replica() -> None:
        start.wait()
        RecentHistorySQLTrackerStore(domain, host=url).engine.dispose()

    with ThreadPoolExecutor(count) as pool:
        for future in [pool.submit(replica) for _ in range(count)]:
            future.result()  # a replica that failed to start raises here
    engine = sa.create_engine(url)
    try:
        return {index["name"] for index in sa.inspect(engine).get_indexes("events")}
    finally:
        engine.dispose()


def test_replicas_starting_at_once_on_a_new_database_all_get_the_schema(domain: Domain) -> None:
    """Two Rasa processes creating the same index at the same moment: PostgreSQL lets one
    fail with a UniqueViolation, which once stopped a Rasa process from starting."""
    wanted = {name for name, _ in INDEXES}
    for _ in range(3):
        with temporary_database() as url:  # no schema yet: the replicas race for it
            assert wanted <= start_replicas_at_once(domain, url)
    with temporary_database() as url:
        create_schema(url)  # make run-prod: once, before the processes start
        create_schema(url)  # idempotent
        assert wanted <= start_replicas_at_once(domain, url)


def test_endpoints_yml_gives_this_store_not_rasas_silent_fallback(
    domain: Domain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the embedded default's rasa_tracker.db is relative
    monkeypatch.setenv("ACTION_SERVER_TOKEN", "a-token")  # `make run` always sets one
    monkeypatch.setenv("ACTION_PORT", "5055")  # and the action server's port
    endpoints = AvailableEndpoints.read_endpoints(str(ROOT / "endpoints.yml"))
    store = TrackerStore.create(endpoints.tracker_store, domain)
    inner = getattr(store, "_tracker_store", store)  # Rasa wraps it in a FailSafeTrackerStore
    assert isinstance(inner, RecentHistorySQLTrackerStore)  # an ImportError would give InMemory
    assert inner.recent_user_turns == DEFAULT_RECENT_USER_TURNS
    assert (tmp_path / "rasa_tracker.db").exists()
