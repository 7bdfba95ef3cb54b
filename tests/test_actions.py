"""Custom actions, run with Rasa SDK trackers built from small dicts (exact events asserted)."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.medical import ActionAcceptOffer, ActionAnswerMedical


def _tracker(
    slots: dict[str, Any],
    message: dict[str, Any],
    events: list[Any] | None = None,
    active_loop: dict[str, Any] | None = None,
) -> Tracker:
    return Tracker("patient", slots, message, events or [], False, None, active_loop or {}, "")


def _segment(
    role: str, intent: str, procedure: str | None = None, answer: bool = True
) -> dict[str, Any]:
    return {"role": role, "intent": intent, "procedure": procedure, "answer": answer}


async def _answer(slots: dict[str, Any], message: dict[str, Any]) -> tuple[list[str], list[Any]]:
    dispatcher = CollectingDispatcher()
    events = await ActionAnswerMedical().run(dispatcher, _tracker(slots, message), {})
    return [m.get("response") or m.get("text") for m in dispatcher.messages], events


async def test_every_planned_question_is_answered_in_order_after_one_disclaimer() -> None:
    message = {
        "intent": {"name": "ask_surgery_risks"},
        "segments": [
            _segment("greeting", "greet", answer=False),
            _segment("question", "ask_surgery_risks", "microvascular_decompression"),
            _segment("question", "ask_cost", "microvascular_decompression"),
        ],
    }
    said, events = await _answer({"medical_disclaimer_shown": False, "language": "en"}, message)
    assert said == [
        "utter_greeting_line",
        "utter_medical_disclaimer",
        "utter_surgery_risks",
        "utter_cost",
    ]
    assert SlotSet("medical_disclaimer_shown", True) in events
    assert events[-1] == SlotSet("answer_offer", "booking")


async def test_the_disclaimer_is_not_repeated() -> None:
    message = {"intent": {"name": "ask_causes"}, "entities": []}
    said, events = await _answer({"medical_disclaimer_shown": True}, message)
    assert said == ["utter_causes"]
    assert SlotSet("medical_disclaimer_shown", True) not in events


async def test_side_effects_follow_the_treatment_named_in_the_same_message() -> None:
    message = {
        "intent": {"name": "ask_surgery"},
        "segments": [
            _segment("question", "ask_surgery", "microvascular_decompression"),
            _segment("question", "ask_botox_side_effects", "microvascular_decompression"),
        ],
    }
    said, _ = await _answer({"medical_disclaimer_shown": True}, message)
    assert said == ["utter_surgery", "utter_surgery_risks"]


async def test_a_question_the_source_cannot_answer_offers_a_coordinator() -> None:
    message = {"intent": {"name": "ask_not_covered"}, "entities": []}
    said, events = await _answer({"medical_disclaimer_shown": True}, message)
    assert said == ["utter_not_covered"]
    assert events[-1] == SlotSet("answer_offer", "coordinator")


async def test_yes_after_an_offer_follows_it_up() -> None:
    for offer, follow_up in [("booking", "booking_form"), ("coordinator", "utter_confirm_handoff")]:
        events = await ActionAcceptOffer().run(
            CollectingDispatcher(), _tracker({"answer_offer": offer}, {}), {}
        )
        assert events == [SlotSet("answer_offer", None), FollowupAction(follow_up)]


async def test_yes_after_an_answer_that_offered_nothing_asks_how_to_help() -> None:
    dispatcher = CollectingDispatcher()
    events = await ActionAcceptOffer().run(dispatcher, _tracker({"answer_offer": None}, {}), {})
    assert events == [SlotSet("answer_offer", None)]
    assert [m["response"] for m in dispatcher.messages] == ["utter_how_can_help"]


async def test_the_first_messages_guess_becomes_the_conversations_language() -> None:
    message = {"intent": {"name": "ask_cost"}, "entities": [], "language_guess": "de"}
    events = [{"event": "user", "parse_data": message}]
    dispatcher = CollectingDispatcher()
    tracker = _tracker({"language": None}, message, events)
    result = await ActionAnswerMedical().run(dispatcher, tracker, {})
    assert result[0] == SlotSet("language", "de")


def _tracker_on(channel: str, sender_id: str) -> Tracker:
    events = [{"event": "user", "text": "hi", "input_channel": channel, "parse_data": {}}]
    return Tracker(sender_id, {}, {}, events, False, None, {}, "")


def test_the_patients_own_number_is_offered_on_both_whatsapp_channels() -> None:
    from actions.booking import whatsapp_number

    assert whatsapp_number(_tracker_on("whatsapp", "905321234567")) == "+905321234567"
    assert whatsapp_number(_tracker_on("twilio", "whatsapp:+905321234567")) == "+905321234567"
    assert whatsapp_number(_tracker_on("socketio", "905321234567")) is None


def _user(intent: str) -> dict:
    return {"event": "user", "text": "…", "parse_data": {"intent": {"name": intent}}}


def _action(name: str) -> dict:
    return {"event": "action", "name": name}


def test_a_handoff_after_the_bot_did_not_understand_is_a_fallback_ticket() -> None:
    from actions.handoff import handoff_kind

    misunderstood = [
        _user("nlu_fallback"),
        _action("utter_ask_rephrase"),
        _action("action_listen"),
        _user("nlu_fallback"),
        _action("utter_offer_coordinator"),
        _action("action_listen"),
        _user("request_human"),
        _action("utter_confirm_handoff"),
        _action("action_listen"),
        _user("affirm"),
    ]
    assert handoff_kind(misunderstood) == "fallback"
    asked_directly = [_user("greet"), _action("utter_greet"), _user("request_human")]
    assert handoff_kind(asked_directly) == "handoff"
    assert handoff_kind([]) == "handoff"


async def test_a_request_beside_the_questions_is_followed_up_after_the_answers() -> None:
    for request, follow_up in [
        ("book_consultation", "booking_form"),
        ("request_human", "utter_confirm_handoff"),
    ]:
        message = {
            "intent": {"name": "ask_cost"},
            "segments": [
                _segment("question", "ask_cost", "botox"),
                _segment("context", request),
            ],
        }
        said, events = await _answer({"medical_disclaimer_shown": True}, message)
        assert said == ["utter_cost"]
        assert events[-2:] == [SlotSet("answer_offer", None), FollowupAction(follow_up)]


async def test_a_request_is_not_followed_up_while_the_booking_form_runs() -> None:
    message = {
        "intent": {"name": "ask_cost"},
        "segments": [
            _segment("question", "ask_cost", "botox"),
            _segment("question", "book_consultation"),
        ],
    }
    tracker = _tracker(
        {"medical_disclaimer_shown": True}, message, active_loop={"name": "booking_form"}
    )
    events = await ActionAnswerMedical().run(CollectingDispatcher(), tracker, {})
    assert not any(isinstance(e, dict) and e.get("event") == "followup" for e in events)
    assert events[-1] == SlotSet("answer_offer", "booking")
