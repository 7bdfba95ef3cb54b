"""Parsing Meta's webhook payloads (documented examples) into the channel's records."""

from __future__ import annotations

import pytest

from bot.channels.whatsapp.payloads import Handling, MalformedDelivery, parse_delivery
from tests.support.whatsapp import (
    PHONE_NUMBER_ID,
    button_reply,
    envelope,
    list_reply,
    location,
    media,
    messages_value,
    reaction,
    statuses,
    text,
    unsupported,
)

WA_ID = "16505551234"


def parse_one(message: dict) -> object:
    delivery = parse_delivery(
        envelope(messages_value(WA_ID, "Sheena Nelson", message)), PHONE_NUMBER_ID
    )
    [parsed] = delivery.messages
    return parsed


def test_text_message_is_read_with_sender_name_and_id() -> None:
    message = text("Hello")
    parsed = parse_one(message)
    assert (parsed.handling, parsed.text, parsed.wa_id, parsed.profile_name, parsed.message_id) == (
        Handling.TEXT,
        "Hello",
        WA_ID,
        "Sheena Nelson",
        message["id"],
    )


@pytest.mark.parametrize(
    "reply", [button_reply("/book_consultation", "Book"), list_reply("/book_consultation", "Book")]
)
def test_button_and_list_replies_carry_their_id_as_payload(reply: dict) -> None:
    parsed = parse_one(reply)
    assert (parsed.handling, parsed.payload) == (Handling.PAYLOAD, "/book_consultation")


def test_template_quick_reply_button_with_our_payload_is_a_payload_else_text() -> None:
    ours = {
        "id": "wamid.b1",
        "type": "button",
        "button": {"payload": "/request_human", "text": "Coordinator"},
    }
    theirs = {
        "id": "wamid.b2",
        "type": "button",
        "button": {"payload": "Unsubscribe", "text": "Unsubscribe"},
    }
    assert parse_one(ours).payload == "/request_human"
    assert (parse_one(theirs).handling, parse_one(theirs).text) == (Handling.TEXT, "Unsubscribe")


def test_media_keeps_id_mime_type_caption_and_filename() -> None:
    parsed = parse_one(
        media("document", "m-1", "application/pdf", caption="MRI", filename="mri.pdf")
    )
    assert parsed.handling is Handling.MEDIA
    assert (
        parsed.media.media_id,
        parsed.media.mime_type,
        parsed.media.caption,
        parsed.media.filename,
    ) == (
        "m-1",
        "application/pdf",
        "MRI",
        "mri.pdf",
    )


def test_mime_type_parameters_are_dropped() -> None:
    assert parse_one(media("audio", "a-1", "audio/ogg; codecs=opus")).media.mime_type == "audio/ogg"


@pytest.mark.parametrize(
    "message",
    [
        location(),
        reaction("👍"),
        unsupported("poll"),
        {"id": "wamid.x", "type": "order", "order": {}},
    ],
    ids=["location", "reaction", "unsupported", "unknown-type"],
)
def test_messages_the_bot_cannot_read_are_unsupported(message: dict) -> None:
    assert parse_one(message).handling is Handling.UNSUPPORTED


@pytest.mark.parametrize(
    "message",
    [reaction(None), {"id": "wamid.s", "type": "system", "system": {"body": "changed number"}}],
    ids=["reaction-removed", "system"],
)
def test_nothing_to_answer_is_ignored(message: dict) -> None:
    assert parse_one(message).handling is Handling.IGNORED


def test_statuses_are_counted_and_produce_no_message() -> None:
    delivery = parse_delivery(envelope(statuses(WA_ID)), PHONE_NUMBER_ID)
    assert (delivery.messages, delivery.statuses) == ((), 1)


def test_several_messages_keep_their_order() -> None:
    first, second = text("one"), text("two")
    delivery = parse_delivery(envelope(messages_value(WA_ID, "S", first, second)), PHONE_NUMBER_ID)
    assert [m.message_id for m in delivery.messages] == [first["id"], second["id"]]


def test_another_business_number_is_skipped() -> None:
    delivery = parse_delivery(envelope(messages_value(WA_ID, "S", text("hi"))), "another-number")
    assert (delivery.messages, delivery.skipped) == ((), 1)


@pytest.mark.parametrize("body", [[], "text", None, 3])
def test_a_body_that_is_not_an_object_is_malformed(body: object) -> None:
    with pytest.raises(MalformedDelivery):
        parse_delivery(body, PHONE_NUMBER_ID)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"object": "instagram"},
        {"object": "whatsapp_business_account", "entry": None},
        {
            "object": "whatsapp_business_account",
            "entry": [{"changes": [{"value": {"messages": "x"}}]}],
        },
        envelope({"messages": [{"id": "wamid.no-sender", "type": "text"}]}),
        envelope({"messages": [None, 3, "x"]}),
    ],
)
def test_odd_shapes_yield_no_message_and_no_error(body: dict) -> None:
    assert parse_delivery(body, PHONE_NUMBER_ID).messages == ()


def test_error_codes_of_failed_deliveries_are_collected() -> None:
    value = statuses(WA_ID, "failed")
    value["statuses"][0]["errors"] = [{"code": 131047, "title": "Re-engagement message"}]
    delivery = parse_delivery(envelope(value), PHONE_NUMBER_ID)
    assert delivery.failed_codes == (131047,)
