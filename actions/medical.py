"""Medical answers: the disclaimer shown once before the first medical answer."""

from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

DISCLAIMER_SLOT = "medical_disclaimer_shown"


class ActionMedicalDisclaimer(Action):
    """Utters `utter_medical_disclaimer` the first time a conversation gets a medical answer."""

    def name(self) -> Text:
        return "action_medical_disclaimer"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        if tracker.get_slot(DISCLAIMER_SLOT):
            return []
        dispatcher.utter_message(response="utter_medical_disclaimer")
        return [SlotSet(DISCLAIMER_SLOT, True)]
