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
