"""A coordinator's message in our widget (headless Chromium): shown as a person, with the
name and the team label, readable contrast, and still there after a reload."""

from __future__ import annotations

import re
import uuid
from typing import Iterator

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from tests.patients.test_endpoint import COORDINATOR, send
from tests.support.servers import RunningBot
from tests.support.widget import CHROMIUM, CHROMIUM_ARGS, artifact, clinic_page, running_site


def luminance(css_color: str) -> float:
    red, green, blue = (int(v) / 255 for v in re.findall(r"\d+", css_color)[:3])
    linear = [
        c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in (red, green, blue)
    ]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(foreground: str, background: str) -> float:
    lighter, darker = sorted([luminance(foreground), luminance(background)], reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


@pytest.fixture
def page(patients_bot: RunningBot) -> Iterator[Page]:
    with running_site() as site, sync_playwright() as playwright:
        site.pages["/"] = clinic_page(f"{patients_bot.url}/widget/widget.js")
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-US")
        page = context.new_page()
        page.goto(site.origin + "/")
        yield page
        context.close()
        browser.close()


def test_a_coordinators_message_is_shown_as_a_person_and_kept_across_reloads(
    patients_bot: RunningBot, page: Page
) -> None:
    page.locator(".hfs-launcher").click()
    page.locator(".hfs-input").fill("hello")
    page.locator(".hfs-input").press("Enter")
    expect(page.locator(".hfs-messages .hfs-from-bot .hfs-text")).to_have_count(1, timeout=40_000)
    session = str(
        page.evaluate("() => Object.values(localStorage).map((v) => JSON.parse(v).sessionId)[0]")
    )
    body = {
        "conversation_id": session,
        "message_id": f"c-{uuid.uuid4().hex}",
        "text": "Hello, I'm Ayşe from the patient team.",
        "sender": COORDINATOR,
    }
    assert send(patients_bot, body).status_code == 200

    person = page.locator(".hfs-messages .hfs-from-coordinator")
    expect(person.locator(".hfs-sender")).to_have_text("Ayşe · clinic team", timeout=10_000)
    expect(person.locator(".hfs-text")).to_have_text("Hello, I'm Ayşe from the patient team.")
    page.screenshot(path=artifact("widget-coordinator-message.png"))
    colours = person.locator(".hfs-text").evaluate(
        "(e) => [getComputedStyle(e).color, getComputedStyle(e).backgroundColor]"
    )
    assert contrast(*colours) >= 4.5
    name_colour = person.locator(".hfs-sender").evaluate("(e) => getComputedStyle(e).color")
    panel = page.locator(".hfs-log").evaluate("(e) => getComputedStyle(e).backgroundColor")
    assert (
        contrast(name_colour, panel if "0, 0, 0, 0" not in panel else "rgb(255, 255, 255)") >= 4.5
    )

    page.reload()
    expect(page.locator(".hfs-panel")).to_be_visible()
    expect(page.locator(".hfs-from-coordinator .hfs-sender")).to_have_text("Ayşe · clinic team")
    # the bot's own messages are not marked
    expect(page.locator(".hfs-from-bot:not(.hfs-from-coordinator) .hfs-sender")).to_have_count(0)
