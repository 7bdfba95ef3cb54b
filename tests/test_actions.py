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
