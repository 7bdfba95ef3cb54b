"""Custom actions, run with Rasa SDK trackers."""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.medical import ActionMarkDisclaimerShown


async def test_disclaimer_is_remembered_without_saying_anything_more() -> None:
    dispatcher = CollectingDispatcher()
    tracker = Tracker("patient", {"medical_disclaimer_shown": False}, {}, [], False, None, {}, "")
    events = await ActionMarkDisclaimerShown().run(dispatcher, tracker, {})
    assert events == [SlotSet("medical_disclaimer_shown", True)]
    assert dispatcher.messages == []


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
