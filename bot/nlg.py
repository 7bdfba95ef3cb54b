"""Response generation that leaves button payloads alone, in the conversation's language.

Until a conversation has a `language` slot (set by a confident detection, a widget or
WhatsApp hint, or an explicit change), responses are chosen for the language of its first
message: the detector's best guess (`language_guess`), so a short "Botox Kosten?" is
answered in German, not in English by default. Done here, inside Rasa, rather than by a
custom slot mapping, which would cost a call to the action server on every message.

Rasa's templated NLG fills `{slot}` placeholders in every part of a response, button
payloads included. Our payloads carry JSON entities (`/change_language{"language": "ar"}`),
which Rasa mistakes for placeholders: it logs an ERROR with every slot value of the
conversation (names, phone numbers) and falls back to the raw payload. Payloads are never
templates here, so only the titles are filled in.

It also applies the clinic's reviewed texts (actions/data/clinic_overrides.yml,
bot/clinic_overrides.py) to the domain's responses, whenever Rasa hands it responses
(at start-up and on every model load); a broken overrides file raises there.

Creating it installs `bot/rasa_speedups.py` (two hot spots of Rasa's message loop).
"""

from __future__ import annotations

import copy
from typing import Any, Dict, List, Optional

from rasa.core.nlg import TemplatedNaturalLanguageGenerator, interpolator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from bot import rasa_speedups
from bot.clinic_overrides import apply_to_responses, load_overrides
from bot.languages import first_guess

BUTTON_KEYS = ("buttons", "quick_replies")
LANGUAGE_SLOT = "language"


class PayloadSafeNaturalLanguageGenerator(TemplatedNaturalLanguageGenerator):
    """`endpoints.yml`: `nlg: {type: bot.nlg.PayloadSafeNaturalLanguageGenerator}`."""

    def __init__(
        self, endpoint_config: Optional[EndpointConfig] = None, domain: Optional[Domain] = None
    ) -> None:
        rasa_speedups.install()  # every deployment configures this NLG: Rasa's hot spots
        super().__init__((domain or Domain.empty()).responses)

    @property
    def responses(self) -> Dict[str, List[Dict[str, Any]]]:
        return self._responses

    @responses.setter
    def responses(self, value: Dict[str, List[Dict[str, Any]]]) -> None:
        # Rasa assigns the domain's responses after loading a model (Agent.load_model).
        overrides = load_overrides(responses=value) if value else {}
        self._responses = apply_to_responses(value or {}, overrides)

    async def generate(
        self,
        utter_action: str,
        tracker: DialogueStateTracker,
        output_channel: str,
        **kwargs: Any,
    ) -> Optional[Dict[str, Any]]:
        filled_slots = tracker.current_slot_values()
        if not filled_slots.get(LANGUAGE_SLOT):
            guesses = (e.parse_data for e in tracker.events if isinstance(e, UserUttered))
            filled_slots = {**filled_slots, LANGUAGE_SLOT: first_guess(guesses)}
        return self.generate_from_slots(utter_action, filled_slots, output_channel, **kwargs)

    def _fill_response(
        self,
        response: Dict[str, Any],
        filled_slots: Optional[Dict[str, Any]] = None,
        **kwargs: Any,
    ) -> Dict[str, Any]:
        buttons = {key: response.pop(key) for key in BUTTON_KEYS if key in response}
        filled = super()._fill_response(response, filled_slots, **kwargs)
        values = self._response_variables(filled_slots or {}, kwargs)
        for key, items in buttons.items():
            filled[key] = [_fill_title(item, values) for item in items]
        return filled


def _fill_title(button: Dict[str, Any], values: Dict[str, Any]) -> Dict[str, Any]:
    filled = copy.copy(button)
    title = filled.get("title")
    if isinstance(title, str) and "{" in title:
        filled["title"] = interpolator.interpolate_text(title, values)
    return filled
