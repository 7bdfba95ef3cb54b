"""Medical answers: remember that the disclaimer was shown.

The rules in data/rules.yml utter `utter_medical_disclaimer` before the first medical
answer of a conversation (condition `medical_disclaimer_shown: false`); this action then
sets the slot so that later answers come without it.
"""

from __future__ import annotations

from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

DISCLAIMER_SLOT = "medical_disclaimer_shown"


class ActionMarkDisclaimerShown(Action):
    def name(self) -> str:
        return "action_mark_disclaimer_shown"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        return [SlotSet(DISCLAIMER_SLOT, True)]
