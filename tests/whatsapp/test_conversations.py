"""Conversations over WhatsApp through the real Rasa server, checked at the fake Graph API."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import create_engine
from sqlalchemy import text as sql

from tests.support.fake_graph_api import Failure, FakeGraphApi
from tests.support.servers import RunningBot
from tests.support.whatsapp import (
    ACCESS_TOKEN,
    Patient,
    button_reply,
    deliver,
    envelope,
    list_reply,
    messages_value,
    response_of,
    text,
    user_events,
    wait_until_processed,
)


def handoff_tickets(bot: RunningBot, sender: str) -> list[dict[str, Any]]:
    engine = create_engine(f"sqlite:///{bot.workdir / 'handoff.db'}")
    with engine.connect() as connection:
        rows = connection.execute(
            sql("SELECT kind, channel, form_data FROM handoff_tickets WHERE sender_id = :s"),
            {"s": sender},
        )
        return [dict(row._mapping) for row in rows]


def interactive(message: dict[str, Any]) -> dict[str, Any]:
    assert message["type"] == "interactive", message
    return dict(message["interactive"])


def assert_reply_buttons(message: dict[str, Any], payloads: list[str]) -> None:
    content = interactive(message)
    assert content["type"] == "button"
    buttons = content["action"]["buttons"]
    assert [b["reply"]["id"] for b in buttons] == payloads
    assert len(buttons) <= 3 and all(len(b["reply"]["title"]) <= 20 for b in buttons)
    assert len(content["body"]["text"]) <= 1024


def assert_list(
    message: dict[str, Any], payloads: list[str], button_label: str
) -> list[dict[str, Any]]:
    content = interactive(message)
    assert content["type"] == "list"
    rows = [row for section in content["action"]["sections"] for row in section["rows"]]
    assert [r["id"] for r in rows] == payloads
    assert len(rows) <= 10 and all(len(r["title"]) <= 24 for r in rows)
    assert all(len(r.get("description", "")) <= 72 for r in rows)
    assert content["action"]["button"] == button_label and len(button_label) <= 20
    return rows


def assert_not_logged(bot: RunningBot, *personal: str) -> None:
    log = bot.log("rasa")
    for value in personal:
        assert value not in log, f"personal data in the log: {value!r}"


LANGUAGE_PAYLOADS = [
    f'/change_language{{"language": "{code}"}}' for code in ("en", "ar", "tr", "ru", "de", "fr")
]


def test_text_message_is_answered_in_its_language_and_marked_as_read(
    whatsapp_bot: RunningBot, graph: FakeGraphApi
) -> None:
    patient = Patient(whatsapp_bot, graph, "4915112341001", "Anna Schmidt")
    message = text("Was ist ein Hemispasmus facialis?")
    replies = patient.send(message)
    assert [response_of(m) for m in replies] == [
        ("utter_medical_disclaimer", "de"),
        ("utter_what_is_hfs", "de"),
    ]
    assert message["id"] in graph.read_receipts()
    sends = [c for c in graph.calls() if c.method == "POST"]
    assert all(c.authorization == f"Bearer {ACCESS_TOKEN}" for c in sends)
    assert all(m["messaging_product"] == "whatsapp" and m["to"] == patient.wa_id for m in replies)


def test_turkish_conversation_end_to_end(whatsapp_bot: RunningBot, graph: FakeGraphApi) -> None:
    patient = Patient(whatsapp_bot, graph, "905321234567", "Ayşe Yılmaz")

    greeting = patient.send(text("Merhaba"))
    assert [response_of(m) for m in greeting] == [("utter_greet", "tr")]
    assert_list(greeting[0], LANGUAGE_PAYLOADS, "Seçenekleri görün")

    assert patient.says("Botoks tedavisi nasıl yapılıyor?") == [
        ("utter_medical_disclaimer", "tr"),
        ("utter_botox", "tr"),
    ]

    cost = patient.send(text("Tedavinin fiyatı ne kadar?"))
    assert [response_of(m) for m in cost] == [("utter_cost", "tr")]
    rows = assert_list(cost[0], ["/book_consultation", "/request_human"], "Seçenekleri görün")
    assert rows[0]["description"] == "Konsültasyon randevusu al"  # full title when shortened

    booking = patient.send(list_reply("/book_consultation", rows[0]["title"]))
    assert [response_of(m) for m in booking] == [("utter_ask_booking_consent", "tr")]
    assert_reply_buttons(booking[0], ["/affirm", "/deny"])
    assert patient.says("evet") == [("utter_ask_patient_name", "tr")]
    assert patient.says("Ayşe Yılmaz") == [("utter_ask_country", "tr")]
    offer = patient.send(text("Türkiye"))
    # the sender's own number is offered, not asked for
    assert [response_of(m) for m in offer] == [("utter_ask_contact_whatsapp", "tr")]
    assert "+90 532 123 45 67" in interactive(offer[0])["body"]["text"]  # shown formatted
    assert patient.says("evet") == [("utter_ask_contact_language", "tr")]
    assert patient.says("Türkçe") == [("utter_ask_symptoms", "tr")]
    assert patient.says("sol gözümde seğirme var") == [("utter_ask_preferred_dates", "tr")]
    assert patient.says("gelecek ay") == [("utter_ask_booking_confirmed", "tr")]
    assert patient.says("evet") == [("utter_booking_submitted", "tr")]
    tickets = handoff_tickets(whatsapp_bot, patient.wa_id)
    assert [t["kind"] for t in tickets] == ["booking"]
    assert '"contact": "+905321234567"' in tickets[0]["form_data"]
    assert tickets[0]["channel"] == "whatsapp"

    # what the booking form pre-fills from: number and profile name
    metadata = user_events(whatsapp_bot, patient.wa_id)[-1]["metadata"]["whatsapp"]
    assert metadata["wa_id"] == "905321234567" and metadata["profile_name"] == "Ayşe Yılmaz"
    assert_not_logged(whatsapp_bot, patient.wa_id, patient.name, "Botoks tedavisi")


def test_arabic_conversation_end_to_end(whatsapp_bot: RunningBot, graph: FakeGraphApi) -> None:
    patient = Patient(whatsapp_bot, graph, "966501234567", "محمد العتيبي")

    assert patient.says("السلام عليكم") == [("utter_greet", "ar")]
    assert patient.says("ما هو التشنج النصفي للوجه؟") == [
        ("utter_medical_disclaimer", "ar"),
        ("utter_what_is_hfs", "ar"),
    ]

    cost = patient.send(text("كم تكلفة العلاج في تركيا؟"))
    assert [response_of(m) for m in cost] == [("utter_cost", "ar")]
    assert_reply_buttons(cost[0], ["/book_consultation", "/request_human"])

    booking = patient.send(button_reply("/book_consultation", "حجز استشارة"))
    assert [response_of(m) for m in booking] == [("utter_ask_booking_consent", "ar")]
    assert patient.says("نعم") == [("utter_ask_patient_name", "ar")]
    assert patient.says("محمد العتيبي") == [("utter_ask_country", "ar")]
    assert patient.says("السعودية") == [("utter_ask_contact_whatsapp", "ar")]
    # another number instead of the WhatsApp one
    assert patient.says("لا") == [("utter_ask_contact", "ar")]
    assert patient.says("+966 55 123 4567") == [("utter_ask_contact_language", "ar")]
    assert patient.says("العربية") == [("utter_ask_symptoms", "ar")]
    assert patient.says("رفة في العين منذ سنتين") == [("utter_ask_preferred_dates", "ar")]
    assert patient.says("الشهر القادم") == [("utter_ask_booking_confirmed", "ar")]
    assert patient.says("نعم") == [("utter_booking_submitted", "ar")]
    [ticket] = handoff_tickets(whatsapp_bot, patient.wa_id)
    assert '"contact": "+966551234567"' in ticket["form_data"]

    handoff = patient.send(button_reply("/request_human", "كلّم منسقًا"))
    assert [response_of(m) for m in handoff] == [("utter_confirm_handoff", "ar")]
    assert patient.says("نعم") == [("utter_handoff_created", "ar")]

    first = user_events(whatsapp_bot, patient.wa_id)[0]["metadata"]
    assert first["whatsapp"]["wa_id"] == "966501234567"
    assert first["whatsapp"]["profile_name"] == "محمد العتيبي"
    assert_not_logged(whatsapp_bot, patient.wa_id, patient.name, "التشنج النصفي")


def test_list_reply_id_is_sent_to_rasa_as_the_payload(
    whatsapp_bot: RunningBot, graph: FakeGraphApi
) -> None:
    patient = Patient(whatsapp_bot, graph, "4915112341002")
    patient.send(text("Hallo"))
    replies = patient.send(list_reply('/change_language{"language": "fr"}', "Français"))
    assert [response_of(m) for m in replies] == [("utter_language_changed", "fr")]
    assert (
        user_events(whatsapp_bot, patient.wa_id)[-1]["text"] == '/change_language{"language": "fr"}'
    )


@pytest.mark.parametrize(
    ("wa_id", "language"),
    [
        ("905551230001", "tr"),
        ("79161230001", "ru"),
        ("4915112300001", "de"),
        ("436641230001", "de"),
        ("41791230001", "de"),
        ("33612300001", "fr"),
        ("32470123001", "fr"),
        ("971501230001", "ar"),
        ("201001230001", "ar"),
        ("16505550001", "en"),
    ],
    ids=lambda value: value if len(value) == 2 else None,
)
def test_country_code_sets_the_language_of_a_first_message_that_does_not_tell(
    whatsapp_bot: RunningBot, graph: FakeGraphApi, wa_id: str, language: str
) -> None:
    patient = Patient(whatsapp_bot, graph, wa_id)
    assert patient.says("botox?") == [
        ("utter_medical_disclaimer", language),
        ("utter_botox", language),
    ]


def test_country_hint_is_sent_only_on_the_first_message(
    whatsapp_bot: RunningBot, graph: FakeGraphApi
) -> None:
    patient = Patient(whatsapp_bot, graph, "905551230099")
    patient.says("botox?")
    assert patient.says("What are the side effects of botox injections?") == [
        ("utter_botox_side_effects", "en")
    ]
    hints = [e["metadata"].get("language") for e in user_events(whatsapp_bot, patient.wa_id)]
    assert hints == ["tr", None]


def test_a_clearly_written_first_message_wins_over_the_country_hint(
    whatsapp_bot: RunningBot, graph: FakeGraphApi
) -> None:
    patient = Patient(whatsapp_bot, graph, "905551230098")
    assert patient.says("What exactly is hemifacial spasm?") == [
        ("utter_medical_disclaimer", "en"),
        ("utter_what_is_hfs", "en"),
    ]


def test_several_messages_in_one_delivery_are_processed_in_order(
    whatsapp_bot: RunningBot, graph: FakeGraphApi
) -> None:
    patient = Patient(whatsapp_bot, graph, "4915112341003")
    first, second = text("Was ist ein Hemispasmus facialis?"), text("Und was sind die Ursachen?")
    replies = patient.send(first, second)
    assert [response_of(m) for m in replies] == [
        ("utter_medical_disclaimer", "de"),
        ("utter_what_is_hfs", "de"),
        ("utter_causes", "de"),
    ]
    assert [e["message_id"] for e in user_events(whatsapp_bot, patient.wa_id)] == [
        first["id"],
        second["id"],
    ]


def test_a_delivery_sent_twice_is_processed_once(
    whatsapp_bot: RunningBot, graph: FakeGraphApi
) -> None:
    patient = Patient(whatsapp_bot, graph, "4915112341004")
    message = text("Was ist ein Hemispasmus facialis?")
    payload = envelope(messages_value(patient.wa_id, patient.name, message))
    assert deliver(whatsapp_bot, payload).status_code == 200
    assert deliver(whatsapp_bot, payload).status_code == 200  # Meta's retry
    wait_until_processed(whatsapp_bot, patient.wa_id, message["id"])
    patient.send(text("Danke"))  # processed after anything still queued for this patient
    assert [e["message_id"] for e in user_events(whatsapp_bot, patient.wa_id)].count(
        message["id"]
    ) == 1
    assert graph.read_receipts().count(message["id"]) == 1
    assert [response_of(m) for m in graph.sent_to(patient.wa_id)][:2] == [
        ("utter_medical_disclaimer", "de"),
        ("utter_what_is_hfs", "de"),
    ]
    assert len(graph.sent_to(patient.wa_id)) == 3


def test_sends_are_retried_on_429_and_5xx(whatsapp_bot: RunningBot, graph: FakeGraphApi) -> None:
    patient = Patient(whatsapp_bot, graph, "4915112341005")
    graph.fail_next_sends(Failure(429, {"Retry-After": "1"}), Failure(503))
    assert patient.says("Hallo") == [("utter_greet", "de")]
    assert len(graph.attempts_to(patient.wa_id)) == 3


def test_a_refused_send_is_logged_without_personal_data_and_the_bot_carries_on(
    whatsapp_bot: RunningBot, graph: FakeGraphApi
) -> None:
    patient = Patient(whatsapp_bot, graph, "4915112341006", "Jonas Weber")
    window_closed = {
        "error": {"code": 131047, "message": "Re-engagement message", "type": "OAuthException"}
    }
    graph.fail_next_sends(Failure(400, body=window_closed))
    assert patient.says("Hallo") == []
    assert len(graph.attempts_to(patient.wa_id)) == 1  # a 4xx is not retried
    assert "24-hour window is closed" in whatsapp_bot.log("rasa")
    assert patient.says("Hallo") == [("utter_greet", "de")]
    assert_not_logged(whatsapp_bot, patient.wa_id, patient.name)
