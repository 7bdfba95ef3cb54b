"""The widget in headless Chromium on a clinic page of another origin, against the real bot.

Each test saves screenshots of its states under tests/artifacts/ (git-ignored).
Playwright's sync API runs here in plain (not async) test functions.
"""

from __future__ import annotations

from typing import Iterator

import pytest
import requests
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from tests.support.chat import which_response
from tests.support.servers import RunningBot
from tests.support.widget import CHROMIUM, CHROMIUM_ARGS, Site, TcpProxy, artifact, clinic_page

XSS = "<img src=x onerror=alert(1)>"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 667}


class WidgetPage:
    """The clinic page with the widget, driven as a visitor would."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        page.on("dialog", lambda dialog: (self.dialogs.append(dialog.message), dialog.dismiss()))
        page.on("pageerror", lambda error: self.errors.append(str(error)))

    def visit(self, url: str) -> WidgetPage:
        self.page.goto(url)
        expect(self.launcher).to_be_visible()
        return self

    @property
    def launcher(self):  # type: ignore[no-untyped-def]
        return self.page.locator(".hfs-launcher")

    @property
    def panel(self):  # type: ignore[no-untyped-def]
        return self.page.locator(".hfs-panel")

    @property
    def input(self):  # type: ignore[no-untyped-def]
        return self.page.locator(".hfs-input")

    def open(self) -> WidgetPage:
        self.launcher.click()
        expect(self.panel).to_be_visible()
        return self

    def wait_for_replies(self) -> None:
        expect(self.page.locator(".hfs-typing")).to_be_hidden(timeout=40_000)

    def ask(self, text: str) -> list[str]:
        """Types a message, sends it with Enter and returns the bot's new messages."""
        before = self.bot_texts()
        self.input.fill(text)
        self.input.press("Enter")
        self.wait_for_replies()
        return self.bot_texts()[len(before) :]

    def bot_texts(self) -> list[str]:
        return self.page.locator(".hfs-messages .hfs-from-bot .hfs-text").all_inner_texts()

    def user_texts(self) -> list[str]:
        return self.page.locator(".hfs-messages .hfs-from-user .hfs-text").all_inner_texts()

    def screenshot(self, name: str) -> None:
        self.page.screenshot(path=artifact(f"widget-{name}.png"))


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context(viewport=DESKTOP, locale="en-US")
    yield context
    context.close()


@pytest.fixture
def widget(context: BrowserContext, widget_bot: RunningBot) -> Iterator[WidgetPage]:
    widget = WidgetPage(context.new_page())
    yield widget
    assert widget.errors == [], "JavaScript errors on the page"
    assert widget.dialogs == [], "the page opened a dialog (script injection?)"


def session_id_of(page: Page) -> str:
    """The session id the widget keeps in the clinic site's localStorage."""
    return str(
        page.evaluate("() => Object.values(localStorage).map((v) => JSON.parse(v).sessionId)[0]")
    )


def responses(texts: list[str]) -> list[tuple[str, str] | None]:
    return [which_response(text) for text in texts]


def test_english_question_is_answered_on_a_page_of_another_origin(
    widget: WidgetPage, clinic: Site, widget_bot: RunningBot
) -> None:
    assert clinic.origin != widget_bot.url
    widget.visit(clinic.origin + "/").screenshot("closed")
    widget.open()
    expect(widget.page.locator(".hfs-root")).to_have_attribute("dir", "ltr")
    widget.screenshot("open-en")
    replies = widget.ask("What is hemifacial spasm?")
    assert responses(replies) == [("utter_medical_disclaimer", "en"), ("utter_what_is_hfs", "en")]
    widget.screenshot("answer-en")


def test_arabic_page_shows_the_widget_right_to_left_and_answers_in_arabic(
    widget: WidgetPage, clinic: Site
) -> None:
    widget.visit(clinic.origin + "/ar").open()
    root = widget.page.locator(".hfs-root")
    expect(root).to_have_attribute("dir", "rtl")
    expect(root).to_have_attribute("lang", "ar")
    expect(widget.input).to_have_attribute("placeholder", "اكتبوا سؤالكم…")
    replies = widget.ask("ما هو التشنج النصفي للوجه؟")
    assert responses(replies) == [("utter_medical_disclaimer", "ar"), ("utter_what_is_hfs", "ar")]
    widget.screenshot("answer-ar")


def test_language_picked_in_the_header_relabels_the_widget_and_reaches_the_bot(
    widget: WidgetPage, clinic: Site
) -> None:
    widget.visit(clinic.origin + "/").open()
    widget.page.locator(".hfs-language").select_option("ar")
    expect(widget.page.locator(".hfs-root")).to_have_attribute("dir", "rtl")
    expect(widget.page.locator(".hfs-human")).to_have_text("التحدث مع أحد موظفينا")
    # "hello" alone would be English: the picked language travels in the metadata
    assert responses(widget.ask("hello")) == [("utter_greet", "ar")]
    widget.screenshot("picked-ar")


def test_quick_reply_click_sends_its_payload_and_shows_its_title(
    widget: WidgetPage, clinic: Site
) -> None:
    widget.visit(clinic.origin + "/").open()
    assert responses(widget.ask("hello")) == [("utter_greet", "en")]
    choices = widget.page.locator(".hfs-quick-replies .hfs-choice")
    expect(choices).to_have_count(6)
    widget.screenshot("quick-replies")
    choices.filter(has_text="Deutsch").click()
    widget.wait_for_replies()
    assert widget.user_texts() == ["hello", "Deutsch"]
    assert responses(widget.bot_texts()[-1:]) == [("utter_language_changed", "de")]
    expect(widget.page.locator(".hfs-quick-replies")).to_have_count(0)
    widget.screenshot("quick-reply-clicked")


def test_conversation_survives_reload_and_navigation(widget: WidgetPage, clinic: Site) -> None:
    widget.visit(clinic.origin + "/").open()
    widget.ask("What causes hemifacial spasm?")
    before_user, before_bot = widget.user_texts(), widget.bot_texts()
    widget.page.reload()
    expect(widget.panel).to_be_visible()
    assert (widget.user_texts(), widget.bot_texts()) == (before_user, before_bot)
    widget.page.get_by_role("link", name="Our doctors").click()
    expect(widget.panel).to_be_visible()
    assert (widget.user_texts(), widget.bot_texts()) == (before_user, before_bot)
    widget.screenshot("after-navigation")
    # the same conversation on the server: the disclaimer is not shown a second time
    assert responses(widget.ask("And how is it diagnosed?")) == [("utter_diagnosis", "en")]


def test_markup_typed_by_the_patient_is_shown_as_text(widget: WidgetPage, clinic: Site) -> None:
    widget.visit(clinic.origin + "/").open()
    widget.ask(XSS)
    assert widget.user_texts() == [XSS]
    expect(widget.page.locator(".hfs-messages img")).to_have_count(0)
    widget.screenshot("xss-typed")


def test_bot_text_is_escaped_with_bold_links_images_and_buttons(
    widget: WidgetPage, clinic: Site, widget_bot: RunningBot
) -> None:
    """A coordinator's message through Rasa's HTTP API reaches the widget's room."""
    widget.visit(clinic.origin + "/").open()
    widget.ask("hello")
    session_id = session_id_of(widget.page)
    text = (
        f"**Dr. Demir** will call you. {XSS} See [our page](https://clinic.example/hfs), "
        "https://clinic.example/contact and [this](javascript:alert(1))."
    )
    events = [
        {"event": "bot", "text": text},
        {"event": "bot", "data": {"image": f"{clinic.origin}/photo.png"}},
        {
            "event": "bot",
            "text": "Shall we book?",
            "data": {
                "buttons": [{"title": "Book a consultation", "payload": "/book_consultation"}]
            },
        },
    ]
    response = requests.post(
        f"{widget_bot.url}/conversations/{session_id}/tracker/events",
        params={
            "token": widget_bot.auth_token,
            "output_channel": "socketio",
            "execute_side_effects": "true",
        },
        json=events,
        timeout=30,
    )
    response.raise_for_status()
    message = widget.page.locator(".hfs-from-bot .hfs-text").filter(has_text="Dr. Demir")
    expect(message).to_have_count(1)
    expect(message.locator("strong")).to_have_text("Dr. Demir")
    links = message.locator("a")
    expect(links).to_have_count(2)
    assert [links.nth(i).get_attribute("href") for i in range(2)] == [
        "https://clinic.example/hfs",
        "https://clinic.example/contact",
    ]
    assert links.first.get_attribute("rel") == "noopener noreferrer nofollow"
    assert XSS in message.inner_text() and "[this](javascript:alert(1))" in message.inner_text()
    image = widget.page.locator(".hfs-messages img")
    expect(image).to_have_count(1)
    assert image.get_attribute("src") == f"{clinic.origin}/photo.png"
    widget.screenshot("bot-markup")
    widget.page.locator(".hfs-choice", has_text="Book a consultation").click()
    widget.wait_for_replies()
    assert widget.user_texts()[-1] == "Book a consultation"
    assert responses(widget.bot_texts()[-1:]) == [("utter_ask_booking_consent", "en")]


def test_talk_to_a_person_reaches_the_bot(widget: WidgetPage, clinic: Site) -> None:
    widget.visit(clinic.origin + "/").open()
    widget.page.get_by_role("button", name="Talk to a person").click()
    widget.wait_for_replies()
    assert widget.user_texts() == ["Talk to a person"]
    assert responses(widget.bot_texts()) == [("utter_confirm_handoff", "en")]
    widget.screenshot("talk-to-a-person")


def test_privacy_notice_links_to_the_clinic_policy(widget: WidgetPage, clinic: Site) -> None:
    widget.visit(clinic.origin + "/").open()
    link = widget.page.get_by_role("link", name="Privacy policy")
    expect(link).to_have_attribute("href", clinic.origin + "/privacy")


def test_widget_works_with_the_keyboard_only(widget: WidgetPage, clinic: Site) -> None:
    widget.visit(clinic.origin + "/")
    page = widget.page
    for _ in range(10):  # Tab through the page until the launcher has the focus
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.id") == "hfs-chat-widget":
            break
    expect(page.get_by_role("button", name="Open chat")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("dialog", name="Patient assistant")).to_be_visible()
    expect(widget.input).to_be_focused()
    page.keyboard.type("What are the symptoms?")
    page.keyboard.press("Enter")
    widget.wait_for_replies()
    assert responses(widget.bot_texts())[-1] == ("utter_symptoms", "en")
    expect(page.get_by_role("log", name="Conversation")).to_be_visible()
    widget.screenshot("keyboard")
    page.keyboard.press("Escape")
    expect(widget.panel).to_be_hidden()
    expect(page.get_by_role("button", name="Open chat")).to_be_focused()


def test_widget_fills_a_phone_screen_without_horizontal_scrolling(
    browser: Browser, clinic: Site, widget_bot: RunningBot
) -> None:
    context = browser.new_context(viewport=PHONE, locale="ar", is_mobile=True, has_touch=True)
    try:
        widget = WidgetPage(context.new_page()).visit(clinic.origin + "/")
        widget.screenshot("phone-closed")
        widget.open()
        box = widget.panel.bounding_box()
        assert box == {"x": 0, "y": 0, "width": PHONE["width"], "height": PHONE["height"]}
        expect(widget.page.locator(".hfs-root")).to_have_attribute("dir", "rtl")  # browser language
        widget.ask("ما هو التشنج النصفي للوجه؟")
        overflow = widget.page.locator(".hfs-log").evaluate(
            "log => log.scrollWidth - log.clientWidth"
        )
        assert overflow == 0
        expect(widget.input).to_be_in_viewport()
        widget.screenshot("phone-ar")
    finally:
        context.close()


def test_a_page_of_an_origin_that_is_not_allowed_cannot_connect(
    widget: WidgetPage, elsewhere: Site
) -> None:
    widget.visit(elsewhere.origin + "/").open()
    status = widget.page.locator(".hfs-status")
    expect(status).to_have_text("The chat is unavailable right now. Please try again later.")
    widget.screenshot("origin-refused")


def test_reconnects_after_a_network_drop_and_sends_nothing_twice(
    widget: WidgetPage, clinic: Site, widget_bot: RunningBot
) -> None:
    proxy = TcpProxy(int(widget_bot.url.rsplit(":", 1)[1]))
    try:
        clinic.pages["/via-proxy"] = clinic_page(
            f"{widget_bot.url}/widget/widget.js", server_url=proxy.url
        )
        widget.visit(clinic.origin + "/via-proxy").open()
        assert responses(widget.ask("What is hemifacial spasm?"))[-1] == ("utter_what_is_hfs", "en")
        proxy.cut()
        expect(widget.page.locator(".hfs-status")).to_have_text("Connection lost. Reconnecting…")
        widget.input.fill("What causes hemifacial spasm?")
        widget.input.press("Enter")  # sent while offline: queued
        expect(widget.page.locator(".hfs-typing")).to_be_visible()
        widget.screenshot("offline")
        proxy.restore()
        expect(widget.page.locator(".hfs-status")).to_be_hidden(timeout=30_000)
        widget.wait_for_replies()
        assert widget.user_texts() == ["What is hemifacial spasm?", "What causes hemifacial spasm?"]
        assert responses(widget.bot_texts())[-1] == ("utter_causes", "en")
        assert responses(widget.bot_texts()).count(("utter_causes", "en")) == 1
        session_id = session_id_of(widget.page)
        tracker = requests.get(
            f"{widget_bot.url}/conversations/{session_id}/tracker",
            params={"token": widget_bot.auth_token},
            timeout=30,
        ).json()
        said = [e["text"] for e in tracker["events"] if e["event"] == "user"]
        assert said == ["What is hemifacial spasm?", "What causes hemifacial spasm?"]
        widget.screenshot("reconnected")
    finally:
        proxy.close()


def test_the_demo_page_served_by_the_bot_shows_the_widget(
    widget: WidgetPage, widget_bot: RunningBot
) -> None:
    widget.visit(f"{widget_bot.url}/widget/demo.html").open()
    expect(widget.page.get_by_role("link", name="Privacy policy")).to_be_visible()
    assert responses(widget.ask("hello")) == [("utter_greet", "en")]
    widget.screenshot("demo-page")


def test_session_id_is_fresh_for_every_visitor(
    browser: Browser, clinic: Site, widget_bot: RunningBot
) -> None:
    ids = set()
    for _ in range(2):
        context = browser.new_context(viewport=DESKTOP)
        try:
            widget = WidgetPage(context.new_page()).visit(clinic.origin + "/").open()
            widget.ask("hello")
            ids.add(session_id_of(widget.page))
        finally:
            context.close()
    assert len(ids) == 2 and all(isinstance(i, str) and len(i) >= 16 for i in ids)


def test_widget_leaves_the_clinic_page_s_own_scripts_alone(
    widget: WidgetPage, clinic: Site, widget_bot: RunningBot
) -> None:
    """A page with its own `window.io` and an AMD loader keeps both; the widget still works."""
    page_scripts = (
        "<script>window.io = 'clinic'; window.define = function () { window.defined = true; };"
        " window.define.amd = {};</script>"
    )
    html = clinic_page(f"{widget_bot.url}/widget/widget.js")
    clinic.pages["/with-amd"] = html.replace("<body>", "<body>" + page_scripts)
    widget.visit(clinic.origin + "/with-amd").open()
    assert responses(widget.ask("hello")) == [("utter_greet", "en")]
    assert widget.page.evaluate("() => [window.io, window.defined === undefined]") == [
        "clinic",
        True,
    ]


def test_title_and_colours_come_from_the_script_tag(
    widget: WidgetPage, clinic: Site, widget_bot: RunningBot
) -> None:
    clinic.pages["/branded"] = clinic_page(
        f"{widget_bot.url}/widget/widget.js",
        title_="Anadolu Clinic",
        primary_color="#7a1f5c",
        primary_text_color="rgb(255, 240, 200)",
    )
    widget.visit(clinic.origin + "/branded").open()
    expect(widget.page.get_by_role("dialog", name="Anadolu Clinic")).to_be_visible()
    header = widget.page.locator(".hfs-header")
    expect(header).to_have_css("background-color", "rgb(122, 31, 92)")
    expect(header).to_have_css("color", "rgb(255, 240, 200)")
    widget.screenshot("branded")


def test_a_new_conversation_forgets_the_old_one_here_and_on_the_server(
    widget: WidgetPage, clinic: Site
) -> None:
    """On a shared computer the next visitor must not see the previous conversation."""
    widget.visit(clinic.origin + "/").open()
    widget.ask("What causes hemifacial spasm?")
    first_session = session_id_of(widget.page)
    widget.page.get_by_role("button", name="Start a new conversation").click()
    expect(widget.page.locator(".hfs-messages .hfs-message")).to_have_count(0)
    expect(widget.input).to_be_focused()
    # a new conversation on the server too: the disclaimer comes again
    replies = widget.ask("What causes hemifacial spasm?")
    assert responses(replies) == [("utter_medical_disclaimer", "en"), ("utter_causes", "en")]
    assert session_id_of(widget.page) != first_session
    widget.page.reload()
    expect(widget.panel).to_be_visible()
    assert widget.user_texts() == ["What causes hemifacial spasm?"]
