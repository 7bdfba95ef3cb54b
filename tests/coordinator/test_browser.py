"""The console in headless Chromium against the real bot: sign in, a new ticket appears in
the open queue without a reload (with the alert), the conversation view, take over, the
patient's message shows up live, a canned reply, hand back. Screenshots at phone and desktop
size go to tests/artifacts/ and docs/images/coordinators/; axe-core audits every page."""

from __future__ import annotations

import re
import time
from typing import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from actions.handoff_store import HandoffStore
from tests.coordinator.conftest import ConsoleSetup, console_env
from tests.support.chat import RestChat
from tests.support.servers import ROOT, RunningBot, running_console
from tests.support.widget import CHROMIUM, CHROMIUM_ARGS, artifact

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
AXE = ROOT / "tests" / ".npm" / "node_modules" / "axe-core" / "axe.min.js"
DOC_IMAGES = ROOT / "docs" / "images" / "coordinators"
TR = {"language": "tr"}
XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def setup(bot: RunningBot, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleSetup]:
    workdir = tmp_path_factory.mktemp("console-browser")
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
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def selin(setup: ConsoleSetup) -> str:
    setup.user("selin", language="en", name="Selin")
    return "selin-password-1"


def shot(page: Page, name: str) -> None:
    """A screenshot kept as a test artifact; `make doc-screenshots` copies them into docs/."""
    page.screenshot(path=artifact(f"console-{name}.png"), full_page=False)


def sign_in(page: Page, url: str, username: str, password: str) -> None:
    page.goto(url + "/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url("**/queue")


def new_context(browser: Browser, viewport: dict[str, int], **extra: object) -> BrowserContext:
    return browser.new_context(viewport=viewport, locale="en-US", **extra)  # type: ignore[arg-type]


def test_coordinator_takes_over_a_widget_patient_live(
    browser: Browser, bot: RunningBot, setup: ConsoleSetup, selin: str
) -> None:
    context = new_context(browser, DESKTOP)
    page = context.new_page()
    errors: list[str] = []
    dialogs: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    sign_in(page, setup.console.url, "selin", selin)
    expect(page.locator("#live")).to_have_class("live on")
    shot(page, "queue-desktop")

    chat = RestChat(bot.url)
    chat.answers("bir insanla konuşmak istiyorum", TR)
    chat.answers("evet", TR)
    started = time.monotonic()
    ticket = page.locator(f"a[href='/conversations/{chat.sender}']")
    expect(ticket).to_be_visible(timeout=15_000)  # no reload: the SSE stream brought it
    print(f"\nnew ticket on the open queue page after {(time.monotonic() - started) * 1000:.0f} ms")
    assert page.evaluate("window.__alerts") >= 1  # the beep and notification fired
    shot(page, "queue-new-ticket-desktop")

    ticket.click()
    page.wait_for_url(f"**/conversations/{chat.sender}")
    expect(page.locator("#transcript .from-patient").first).to_contain_text(
        "bir insanla konuşmak istiyorum"
    )
    expect(page.locator("#transcript .from-patient .topic").first).to_contain_text(
        "Asks for a person"
    )
    expect(page.locator("#transcript .from-bot .translation").first).to_be_visible()
    shot(page, "conversation-desktop")

    page.click("#takeover")
    expect(page.locator("#hold-state")).to_contain_text("a person holds this conversation")
    count = page.locator("#transcript .from-patient").count()
    sent = time.monotonic()
    assert chat.send("botoks işe yarıyor mu") == []  # the bot is silent
    expect(page.locator("#transcript .from-patient")).to_have_count(count + 1, timeout=15_000)
    print(
        f"patient message on the coordinator's screen after {(time.monotonic() - sent) * 1000:.0f} ms"
    )
    expect(page.locator("#transcript .from-patient").last).to_contain_text("Botox injections")
    assert chat.send(XSS) == []
    expect(page.locator("#transcript .from-patient .text").last).to_have_text(XSS)  # shown as text
    assert page.locator("#transcript img").count() == 0

    page.select_option("#reply-select", "call_tomorrow")
    page.click("#reply-form button[type=submit]")
    expect(page.locator("#transcript .from-coordinator").last).to_contain_text(
        "Konuyu görüşmek için sizi yarın arayacağım"
    )
    shot(page, "conversation-reply-desktop")

    page.set_viewport_size(PHONE)
    shot(page, "conversation-phone")
    page.goto(setup.console.url + "/queue")
    expect(page.locator(f"a[href='/conversations/{chat.sender}']")).to_be_visible()
    shot(page, "queue-phone")

    page.goto(setup.console.url + f"/conversations/{chat.sender}")
    page.click("#handback")
    expect(page.locator("#hold-state")).to_contain_text("The assistant is answering")
    assert errors == []
    assert dialogs == []  # no script from a patient's message ever ran
    context.close()


def violations(page: Page) -> list[dict[str, object]]:
    assert AXE.exists(), f"{AXE} is missing: run `make test-deps`"
    page.add_script_tag(path=str(AXE))
    found = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 3)}))"
    )
    return [v for v in found if v["impact"] in ("serious", "critical")]


def test_every_console_page_passes_axe(
    browser: Browser, bot: RunningBot, setup: ConsoleSetup
) -> None:
    chat = RestChat(bot.url)
    chat.answers("bir insanla konuşmak istiyorum", TR)
    chat.answers("evet", TR)
    # bypass_csp only so that the test can inject axe; the console itself allows no inline script
    context = new_context(browser, DESKTOP, bypass_csp=True)
    page = context.new_page()
    page.goto(setup.console.url + "/login")
    assert violations(page) == [], "login"
    sign_in(page, setup.console.url, "admin", "admin-password-123")
    pages = [
        "/queue",
        f"/conversations/{chat.sender}",
        "/account",
        "/stats",
        "/users",
        "/audit",
        "/privacy",
    ]
    for path in pages:
        page.goto(setup.console.url + path)
        page.wait_for_load_state("networkidle") if path != "/queue" and not path.startswith(
            "/conv"
        ) else page.wait_for_timeout(1500)
        assert violations(page) == [], path
        if path in ("/stats", "/users", "/audit", "/privacy"):
            shot(page, path.strip("/") + "-desktop")
    page.set_viewport_size(PHONE)
    for path in ("/queue", f"/conversations/{chat.sender}"):
        page.goto(setup.console.url + path)
        page.wait_for_timeout(1500)
        assert violations(page) == [], path + " (phone)"
    context.close()


def test_arabic_console_is_right_to_left(browser: Browser, setup: ConsoleSetup) -> None:
    setup.user("omar", language="ar", name="Omar")
    context = new_context(browser, PHONE)
    page = context.new_page()
    sign_in(page, setup.console.url, "omar", "omar-password-1")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.locator("html")).to_have_attribute("lang", "ar")
    expect(page.locator("h1")).to_have_text("قائمة الانتظار")
    shot(page, "queue-ar-phone")
    context.close()


def test_widget_demo_page_passes_axe(browser: Browser, bot: RunningBot) -> None:
    context = new_context(browser, DESKTOP, bypass_csp=True)
    page = context.new_page()
    page.goto(bot.url + "/widget/demo.html")
    page.locator(".hfs-launcher").click()
    expect(page.locator(".hfs-panel")).to_be_visible()
    assert violations(page) == [], "widget demo"
    context.close()


def test_every_screenshot_the_doc_shows_exists() -> None:
    doc = (ROOT / "docs" / "coordinators.md").read_text(encoding="utf-8")
    shown = re.findall(r"\(images/coordinators/([\w.-]+\.png)\)", doc)
    assert shown
    assert [name for name in shown if not (DOC_IMAGES / name).exists()] == []
