"""Explicit language change: confirm in the new language, or ask which one."""

from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

LANGUAGE_ENTITY = "language"
# The detector's entity is the language the patient *wrote* in, not the one asked for.
DETECTOR_NAME = "LanguageDetector"


class ActionChangeLanguage(Action):
    """The `language` slot is filled from the entity before this runs (slot mapping)."""

    def name(self) -> Text:
        return "action_change_language"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        entities = tracker.latest_message.get("entities", [])
        asked_for = [
            e["value"]
            for e in entities
            if e.get("entity") == LANGUAGE_ENTITY and e.get("extractor") != DETECTOR_NAME
        ]
        response = "utter_language_changed" if asked_for else "utter_choose_language"
        dispatcher.utter_message(response=response)
        return []
