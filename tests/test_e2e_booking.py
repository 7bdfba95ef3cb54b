"""Booking and handoff end to end over REST: real Rasa, real action server, real store."""

from __future__ import annotations

import json
import re

from sqlalchemy import create_engine, text

from tests.support.chat import RestChat
from tests.support.servers import RunningBot

Step = tuple[str, list[str]]


def tickets_of(bot: RunningBot, sender: str) -> list[dict]:
    engine = create_engine(f"sqlite:///{bot.workdir / 'handoff.db'}")
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT kind, language, form_data, consent_at, status FROM handoff_tickets WHERE sender_id = :s"
            ),
            {"s": sender},
        )
        return [dict(row._mapping) for row in rows]


def form_data(ticket: dict) -> dict:
    value = ticket["form_data"]
    return json.loads(value) if isinstance(value, str) else dict(value)


def talk(chat: RestChat, steps: list[Step], language: str) -> None:
    for message, expected in steps:
        answers = chat.answers(message)
        assert [name for name, _ in filter(None, answers)] == expected, (message, answers)
        assert None not in answers, (message, answers)
        assert all(lang == language for _, lang in answers), (message, answers)


def test_booking_in_english_stores_one_ticket_with_consent(bot: RunningBot) -> None:
    chat = RestChat(bot.url)
    talk(
        chat,
        [
            ("I would like to book a consultation", ["utter_ask_booking_consent"]),
            ("yes", ["utter_ask_patient_name"]),
            ("Maria Schmidt", ["utter_ask_country"]),
            ("Germany", ["utter_ask_contact"]),
            ("maria.schmidt@example.com", ["utter_ask_contact_language"]),
            ('/affirm{"contact_language": "de"}', ["utter_ask_symptoms"]),
            ("my left eyelid twitches since last year", ["utter_ask_preferred_dates"]),
        ],
        "en",
    )
    [summary] = chat.send("next month")
    assert "Country: Germany\n" in summary["text"]  # shown by name, stored as a code
    talk(chat, [("yes", ["utter_booking_submitted"])], "en")
    [ticket] = tickets_of(bot, chat.sender)
    assert ticket["kind"] == "booking" and ticket["consent_at"] is not None
    data = form_data(ticket)
    assert data["contact"] == "maria.schmidt@example.com" and data["contact_language"] == "de"
    assert data["country"] == "DE" and re.fullmatch(r"\d{4}-\d{2}", data["preferred_dates"])


def test_turkish_booking_survives_a_question_and_an_invalid_phone(bot: RunningBot) -> None:
    chat = RestChat(bot.url)
    talk(
        chat,
        [
            ("randevu almak istiyorum", ["utter_ask_booking_consent"]),
            ("evet", ["utter_ask_patient_name"]),
            ("Ayşe Yılmaz", ["utter_ask_country"]),
            ("ameliyatın fiyatı ne kadar?", ["utter_cost", "utter_ask_country"]),
            ("Türkiye", ["utter_ask_contact"]),
            ("12345", ["utter_invalid_contact", "utter_ask_contact"]),
            ("0532 123 45 67", ["utter_ask_contact_language"]),
            ("Türkçe", ["utter_ask_symptoms"]),
            ("sol gözümde seğirme var, botoks yaptırdım", ["utter_ask_preferred_dates"]),
            ("Mart ortası", ["utter_ask_booking_confirmed"]),
            ("evet", ["utter_booking_submitted"]),
        ],
        "tr",
    )
    [ticket] = tickets_of(bot, chat.sender)
    data = form_data(ticket)
    assert data["contact"] == "+905321234567" and ticket["language"] == "tr"
    assert data["country"] == "TR" and re.fullmatch(r"\d{4}-03", data["preferred_dates"])


def test_arabic_booking_with_invalid_email_and_date_then_a_correction(bot: RunningBot) -> None:
    chat = RestChat(bot.url)
    talk(
        chat,
        [
            ("أريد حجز استشارة", ["utter_ask_booking_consent"]),
            ("نعم", ["utter_ask_patient_name"]),
            ("محمد علي", ["utter_ask_country"]),
            ("مصر", ["utter_ask_contact"]),
            ("mohamed@", ["utter_invalid_contact", "utter_ask_contact"]),
            ("mohamed.ali@example.com", ["utter_ask_contact_language"]),
            ("العربية", ["utter_ask_symptoms"]),
            ("رفة في العين اليسرى منذ سنة", ["utter_ask_preferred_dates"]),
            ("مش عارف", ["utter_ask_stop_booking"]),
            ("لا", ["utter_ask_preferred_dates"]),
            ("بعد رمضان", ["utter_invalid_preferred_dates", "utter_ask_preferred_dates"]),
            ("الشهر القادم", ["utter_ask_booking_confirmed"]),
            ("لا", ["utter_ask_what_to_change"]),
            ('/book_consultation{"booking_field": "country"}', ["utter_ask_country"]),
            ("السعودية", ["utter_ask_booking_confirmed"]),
            ("نعم", ["utter_booking_submitted"]),
        ],
        "ar",
    )
    [ticket] = tickets_of(bot, chat.sender)
    data = form_data(ticket)
    assert data["country"] == "SA" and re.fullmatch(r"\d{4}-\d{2}", data["preferred_dates"])


def test_refusing_consent_stores_nothing(bot: RunningBot) -> None:
    chat = RestChat(bot.url)
    talk(
        chat,
        [
            ("Ich möchte einen Beratungstermin buchen", ["utter_ask_booking_consent"]),
            ("nein", ["utter_booking_no_consent"]),
        ],
        "de",
    )
    assert tickets_of(bot, chat.sender) == []


def test_cancelling_in_the_middle_stores_nothing(bot: RunningBot) -> None:
    chat = RestChat(bot.url)
    talk(
        chat,
        [
            ("хочу записаться на консультацию", ["utter_ask_booking_consent"]),
            ("да", ["utter_ask_patient_name"]),
            ("отмена", ["utter_ask_stop_booking"]),
            ("да", ["utter_booking_cancelled"]),
        ],
        "ru",
    )
    assert tickets_of(bot, chat.sender) == []


def test_three_invalid_answers_offer_a_coordinator(bot: RunningBot) -> None:
    chat = RestChat(bot.url)
    talk(
        chat,
        [
            ("je veux prendre rendez-vous", ["utter_ask_booking_consent"]),
            ("oui", ["utter_ask_patient_name"]),
            ("Marie Dupont", ["utter_ask_country"]),
            ("Narnia", ["utter_invalid_country", "utter_ask_country"]),
            ("Atlantide", ["utter_invalid_country", "utter_ask_country"]),
            ("Mordor", ["utter_booking_too_many_attempts"]),
        ],
        "fr",
    )
    assert tickets_of(bot, chat.sender) == []


def test_handoff_asks_consent_then_creates_a_ticket(bot: RunningBot) -> None:
    chat = RestChat(bot.url)
    talk(
        chat,
        [
            ("I want to talk to a real person", ["utter_confirm_handoff"]),
            ("yes", ["utter_handoff_created"]),
        ],
        "en",
    )
    [ticket] = tickets_of(bot, chat.sender)
    assert ticket["kind"] == "handoff" and ticket["status"] == "new"


def test_a_handoff_after_two_misunderstandings_is_a_fallback_ticket(bot: RunningBot) -> None:
    chat = RestChat(bot.url)
    assert chat.answers("hello") == [("utter_greet", "en")]
    talk(
        chat,
        [
            ("🦄🌈", ["utter_ask_rephrase"]),
            ("ᚠᚢᚦ ᚨᚱ", ["utter_offer_coordinator"]),
            ("/request_human", ["utter_confirm_handoff"]),
            ("yes", ["utter_handoff_created"]),
        ],
        "en",
    )
    assert [t["kind"] for t in tickets_of(bot, chat.sender)] == ["fallback"]


def test_emergency_is_sent_to_emergency_services_and_flagged(bot: RunningBot) -> None:
    chat = RestChat(bot.url)
    talk(
        chat,
        [
            (
                "my face suddenly dropped on one side and I can't see well",
                ["utter_emergency", "utter_emergency_ticket_created"],
            )
        ],
        "en",
    )
    assert [t["kind"] for t in tickets_of(bot, chat.sender)] == ["emergency"]


def test_personal_data_never_reaches_the_logs(bot: RunningBot) -> None:
    chat = RestChat(bot.url)
    for message in [
        "hello",
        "I would like to book a consultation",
        "yes",
        "Zeynep Kaya",
        "Turkey",
        "+90 533 765 43 21",
        "English",
        "zeynep twitching story",
        "next month",
        "yes",
    ]:
        chat.send(message)
    assert len(tickets_of(bot, chat.sender)) == 1
    logs = bot.log("rasa") + bot.log("actions")
    for personal in ("Zeynep", "Kaya", "905337654321", "533 765", "twitching story"):
        assert personal not in logs
    assert "interpolator" not in logs  # button payloads must not be treated as templates
