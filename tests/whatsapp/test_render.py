"""Rasa bot messages rendered as WhatsApp Cloud API messages, within WhatsApp's limits."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.channels.whatsapp.render import (
    BUTTONS_BODY_MAX,
    TEXT_MAX,
    render_message,
    split_text,
)


def buttons(*titles: str) -> list[dict[str, str]]:
    return [{"title": title, "payload": f"/choice_{i}"} for i, title in enumerate(titles)]


def test_short_text_is_one_text_message_without_link_preview() -> None:
    [message] = render_message({"text": "Hello"}, "en")
    assert message.body == {"type": "text", "text": {"body": "Hello", "preview_url": False}}


def test_long_text_is_split_between_sentences() -> None:
    sentence = "Botox injections are repeated every few months. "
    parts = [m.body["text"]["body"] for m in render_message({"text": sentence * 200}, "en")]
    assert len(parts) > 1 and all(len(p) <= TEXT_MAX for p in parts)
    assert all(p.endswith("months.") for p in parts)
    assert " ".join(parts) == (sentence * 200).strip()


@settings(max_examples=60, deadline=None)
@given(st.text(min_size=1, max_size=12_000), st.integers(min_value=20, max_value=5000))
def test_split_text_never_exceeds_the_limit_and_keeps_every_word(text: str, limit: int) -> None:
    parts = split_text(text, limit)
    assert all(0 < len(p) <= limit for p in parts)
    assert "".join("".join(parts).split()) == "".join(text.split())


def test_up_to_three_short_buttons_are_reply_buttons() -> None:
    [message] = render_message(
        {"text": "Shall I?", "buttons": buttons("Yes, please", "Not now")}, "en"
    )
    interactive = message.body["interactive"]
    assert interactive["type"] == "button"
    assert [b["reply"] for b in interactive["action"]["buttons"]] == [
        {"id": "/choice_0", "title": "Yes, please"},
        {"id": "/choice_1", "title": "Not now"},
    ]
    assert interactive["body"] == {"text": "Shall I?"}


def test_a_button_title_over_twenty_characters_makes_a_list_with_the_full_title() -> None:
    [message] = render_message(
        {"text": "Wie?", "buttons": buttons("Mit einem Koordinator sprechen", "Nein")}, "de"
    )
    interactive = message.body["interactive"]
    assert interactive["type"] == "list"
    assert interactive["action"]["button"] == "Optionen ansehen"
    rows = interactive["action"]["sections"][0]["rows"]
    assert rows[0] == {
        "id": "/choice_0",
        "title": "Mit einem Koordinator s…",
        "description": "Mit einem Koordinator sprechen",
    }
    assert rows[1] == {"id": "/choice_1", "title": "Nein"}


def test_up_to_ten_buttons_are_a_list_labelled_in_the_message_language() -> None:
    [message] = render_message(
        {"text": "Hangi dili tercih edersiniz?", "buttons": buttons(*"abcdef")}
    )
    interactive = message.body["interactive"]
    assert interactive["type"] == "list"
    assert interactive["action"]["button"] == "Seçenekleri görün"
    assert len(interactive["action"]["sections"][0]["rows"]) == 6


def test_more_than_ten_buttons_are_a_numbered_menu_remembering_the_payloads() -> None:
    [message] = render_message(
        {"text": "Choose:", "buttons": buttons(*[f"Option {i}" for i in range(12)])}, "en"
    )
    body = message.body["text"]["body"]
    assert body.startswith("Choose:\n\n1. Option 0\n2. Option 1\n")
    assert body.endswith("12. Option 11\n\nPlease reply with the number of your choice.")
    assert message.menu == tuple(f"/choice_{i}" for i in range(12))


def test_duplicate_titles_fall_back_to_a_numbered_menu() -> None:
    [message] = render_message({"text": "?", "buttons": buttons("Same", "Same")}, "en")
    assert message.body["type"] == "text" and len(message.menu) == 2


def test_a_long_text_with_buttons_sends_the_text_first_and_keeps_the_body_within_limits() -> None:
    text = "This is a sentence about the treatment. " * 60
    messages = render_message({"text": text, "buttons": buttons("Yes", "No")}, "en")
    assert [m.body["type"] for m in messages] == ["text", "interactive"]
    assert len(messages[-1].body["interactive"]["body"]["text"]) <= BUTTONS_BODY_MAX


def test_buttons_without_text_get_the_hint_as_body() -> None:
    [message] = render_message({"buttons": buttons("Ja", "Nein")}, "de")
    assert (
        message.body["interactive"]["body"]["text"]
        == "Bitte antworten Sie mit der Nummer Ihrer Wahl."
    )


def test_link_buttons_are_written_into_the_text() -> None:
    [message] = render_message(
        {"text": "Our clinic:", "buttons": [{"title": "Website", "url": "https://example.org"}]},
        "en",
    )
    assert message.body["text"]["body"] == "Our clinic:\nWebsite: https://example.org"


def test_image_attachment_and_custom_whatsapp_messages() -> None:
    messages = render_message(
        {
            "text": "See:",
            "image": "https://example.org/a.png",
            "attachment": "https://example.org/a.pdf",
            "custom": {
                "whatsapp": {"type": "location", "location": {"latitude": 1, "longitude": 2}}
            },
        },
        "en",
    )
    assert [m.body["type"] for m in messages] == ["text", "image", "document", "location"]
    assert messages[1].body["image"] == {"link": "https://example.org/a.png"}


@pytest.mark.parametrize("custom", [{"foo": 1}, {"whatsapp": "x"}, {"whatsapp": {"no": "type"}}])
def test_other_custom_payloads_are_not_sent(custom: dict) -> None:
    assert render_message({"custom": custom}, "en") == []
