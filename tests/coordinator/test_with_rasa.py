"""The console against the real Rasa and action servers: a REST patient asks for a person,
the ticket reaches the console live (SSE), takeover pauses the real tracker and the bot stays
silent, hand back lets it answer again in the patient's language; transcript translations;
export and deletion leave nothing behind. Delivery to the patient uses the patient channels
endpoint of the real Rasa."""

from __future__ import annotations

import io
import json
import queue
import threading
import time
import zipfile
from typing import Any, Iterator

import pytest
import requests
from sqlalchemy import create_engine, text

from actions.handoff_store import HandoffStore
from bot.coordinator import content
from tests.coordinator.conftest import ADMIN, ConsoleClient, ConsoleSetup, console_env
from tests.support.chat import RestChat
from tests.support.servers import RunningBot, running_console

TR = {"language": "tr"}


@pytest.fixture(scope="module")
def setup(bot: RunningBot, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleSetup]:
    workdir = tmp_path_factory.mktemp("console-rasa")
    handoff = f"sqlite:///{bot.workdir / 'handoff.db'}"
    with running_console(
        workdir,
        bot.url,
        bot.auth_token,
        handoff,
        f"sqlite:///{bot.workdir / 'tracker.db'}",
        console_env(),
    ) as console:
        yield ConsoleSetup(console, HandoffStore(handoff))


@pytest.fixture(scope="module")
def coordinator(setup: ConsoleSetup) -> ConsoleClient:
    return setup.user("ivan", language="en", name="Ivan")


class EventStream:
    """The console's /api/events read by a background thread, as the UI's EventSource does."""

    def __init__(self, client: ConsoleClient) -> None:
        self.events: queue.Queue[tuple[float, str, dict[str, Any]]] = queue.Queue()
        self.response = client.http.get(client.url + "/api/events", stream=True, timeout=60)
        assert self.response.status_code == 200
        assert self.response.headers["Content-Type"].startswith("text/event-stream")
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        kind = ""
        try:
            for line in self.response.iter_lines(decode_unicode=True):
                if line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: "):
                    self.events.put((time.monotonic(), kind, json.loads(line[6:])))
        except (requests.RequestException, ValueError, AttributeError):
            pass

    def wait_for(self, kind: str, conversation_id: str, timeout: float = 30, **match: Any) -> float:
        """The arrival time (monotonic) of the first matching event."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                at, got, data = self.events.get(timeout=0.5)
            except queue.Empty:
                continue
            if (
                got == kind
                and data.get("conversation_id") == conversation_id
                and all(data.get(k) == v for k, v in match.items())
            ):
                return at
        raise AssertionError(f"no {kind} event for the conversation within {timeout} s")

    def drain(self, settle: float = 1.0) -> None:
        """Forget what arrived so far (after `settle` s for stragglers of earlier messages)."""
        time.sleep(settle)
        while not self.events.empty():
            self.events.get_nowait()

    def close(self) -> None:
        self.response.close()


def rasa_tracker(bot: RunningBot, conversation_id: str) -> dict[str, Any]:
    response = requests.get(
        f"{bot.url}/conversations/{conversation_id}/tracker",
        params={"token": bot.auth_token},
        timeout=10,
    )
    response.raise_for_status()
    return response.json()


def ask_for_a_person(bot: RunningBot) -> RestChat:
    chat = RestChat(bot.url)
    assert chat.answers("bir insanla konuşmak istiyorum", TR) == [("utter_confirm_handoff", "tr")]
    return chat


def test_rasa_api_is_refused_without_its_token(bot: RunningBot) -> None:
    assert requests.get(f"{bot.url}/conversations/someone/tracker", timeout=10).status_code == 401
    assert (
        requests.post(
            f"{bot.url}/conversations/someone/tracker/events", json={"event": "pause"}, timeout=10
        ).status_code
        == 401
    )


def test_full_takeover_against_the_real_bot(
    bot: RunningBot, setup: ConsoleSetup, coordinator: ConsoleClient
) -> None:
    stream = EventStream(coordinator)
    try:
        chat = ask_for_a_person(bot)
        said_yes = time.monotonic()
        assert chat.answers("evet", TR) == [("utter_handoff_created", "tr")]
        ticket_seen = stream.wait_for("ticket", chat.sender)
        print(
            f"\nticket → console SSE: {(ticket_seen - said_yes) * 1000:.0f} ms after the bot's reply"
        )
        [ticket] = [
            t
            for t in coordinator.get("/api/tickets").json()["tickets"]
            if t["conversation_id"] == chat.sender
        ]
        assert (
            ticket["kind"] == "handoff"
            and ticket["language"] == "tr"
            and ticket["channel"] == "rest"
        )

        assert coordinator.post(f"/api/conversations/{chat.sender}/takeover").status_code == 200
        assert rasa_tracker(bot, chat.sender)["paused"] is True

        stream.drain()
        sent_at = time.monotonic()
        assert chat.send("botoks işe yarıyor mu") == []  # the bot stays silent while held
        shown_at = stream.wait_for("message", chat.sender, event="user")
        print(f"patient message → console SSE: {(shown_at - sent_at) * 1000:.0f} ms")

        view = coordinator.get(f"/api/conversations/{chat.sender}").json()
        assert view["paused"] and view["held_by"] == "ivan" and view["language"] == "tr"
        patient_turns = [t for t in view["turns"] if t["role"] == "patient"]
        assert patient_turns[-1]["text"] == "botoks işe yarıyor mu"
        assert (
            patient_turns[-1]["intent"] == "ask_botox"
            and patient_turns[-1]["topic"] == "Botox injections"
        )
        confirm = next(t for t in view["turns"] if t["role"] == "bot")
        assert confirm["translation"] == content.domain_responses()["utter_confirm_handoff"]["en"]
        assert view["tickets"][0]["reference"] == ticket["reference"]

        response = coordinator.post(
            f"/api/conversations/{chat.sender}/messages", {"reply": "call_tomorrow"}
        )
        assert response.status_code == 200, response.text
        assert response.json()["message"]["text"] == content.replies()["call_tomorrow"].text["tr"]
        transcript = coordinator.get(f"/api/conversations/{chat.sender}").json()["turns"]
        assert transcript[-1]["role"] == "coordinator"
        assert transcript[-1]["text"] == content.replies()["call_tomorrow"].text["tr"]

        assert coordinator.post(f"/api/conversations/{chat.sender}/handback").status_code == 200
        assert rasa_tracker(bot, chat.sender)["paused"] is False
        answers = chat.answers("botoks işe yarıyor mu", TR)
        assert answers and all(a is not None and a[1] == "tr" for a in answers), answers
        # the slots the bot had are still there
        assert rasa_tracker(bot, chat.sender)["slots"]["handoff_ticket_id"] == ticket["id"]
    finally:
        stream.close()


def test_pause_survives_in_the_tracker_store(bot: RunningBot, coordinator: ConsoleClient) -> None:
    """The pause is an event in the SQL tracker store (what a restarted Rasa reads back)."""
    chat = ask_for_a_person(bot)
    assert coordinator.post(f"/api/conversations/{chat.sender}/takeover").status_code == 200
    engine = create_engine(f"sqlite:///{bot.workdir / 'tracker.db'}")
    with engine.connect() as connection:
        kinds = [
            r[0]
            for r in connection.execute(
                text("SELECT type_name FROM events WHERE sender_id = :s ORDER BY id"),
                {"s": chat.sender},
            )
        ]
    # the latest pause/resume is the pause (the "joined" notice is recorded after it)
    assert [k for k in kinds if k in ("pause", "resume")][-1] == "pause"
    assert chat.send("hello?") == []
    assert coordinator.post(f"/api/conversations/{chat.sender}/handback").status_code == 200


def test_export_then_delete_leaves_nothing_behind(
    bot: RunningBot, setup: ConsoleSetup, coordinator: ConsoleClient
) -> None:
    chat = ask_for_a_person(bot)
    chat.answers("evet", TR)
    coordinator.post(f"/api/conversations/{chat.sender}/messages", {"text": "Merhaba, ben Ivan"})
    admin = setup.admin()
    exported = admin.get(f"/api/privacy/{chat.sender}/export")
    assert exported.status_code == 200 and exported.headers["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(exported.content))
    assert {"tracker_events.json", "tickets.json", "attachments.json", "console.json"} <= set(
        archive.namelist()
    )
    events = json.loads(archive.read("tracker_events.json"))
    assert "bir insanla konuşmak istiyorum" in [e.get("text") for e in events]
    assert [t["sender_id"] for t in json.loads(archive.read("tickets.json"))] == [chat.sender]
    assert "Merhaba, ben Ivan" in [
        m["text"] for m in json.loads(archive.read("console.json"))["messages"]
    ]

    deleted = admin.post(f"/api/privacy/{chat.sender}/delete")
    assert deleted.status_code == 200, deleted.text
    assert (
        deleted.json()["deleted"]["tickets"] == 1
        and deleted.json()["deleted"]["tracker_events"] > 0
    )
    for db, query in (
        (bot.workdir / "tracker.db", "SELECT COUNT(*) FROM events WHERE sender_id = :s"),
        (bot.workdir / "handoff.db", "SELECT COUNT(*) FROM handoff_tickets WHERE sender_id = :s"),
        (
            setup.console.workdir / "console.db",
            "SELECT COUNT(*) FROM console_outbox WHERE conversation_id = :s",
        ),
        (
            setup.console.workdir / "console.db",
            "SELECT COUNT(*) FROM console_holds WHERE conversation_id = :s",
        ),
        (
            setup.console.workdir / "console.db",
            "SELECT COUNT(*) FROM console_audit WHERE conversation_id = :s",
        ),
    ):
        with create_engine(f"sqlite:///{db}").connect() as connection:
            assert connection.execute(text(query), {"s": chat.sender}).scalar() == 0, query
    with create_engine(f"sqlite:///{setup.console.workdir / 'console.db'}").connect() as connection:
        dump = "\n".join(
            str(row)
            for table in ("console_audit", "console_outbox", "console_holds")
            for row in connection.execute(text(f"SELECT * FROM {table}"))
        )
    assert chat.sender not in dump
    assert rasa_tracker(bot, chat.sender)["events"] in ([], None) or all(
        e["event"] != "user" for e in rasa_tracker(bot, chat.sender)["events"]
    )
    actions = [e["action"] for e in admin.get("/api/audit").json()["entries"]]
    assert "export" in actions and "delete" in actions


def test_stats_page_draws_svg_charts_from_the_real_stores(setup: ConsoleSetup) -> None:
    admin = setup.admin()
    page = admin.get("/stats")
    assert page.status_code == 200
    assert page.text.count("<svg") == 5
    numbers = admin.get("/api/stats").json()
    assert numbers["conversations"] >= 1 and 0 <= numbers["handoff_rate"] <= 1


def test_held_conversation_stays_silent_across_a_rasa_restart(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    from tests.conftest import DEFAULT_CREDENTIALS
    from tests.support.servers import running_bot

    workdir, console_dir = (
        tmp_path_factory.mktemp("restart"),
        tmp_path_factory.mktemp("restart-console"),
    )
    handoff, tracker = f"sqlite:///{workdir / 'handoff.db'}", f"sqlite:///{workdir / 'tracker.db'}"

    def console_for(running: RunningBot):  # type: ignore[no-untyped-def]
        return running_console(
            console_dir, running.url, running.auth_token, handoff, tracker, console_env()
        )

    with running_bot(workdir, DEFAULT_CREDENTIALS) as first, console_for(first) as console:
        chat = ask_for_a_person(first)
        setup = ConsoleSetup(console, HandoffStore(handoff))
        admin = setup.admin()
        assert admin.post(f"/api/conversations/{chat.sender}/takeover").status_code == 200
    with running_bot(workdir, DEFAULT_CREDENTIALS) as second, console_for(second) as console:
        assert RestChat(second.url, chat.sender).send("botoks işe yarıyor mu") == []
        admin = ConsoleSetup(console, HandoffStore(handoff)).admin()
        view = admin.get(f"/api/conversations/{chat.sender}").json()
        assert view["paused"] and view["held_by"] == ADMIN
        assert admin.post(f"/api/conversations/{chat.sender}/handback").status_code == 200
        answers = RestChat(second.url, chat.sender).answers("botoks işe yarıyor mu", TR)
        assert answers and all(a is not None and a[1] == "tr" for a in answers), answers
