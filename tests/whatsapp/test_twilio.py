"""Twilio's WhatsApp through Rasa's `twilio` channel (our subclass), against a fake
Twilio Messages API."""

from __future__ import annotations

import uuid

import pytest
import requests
from twilio.request_validator import RequestValidator

from actions.handoff_store import HandoffStore, NewTicket
from tests.support.chat import which_response
from tests.support.fake_twilio_api import FakeTwilioApi
from tests.support.servers import RunningBot
from tests.support.whatsapp import user_events
from tests.whatsapp.conftest import TWILIO_NUMBER, TWILIO_SID, TWILIO_TOKEN

WEBHOOK = "/webhooks/twilio/webhook"


def twilio_form(sender: str, body: str = "", **extra: str) -> dict[str, str]:
    return {
        "SmsMessageSid": "SM" + uuid.uuid4().hex,
        "MessageSid": "SM" + uuid.uuid4().hex,
        "AccountSid": TWILIO_SID,
        "From": sender,
        "To": TWILIO_NUMBER,
        "Body": body,
        "NumMedia": "0",
        "WaId": sender.removeprefix("whatsapp:+"),
        "ProfileName": "Test Patient",
        **extra,
    }


def post(
    bot: RunningBot, form: dict[str, str], signature: str | None = "valid"
) -> requests.Response:
    url = bot.url + WEBHOOK
    headers = {}
    if signature == "valid":
        headers["X-Twilio-Signature"] = RequestValidator(TWILIO_TOKEN).compute_signature(url, form)
    elif signature is not None:
        headers["X-Twilio-Signature"] = signature
    return requests.post(url, data=form, headers=headers, timeout=60)


def replies(twilio: FakeTwilioApi, sender: str, since: int = 0) -> list[dict[str, str]]:
    return twilio.sent_to(sender)[since:]


def test_a_twilio_whatsapp_message_is_answered_in_the_numbers_language(
    whatsapp_bot: RunningBot, twilio_api: FakeTwilioApi
) -> None:
    sender = "whatsapp:+905321250001"
    answer = post(whatsapp_bot, twilio_form(sender, "botox?"))
    assert answer.status_code == 200
    sent = replies(twilio_api, sender)
    assert [which_response(m["Body"]) for m in sent] == [
        ("utter_medical_disclaimer", "tr"),
        ("utter_botox", "tr"),
    ]
    assert all(m["From"] == TWILIO_NUMBER for m in sent)
    metadata = user_events(whatsapp_bot, sender)[-1]["metadata"]
    assert metadata["language"] == "tr"
    assert metadata["twilio"] == {
        "from": sender,
        "wa_id": "905321250001",
        "profile_name": "Test Patient",
    }


def test_buttons_become_a_numbered_menu_and_the_typed_number_picks_the_option(
    whatsapp_bot: RunningBot, twilio_api: FakeTwilioApi
) -> None:
    sender = "whatsapp:+4915112350001"
    post(whatsapp_bot, twilio_form(sender, "Hallo"))
    [menu] = replies(twilio_api, sender)
    assert which_response(menu["Body"].split("\n\n1. ")[0]) == ("utter_greet", "de")
    assert "\n\n1. English\n2. العربية\n3. Türkçe\n" in menu["Body"]
    assert menu["Body"].endswith("Bitte antworten Sie mit der Nummer Ihrer Wahl.")
    assert "/change_language" not in menu["Body"]

    post(whatsapp_bot, twilio_form(sender, "3"))
    assert [which_response(m["Body"]) for m in replies(twilio_api, sender, 1)] == [
        ("utter_language_changed", "tr")
    ]


@pytest.mark.parametrize(
    "extra",
    [
        {
            "NumMedia": "1",
            "MediaContentType0": "image/jpeg",
            "MediaUrl0": "https://api.twilio.com/media/1",
        },
        {"Latitude": "41.0", "Longitude": "28.9"},
    ],
    ids=["photo", "location"],
)
def test_a_photo_or_location_gets_a_polite_answer(
    whatsapp_bot: RunningBot, twilio_api: FakeTwilioApi, extra: dict[str, str]
) -> None:
    sender = f"whatsapp:+4915112350{len(extra):03d}"
    post(whatsapp_bot, twilio_form(sender, "", **extra))
    [answer] = replies(twilio_api, sender)
    assert which_response(answer["Body"].split("\n\n1. ")[0]) == ("utter_media_unsupported", "de")


@pytest.mark.parametrize("signature", [None, "wrong"], ids=["missing", "wrong"])
def test_a_call_without_twilios_signature_is_refused(
    whatsapp_bot: RunningBot, twilio_api: FakeTwilioApi, signature: str | None
) -> None:
    sender = "whatsapp:+4915112350099"
    answer = post(whatsapp_bot, twilio_form(sender, "Hallo"), signature=signature)
    assert answer.status_code == 403
    assert replies(twilio_api, sender) == []
    assert user_events(whatsapp_bot, sender) == []


def test_the_same_twilio_message_twice_is_answered_once(
    whatsapp_bot: RunningBot, twilio_api: FakeTwilioApi
) -> None:
    sender = "whatsapp:+4915112350098"
    form = twilio_form(sender, "Hallo")
    post(whatsapp_bot, form)
    post(whatsapp_bot, form)
    assert len(replies(twilio_api, sender)) == 1


def test_a_pdf_sent_over_twilio_is_attached_to_the_patients_ticket(
    whatsapp_bot: RunningBot, twilio_api: FakeTwilioApi
) -> None:
    sender = "whatsapp:+4915112350009"
    post(whatsapp_bot, twilio_form(sender, "Hallo"))
    store = HandoffStore(f"sqlite:///{whatsapp_bot.workdir / 'handoff.db'}")
    ticket = store.create(
        NewTicket(kind="handoff", channel="twilio", sender_id=sender, language="de")
    )
    requests.post(
        f"{whatsapp_bot.url}/conversations/{sender}/tracker/events",
        params={"token": whatsapp_bot.auth_token},
        json=[{"event": "slot", "name": "handoff_ticket_id", "value": ticket.id}],
        timeout=30,
    ).raise_for_status()
    before = len(twilio_api.sent_to(sender))
    url = twilio_api.serve_media("ME-report", b"%PDF-1.4 Befund", "application/pdf")
    form = twilio_form(sender, NumMedia="1", MediaUrl0=url, MediaContentType0="application/pdf")
    assert post(whatsapp_bot, form).status_code == 200
    assert [which_response(m["Body"]) for m in replies(twilio_api, sender, before)] == [
        ("utter_media_attached", "de")
    ]
    [attached] = store.attachments(ticket.id)
    assert (attached.media_type, attached.size) == ("application/pdf", 15)
    assert store.attachment(attached.id).content == b"%PDF-1.4 Befund"  # type: ignore[union-attr]


def test_a_twilio_file_without_a_ticket_is_answered_politely(
    whatsapp_bot: RunningBot, twilio_api: FakeTwilioApi
) -> None:
    sender = "whatsapp:+4915112350010"
    url = twilio_api.serve_media("ME-photo", b"\xff\xd8\xff", "image/jpeg")
    form = twilio_form(sender, NumMedia="1", MediaUrl0=url, MediaContentType0="image/jpeg")
    assert post(whatsapp_bot, form).status_code == 200
    assert [which_response(m["Body"].split("\n\n1. ")[0]) for m in replies(twilio_api, sender)] == [
        ("utter_media_unsupported", "de")
    ]
