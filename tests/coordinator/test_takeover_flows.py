"""End-to-end takeovers across every patient channel, against ONE real bot with the shipped
credentials.yml (widget, WhatsApp Cloud API against a fake Graph API, Twilio against a fake
Twilio API, the patient channels endpoint) and ONE real console process on its stores.

- the widget and the console, both in headless Chromium: a German patient on a phone asks for
  a person, the ticket reaches the coordinator's open queue page, takeover, the bot stays
  silent, canned reply + free text reach the widget as a person's messages and survive a
  reload, hand back, the bot answers in German again (screenshots `flow-*.png`);
- WhatsApp (Cloud API) through the console's HTTP API, including the 24-hour window (free
  text refused, a template sent as a Graph API template message);
- Twilio's WhatsApp through the console's HTTP API;
- the console's WhatsApp window in the browser (time left; closed: templates only), axe audit.

The latencies printed (patient → coordinator's screen, coordinator → patient's widget) are
measurements, not assertions; speed targets live in bench/.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
from typing import Any, Iterator

import pytest
import requests
from playwright.sync_api import Browser, Page, expect, sync_playwright

from actions.handoff_store import HandoffStore
from bot.coordinator import content
from tests.coordinator.conftest import ConsoleClient, ConsoleSetup, console_env
from tests.coordinator.test_browser import DESKTOP, PHONE, sign_in, violations
from tests.support.chat import which_response
from tests.support.fake_graph_api import FakeGraphApi, fake_graph_api
from tests.support.fake_twilio_api import FakeTwilioApi, fake_twilio_api
from tests.support.servers import RunningBot, running_bot, running_console
from tests.support.whatsapp import (
    ACCESS_TOKEN,
    PHONE_NUMBER_ID,
    Patient,
    deliver,
    envelope,
    messages_value,
    response_of,
    text,
    tracker_events,
)
from tests.support.widget import (
    CHROMIUM,
    CHROMIUM_ARGS,
    Site,
    artifact,
    clinic_page,
    running_site,
)
from tests.whatsapp.conftest import (
    SHIPPED_CREDENTIALS,
    TWILIO_NUMBER,
    TWILIO_SID,
    TWILIO_TOKEN,
    twilio_environment,
    whatsapp_environment,
)
from tests.whatsapp.test_twilio import post as post_to_twilio
from tests.whatsapp.test_twilio import twilio_form

TOKEN = "takeover-flows-test-token"
COORDINATOR, COORDINATOR_NAME = "selin", "Selin"
SILENCE_SECONDS = 4  # how long "the bot stays silent" is watched
DAY = 24 * 3600


# ---- fixtures: one bot with every channel, one console on its stores ------------------------


@pytest.fixture(scope="module")
def clinic() -> Iterator[Site]:
    with running_site() as site:
        yield site


@pytest.fixture(scope="module")
def graph() -> Iterator[FakeGraphApi]:
    with fake_graph_api(ACCESS_TOKEN, PHONE_NUMBER_ID) as fake:
        yield fake


@pytest.fixture(scope="module")
def twilio_api() -> Iterator[FakeTwilioApi]:
    with fake_twilio_api(TWILIO_SID, TWILIO_TOKEN) as fake:
        yield fake


@pytest.fixture(scope="module")
def flow_bot(
    tmp_path_factory: pytest.TempPathFactory,
    clinic: Site,
    graph: FakeGraphApi,
    twilio_api: FakeTwilioApi,
) -> Iterator[RunningBot]:
    environment = {
        "BOT_CORS_ORIGINS": clinic.origin,
        **whatsapp_environment(graph),
        **twilio_environment(twilio_api),
    }
    with running_bot(
        tmp_path_factory.mktemp("flow-bot"),
        SHIPPED_CREDENTIALS,
        env_extra=environment,
        auth_token=TOKEN,
        cors_origins=[clinic.origin],
    ) as bot:
        # the clinic's German page embeds the widget with one script tag
        clinic.pages["/de"] = clinic_page(
            f"{bot.url}/widget/widget.js", title="Klinik", language="de"
        )
        yield bot


@pytest.fixture(scope="module")
def setup(flow_bot: RunningBot, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleSetup]:
    handoff = f"sqlite:///{flow_bot.workdir / 'handoff.db'}"
    with running_console(
        tmp_path_factory.mktemp("flow-console"),
        flow_bot.url,
        TOKEN,
        handoff,
        f"sqlite:///{flow_bot.workdir / 'tracker.db'}",
        console_env(),
    ) as console:
        yield ConsoleSetup(console, HandoffStore(handoff))


@pytest.fixture(scope="module")
def coordinator(setup: ConsoleSetup) -> ConsoleClient:
    """Selin, an English-speaking coordinator (signed in over the API)."""
    return setup.user(COORDINATOR, language="en", name=COORDINATOR_NAME)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


# ---- helpers --------------------------------------------------------------------------------


def widget_shot(page: Page, step: str) -> None:
    page.screenshot(path=artifact(f"flow-widget-{step}.png"))


def console_shot(page: Page, step: str) -> None:
    page.screenshot(path=artifact(f"flow-console-{step}.png"))


def bot_bubbles(page: Page) -> Any:
    """The bot's own messages in the widget (not a person's)."""
    return page.locator(".hfs-messages .hfs-from-bot:not(.hfs-from-coordinator) .hfs-text")


def person_bubbles(page: Page) -> Any:
    return page.locator(".hfs-messages .hfs-from-coordinator")


def widget_says(page: Page, message: str) -> None:
    page.locator(".hfs-input").fill(message)
    page.locator(".hfs-input").press("Enter")


def new_bot_texts(page: Page, before: int, timeout: float = 40_000) -> list[str]:
    """Waits for the bot's reply to the last message; its new bubbles' texts."""
    expect(bot_bubbles(page)).not_to_have_count(before, timeout=timeout)
    expect(page.locator(".hfs-typing")).to_be_hidden(timeout=timeout)
    page.wait_for_timeout(500)  # a second bubble of the same turn
    return bot_bubbles(page).all_inner_texts()[before:]


def session_id_of(page: Page) -> str:
    return str(
        page.evaluate("() => Object.values(localStorage).map((v) => JSON.parse(v).sessionId)[0]")
    )


def ticket_of(coordinator: ConsoleClient, conversation_id: str) -> dict[str, Any]:
    [ticket] = [
        t
        for t in coordinator.get("/api/tickets").json()["tickets"]
        if t["conversation_id"] == conversation_id
    ]
    return ticket


def conversation(coordinator: ConsoleClient, conversation_id: str) -> dict[str, Any]:
    view = coordinator.get(f"/api/conversations/{conversation_id}")
    assert view.status_code == 200, view.text
    return dict(view.json())


def wait_for_user_event(bot: RunningBot, sender_id: str, count: int, timeout: float = 30) -> None:
    """Until the tracker holds `count` patient messages (a held conversation has no bot turn
    after them to wait for)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sum(e.get("event") == "user" for e in tracker_events(bot, sender_id)) >= count:
            return
        time.sleep(0.2)
    raise AssertionError(f"the patient's message #{count} never reached the tracker")


def patient_messages(bot: RunningBot, sender_id: str) -> int:
    return sum(e.get("event") == "user" for e in tracker_events(bot, sender_id))


def whatsapp_message_while_held(patient: Patient, body: str) -> None:
    """A WhatsApp message to a held conversation: stored, answered by nobody."""
    count = patient_messages(patient.bot, patient.wa_id)
    delivery = envelope(messages_value(patient.wa_id, patient.name, text(body)))
    assert deliver(patient.bot, delivery).status_code == 200
    wait_for_user_event(patient.bot, patient.wa_id, count + 1)


def backdate_conversation(bot: RunningBot, sender_id: str, seconds: float) -> None:
    """Moves every event of a conversation `seconds` into the past in the SQLite tracker store
    Rasa reads (both the `timestamp` column and the event's own JSON), as if the patient had
    written then: the only faithful way to put a real patient message outside WhatsApp's
    24-hour window, since Rasa itself always stamps events with the current time."""
    with sqlite3.connect(bot.workdir / "tracker.db") as db:
        rows = db.execute(
            "SELECT id, timestamp, data FROM events WHERE sender_id = ?", (sender_id,)
        ).fetchall()
        assert rows, "no events to backdate"
        for event_id, timestamp, data in rows:
            event = json.loads(data)
            event["timestamp"] = float(event["timestamp"]) - seconds
            db.execute(
                "UPDATE events SET timestamp = ?, data = ? WHERE id = ?",
                (float(timestamp) - seconds, json.dumps(event), event_id),
            )


def whatsapp_conversation_from_yesterday(bot: RunningBot, graph: FakeGraphApi, wa_id: str) -> None:
    """A Turkish WhatsApp patient who asked for a person (a real ticket) 25 hours ago."""
    patient = Patient(bot, graph, wa_id)
    assert patient.says("bir insanla konuşmak istiyorum") == [("utter_confirm_handoff", "tr")]
    assert patient.says("evet") == [("utter_handoff_created", "tr")]
    backdate_conversation(bot, wa_id, DAY + 3600)
    [latest] = [e for e in tracker_events(bot, wa_id) if e.get("event") == "user"][-1:]
    assert time.time() - latest["timestamp"] > DAY


def report(line: str) -> None:
    """A measurement: printed (seen with `-s`) and kept in tests/artifacts/flow-latencies.txt."""
    print(line)
    with artifact("flow-latencies.txt").open("a", encoding="utf-8") as log:
        log.write(f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} {line.strip()}\n")


def all_in(language: str, answers: list[tuple[str, str] | None]) -> bool:
    return bool(answers) and all(a is not None and a[1] == language for a in answers)


# ---- 1. the widget and the console, both in the browser ------------------------------------


def test_widget_patient_taken_over_in_the_console_and_handed_back_in_german(
    browser: Browser,
    flow_bot: RunningBot,
    clinic: Site,
    setup: ConsoleSetup,
    coordinator: ConsoleClient,
) -> None:
    console_context = browser.new_context(viewport=DESKTOP, locale="en-US")
    widget_context = browser.new_context(
        viewport=PHONE, locale="de-DE", is_mobile=True, has_touch=True
    )
    console, widget = console_context.new_page(), widget_context.new_page()
    errors: list[str] = []
    for page in (console, widget):
        page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        # the coordinator's queue is open
        sign_in(console, setup.console.url, COORDINATOR, f"{COORDINATOR}-password-1")
        expect(console.locator("#live")).to_have_class("live on")
        console_shot(console, "1-queue")

        # a German patient on a phone asks for a person and confirms
        widget.goto(clinic.origin + "/de")
        widget.locator(".hfs-launcher").click()
        expect(widget.locator(".hfs-panel")).to_be_visible()
        expect(widget.locator(".hfs-root")).to_have_attribute("lang", "de")
        widget_shot(widget, "1-open")
        widget_says(widget, "Ich möchte mit einem Menschen sprechen")
        replies = new_bot_texts(widget, 0)
        assert [which_response(t) for t in replies] == [("utter_confirm_handoff", "de")]
        widget_says(widget, "Ja")
        said_yes = time.monotonic()
        replies = new_bot_texts(widget, 1)
        assert [which_response(t) for t in replies] == [("utter_handoff_created", "de")]
        widget_shot(widget, "2-handoff")
        session = session_id_of(widget)

        # the ticket appears on the open queue page, no reload
        ticket_link = console.locator(f"a[href='/conversations/{session}']")
        expect(ticket_link).to_be_visible(timeout=15_000)
        report(
            f"\n[widget] ticket on the coordinator's open queue "
            f"{(time.monotonic() - said_yes) * 1000:.0f} ms after the patient's confirmation"
        )
        ticket = ticket_of(coordinator, session)
        assert (ticket["kind"], ticket["language"], ticket["channel"]) == (
            "handoff",
            "de",
            "socketio",
        )
        console_shot(console, "2-new-ticket")

        # the coordinator opens it and takes over; the patient reads, in German, who joined
        ticket_link.click()
        console.wait_for_url(f"**/conversations/{session}")
        expect(console.locator("#transcript .from-patient").first).to_contain_text(
            "Ich möchte mit einem Menschen sprechen"
        )
        console_shot(console, "3-conversation")
        bots_before = bot_bubbles(widget).count()
        console.click("#takeover")
        expect(console.locator("#hold-state")).to_contain_text("a person holds this conversation")
        expect(bot_bubbles(widget)).to_have_count(bots_before + 1, timeout=15_000)
        joined = bot_bubbles(widget).last.inner_text()
        assert which_response(joined) == ("utter_coordinator_joined", "de"), joined
        assert COORDINATOR_NAME in joined
        widget_shot(widget, "3-joined")
        console_shot(console, "4-held")

        # the patient writes: the bot stays silent, the coordinator sees it live
        patient_turns = console.locator("#transcript .from-patient")
        count = patient_turns.count()
        bots_before = bot_bubbles(widget).count()
        widget_says(widget, "Brauche ich vor der Reise ein MRT?")
        written = time.monotonic()
        expect(patient_turns).to_have_count(count + 1, timeout=15_000)
        to_coordinator = (time.monotonic() - written) * 1000
        report(f"[widget] patient's message → coordinator's screen: {to_coordinator:.0f} ms")
        expect(patient_turns.last).to_contain_text("Brauche ich vor der Reise ein MRT?")
        widget.wait_for_timeout(SILENCE_SECONDS * 1000)
        assert bot_bubbles(widget).count() == bots_before, "the bot answered a held conversation"
        widget_shot(widget, "4-patient-writes")
        console_shot(console, "5-patient-message-live")

        # a canned reply picked by its English label arrives in German, then free text
        console.select_option("#reply-select", label="I'll call you tomorrow")
        clicked = time.monotonic()
        console.click("#reply-form button[type=submit]")
        canned = content.replies()["call_tomorrow"].text["de"]
        expect(person_bubbles(widget).locator(".hfs-text")).to_have_text([canned], timeout=15_000)
        to_patient = (time.monotonic() - clicked) * 1000
        report(f"[widget] coordinator's reply → patient's widget: {to_patient:.0f} ms")
        free_text = "Guten Tag, hier ist Selin. Ich schaue mir Ihre Frage gleich an."
        console.fill("#message-text", free_text)
        console.click("#message-form button[type=submit]")
        expect(person_bubbles(widget).locator(".hfs-text")).to_have_text(
            [canned, free_text], timeout=15_000
        )
        for sender in person_bubbles(widget).locator(".hfs-sender").all_inner_texts():
            assert COORDINATOR_NAME in sender
        expect(console.locator("#transcript .from-coordinator")).to_have_count(2)
        assert bot_bubbles(widget).count() == bots_before  # both shown as a person, not the bot
        widget_shot(widget, "5-coordinator-replies")
        console_shot(console, "6-replies-sent")

        # after a reload both are still in the patient's history, still as a person's
        widget.reload()
        expect(widget.locator(".hfs-panel")).to_be_visible()
        expect(person_bubbles(widget).locator(".hfs-text")).to_have_text([canned, free_text])
        expect(person_bubbles(widget).locator(".hfs-sender").first).to_contain_text(
            COORDINATOR_NAME
        )
        widget_shot(widget, "6-after-reload")

        # hand back: the patient is told, in German, that the assistant is back
        bots_before = bot_bubbles(widget).count()
        console.click("#handback")
        expect(console.locator("#hold-state")).to_contain_text("The assistant is answering")
        expect(bot_bubbles(widget)).to_have_count(bots_before + 1, timeout=15_000)
        assert which_response(bot_bubbles(widget).last.inner_text()) == (
            "utter_coordinator_left",
            "de",
        )
        widget_shot(widget, "7-handed-back")
        console_shot(console, "7-handed-back")

        # and the bot answers the next question in German
        widget_says(widget, "Wie lange bleibe ich nach der Operation im Krankenhaus?")
        answers = [which_response(t) for t in new_bot_texts(widget, bots_before + 1)]
        assert all_in("de", answers), answers
        widget_shot(widget, "8-bot-answers")
        console.reload()
        expect(console.locator("#transcript .from-bot").last).to_be_visible()
        console_shot(console, "8-bot-answers")
        assert errors == []
    finally:
        console_context.close()
        widget_context.close()


# ---- 2. WhatsApp (Cloud API), the console driven through its HTTP API ----------------------


def test_whatsapp_patient_taken_over_and_the_24_hour_window_enforced(
    flow_bot: RunningBot, graph: FakeGraphApi, coordinator: ConsoleClient
) -> None:
    patient = Patient(flow_bot, graph, "905321270001", name="Test Hasta")
    assert patient.says("bir insanla konuşmak istiyorum") == [("utter_confirm_handoff", "tr")]
    assert patient.says("evet") == [("utter_handoff_created", "tr")]
    ticket = ticket_of(coordinator, patient.wa_id)
    assert (ticket["channel"], ticket["language"]) == ("whatsapp", "tr")

    # takeover: the patient gets the "joined" notice in Turkish through the Graph API
    assert coordinator.post(f"/api/conversations/{patient.wa_id}/takeover").status_code == 200
    [joined] = patient.new_replies()
    assert response_of(joined) == ("utter_coordinator_joined", "tr")
    assert COORDINATOR_NAME in joined["text"]["body"]

    # the patient writes: nothing is sent back; the console shows the turn, its topic, the window
    whatsapp_message_while_held(patient, "botoks işe yarıyor mu")
    time.sleep(SILENCE_SECONDS)
    assert patient.new_replies() == [], "the bot answered a held conversation"
    view = conversation(coordinator, patient.wa_id)
    assert view["paused"] and view["held_by"] == COORDINATOR and view["channel"] == "whatsapp"
    last = [t for t in view["turns"] if t["role"] == "patient"][-1]
    assert (last["text"], last["topic"]) == ("botoks işe yarıyor mu", "Botox injections")
    assert view["window"]["applies"] and view["window"]["open"]
    assert DAY - 120 < view["window"]["seconds_left"] <= DAY

    # canned reply and free text reach the Graph API as text messages
    reply = coordinator.post(f"/api/conversations/{patient.wa_id}/messages", {"reply": "send_mri"})
    assert reply.status_code == 200, reply.text
    free_text = "Merhaba, ben Selin. Sorunuza hemen bakıyorum."
    sent = coordinator.post(f"/api/conversations/{patient.wa_id}/messages", {"text": free_text})
    assert sent.status_code == 200, sent.text
    delivered = patient.new_replies()
    assert [(m["type"], m["text"]["body"]) for m in delivered] == [
        ("text", content.replies()["send_mri"].text["tr"]),
        ("text", free_text),
    ]

    # a conversation whose patient last wrote 25 hours ago: free text refused, template sent
    old = "905321270002"
    whatsapp_conversation_from_yesterday(flow_bot, graph, old)
    seen = len(graph.sent_to(old))
    view = conversation(coordinator, old)
    assert view["window"]["applies"] and not view["window"]["open"]
    refused = coordinator.post(f"/api/conversations/{old}/messages", {"text": "Merhaba"})
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"] == "window_closed"
    template = coordinator.post(
        f"/api/conversations/{old}/messages", {"template": "follow_up", "parameters": []}
    )
    assert template.status_code == 200, template.text
    templates = [m for m in graph.sent_to(old)[seen:] if m.get("type") == "template"]
    assert [m["template"]["name"] for m in templates] == ["follow_up"]
    assert templates[0]["template"]["language"] == {"code": "tr"}
    assert [m for m in graph.sent_to(old)[seen:] if m.get("type") == "text"] == []
    assert coordinator.post(f"/api/conversations/{old}/handback").status_code == 200

    # hand back: the bot says it is back, then answers the next question in Turkish
    assert coordinator.post(f"/api/conversations/{patient.wa_id}/handback").status_code == 200
    [back] = patient.new_replies()
    assert response_of(back) == ("utter_coordinator_left", "tr")
    answers = patient.says("ameliyattan sonra hastanede ne kadar kalırım")
    assert all_in("tr", answers), answers


# ---- 3. Twilio's WhatsApp -------------------------------------------------------------------


def test_twilio_patient_taken_over_and_handed_back(
    flow_bot: RunningBot, twilio_api: FakeTwilioApi, coordinator: ConsoleClient
) -> None:
    number = "whatsapp:+4915112370001"
    assert post_to_twilio(flow_bot, twilio_form(number, "Hallo")).status_code == 200
    seen = len(twilio_api.sent_to(number))
    assert seen >= 1  # the bot greeted

    assert coordinator.post(f"/api/conversations/{number}/takeover").status_code == 200
    [joined] = twilio_api.sent_to(number)[seen:]
    assert which_response(joined["Body"]) == ("utter_coordinator_joined", "de")

    count = patient_messages(flow_bot, number)
    form = twilio_form(number, "Brauche ich vor der Reise ein MRT?")
    assert post_to_twilio(flow_bot, form).status_code == 200
    wait_for_user_event(flow_bot, number, count + 1)
    time.sleep(SILENCE_SECONDS)
    assert [m["Body"] for m in twilio_api.sent_to(number)[seen + 1 :]] == [], "the bot answered"

    free_text = "Guten Tag, hier ist Selin aus dem Patiententeam."
    sent = coordinator.post(f"/api/conversations/{number}/messages", {"text": free_text})
    assert sent.status_code == 200, sent.text
    message = twilio_api.sent_to(number)[-1]
    assert (message["Body"], message["To"], message["From"]) == (free_text, number, TWILIO_NUMBER)
    turns = conversation(coordinator, number)["turns"]
    assert (turns[-1]["role"], turns[-1]["text"]) == ("coordinator", free_text)

    assert coordinator.post(f"/api/conversations/{number}/handback").status_code == 200
    assert which_response(twilio_api.sent_to(number)[-1]["Body"]) == (
        "utter_coordinator_left",
        "de",
    )
    before = len(twilio_api.sent_to(number))
    form = twilio_form(number, "Wie lange bleibe ich nach der Operation im Krankenhaus?")
    assert post_to_twilio(flow_bot, form).status_code == 200
    answers = [which_response(m["Body"]) for m in twilio_api.sent_to(number)[before:]]
    assert all_in("de", answers), answers


# ---- 4. the WhatsApp window in the console, in the browser ----------------------------------


def test_console_shows_the_whatsapp_window_and_blocks_free_text_outside_it(
    browser: Browser,
    flow_bot: RunningBot,
    graph: FakeGraphApi,
    setup: ConsoleSetup,
    coordinator: ConsoleClient,
) -> None:
    open_one, old_one = "966501270003", "905321270004"
    patient = Patient(flow_bot, graph, open_one, name="Test Patient")
    assert patient.send(text("مرحبا"))  # the bot greeted: a WhatsApp conversation, window open
    whatsapp_conversation_from_yesterday(flow_bot, graph, old_one)

    # bypass_csp only so that the test can inject axe; the console allows no inline script
    context = browser.new_context(viewport=DESKTOP, locale="en-US", bypass_csp=True)
    page = context.new_page()
    try:
        sign_in(page, setup.console.url, COORDINATOR, f"{COORDINATOR}-password-1")

        page.goto(f"{setup.console.url}/conversations/{open_one}")
        window = page.locator("#window")
        expect(window).to_have_class("window open")
        expect(window).to_contain_text("WhatsApp window: free text allowed for")
        expect(window).to_contain_text(re.compile(r"\d"))  # the time left
        expect(page.locator("#message-text")).to_be_enabled()
        expect(page.locator("#template-form")).to_be_visible()
        window.scroll_into_view_if_needed()
        page.screenshot(path=artifact("flow-console-whatsapp-window-open.png"))
        assert violations(page) == [], "conversation view, window open"

        page.goto(f"{setup.console.url}/conversations/{old_one}")
        expect(window).to_have_class("window closed")
        expect(window).to_contain_text("more than 24 hours old")
        expect(page.locator("#message-text")).to_be_disabled()
        expect(page.locator("#message-form button[type=submit]")).to_be_disabled()
        expect(page.locator("#reply-select")).to_be_disabled()
        expect(page.locator("#template-form")).to_be_visible()
        expect(page.locator("#template-select option")).to_have_count(len(content.templates()))
        expect(page.locator("#template-description")).not_to_be_empty()
        page.locator("#template-form").scroll_into_view_if_needed()
        page.screenshot(path=artifact("flow-console-whatsapp-window-closed.png"))
        assert violations(page) == [], "conversation view, window closed"

        # the template is sent from the page and reaches the Graph API as a template message
        seen = len(graph.sent_to(old_one))
        page.select_option("#template-select", "follow_up")
        page.click("#template-form button[type=submit]")
        graph.wait_until(lambda: len(graph.sent_to(old_one)) > seen, timeout=15)
        assert [m["type"] for m in graph.sent_to(old_one)[seen:]] == ["template"]
        expect(page.locator("#transcript .from-coordinator:not(.pending)")).to_contain_text(
            ["WhatsApp template follow_up"]
        )
        # no "joined" notice was attempted: WhatsApp would refuse its free text
        expect(page.locator("#transcript .pending")).to_have_count(0)
        expect(page.locator("#send-error")).to_be_empty()
        page.screenshot(path=artifact("flow-console-whatsapp-window-template-sent.png"))
    finally:
        context.close()
    for conversation_id in (open_one, old_one):
        assert coordinator.post(f"/api/conversations/{conversation_id}/handback").status_code == 200


def test_rasa_api_of_the_flow_bot_needs_its_token(flow_bot: RunningBot) -> None:
    answer = requests.get(f"{flow_bot.url}/conversations/anyone/tracker", timeout=10)
    assert answer.status_code == 401
