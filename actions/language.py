"""The first message decides the conversation's language, even when the guess is unsure.

The language detector (bot/nlu/language_detector.py) emits a `language` entity only when
confident; that entity switches the language at any time. Until a conversation has a
language, this custom slot mapping (domain/core.yml) takes the detector's best guess of
the message (`language_guess` in the parse data), so a short German "Botox Kosten?" is
answered in German, not in English by default. The widget's page language and WhatsApp's
country code arrive as confident hints and win before this runs.
"""

from __future__ import annotations

from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.languages import normalise_language
from bot.names import LANGUAGE_SLOT

LANGUAGE_GUESS = "language_guess"


class ActionFirstMessageLanguage(Action):
    def name(self) -> str:
        return "action_first_message_language"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        if tracker.get_slot(LANGUAGE_SLOT) is not None:
            return []
        guess = normalise_language((tracker.latest_message or {}).get(LANGUAGE_GUESS))
        return [SlotSet(LANGUAGE_SLOT, guess)] if guess else []
