"""End to end over the REST channel: real Rasa and action servers, each language."""

from __future__ import annotations

import pytest

from tests.support.chat import RestChat
from tests.support.servers import RunningBot

QUESTIONS = [
    ("en", "What exactly is hemifacial spasm?", "utter_what_is_hfs"),
    ("ar", "ما هو التشنج النصفي للوجه؟", "utter_what_is_hfs"),
    ("tr", "Botoks tedavisi nasil yapiliyor, ne kadar etkili?", "utter_botox"),
    ("ru", "Какие риски у операции микроваскулярной декомпрессии?", "utter_surgery_risks"),
    (
        "de",
        "Wie lange muss ich nach der Operation im Krankenhaus bleiben?",
        "fact:microvascular_decompression.hospital_stay",
    ),
    ("fr", "Quels sont les symptômes du spasme hémifacial ?", "utter_symptoms"),
]


@pytest.mark.parametrize(
    ("language", "question", "response"), QUESTIONS, ids=[q[0] for q in QUESTIONS]
)
def test_medical_question_is_answered_in_its_language_after_the_disclaimer(
    bot: RunningBot, language: str, question: str, response: str
) -> None:
    answers = RestChat(bot.url).answers(question)
    assert answers == [("utter_medical_disclaimer", language), (response, language)]


def test_disclaimer_is_shown_only_once_per_conversation(bot: RunningBot) -> None:
    chat = RestChat(bot.url)
    chat.answers("What causes hemifacial spasm?")
    assert chat.answers("And how is it diagnosed?") == [("utter_diagnosis", "en")]


def test_ok_keeps_the_conversation_language(bot: RunningBot) -> None:
    chat = RestChat(bot.url)
    chat.answers("ما هو التشنج النصفي للوجه؟")
    assert all(language == "ar" for _, language in filter(None, chat.answers("ok")))


def test_metadata_hint_sets_the_language_of_the_first_message(bot: RunningBot) -> None:
    answers = RestChat(bot.url).answers("hello", metadata={"language": "ar"})
    assert answers == [("utter_greet", "ar")]


def test_explicit_language_change_answers_in_the_new_language_from_then_on(bot: RunningBot) -> None:
    chat = RestChat(bot.url)
    chat.answers("hello")
    assert chat.answers("can you speak Turkish?") == [("utter_language_changed", "tr")]
    assert chat.answers("ok") == [("utter_how_can_help", "tr")]


def test_language_picker_button_payload_switches_language(bot: RunningBot) -> None:
    chat = RestChat(bot.url)
    assert chat.answers('/change_language{"language": "ru"}') == [("utter_language_changed", "ru")]


@pytest.mark.parametrize(
    ("context", "expected"),
    [
        ("Tell me about botox injections", "utter_botox_side_effects"),
        ("How is the microvascular decompression surgery done?", "utter_surgery_risks"),
        ("Which medicines can I take, carbamazepine?", "utter_medication_side_effects_unknown"),
    ],
)
def test_side_effects_follow_up_is_answered_for_the_treatment_in_context(
    bot: RunningBot, context: str, expected: str
) -> None:
    chat = RestChat(bot.url)
    chat.answers(context)
    assert chat.answers("what are the side effects?") == [(expected, "en")]


def test_price_question_never_quotes_a_price_and_offers_booking(bot: RunningBot) -> None:
    chat = RestChat(bot.url)
    messages = chat.send("how much does the surgery cost?")
    assert [m.get("text") for m in messages] and all("$" not in m.get("text", "") for m in messages)
    buttons = [b["payload"] for m in messages for b in m.get("buttons", [])]
    assert "/book_consultation" in buttons


def test_emergency_tells_the_patient_to_call_emergency_services(bot: RunningBot) -> None:
    answers = RestChat(bot.url).answers("my face suddenly dropped on one side and I can't see well")
    assert answers[0] == ("utter_emergency", "en")


def test_two_misunderstandings_in_a_row_offer_a_coordinator(bot: RunningBot) -> None:
    chat = RestChat(bot.url)
    assert chat.answers("🦄🌈") == [("utter_ask_rephrase", "en")]
    assert chat.answers("ᚠᚢᚦ ᚨᚱ") == [("utter_offer_coordinator", "en")]


def test_empty_and_huge_messages_get_a_polite_reply_not_an_error(bot: RunningBot) -> None:
    chat = RestChat(bot.url)
    assert chat.send(" ") is not None
    long_message = "Botox " * 2000
    replies = chat.send(long_message)
    assert replies and all("Traceback" not in m.get("text", "") for m in replies)
