"""Hospital stay and trip logistics, from the clinic-editable actions/data/procedures.yml."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.procedures import Procedure, procedures
from bot.names import LANGUAGE_SLOT, PROCEDURE_ENTITY, PROCEDURE_SLOT

procedures()  # validate the data file when the action server starts, not on the first patient


def procedure_in_context(tracker: Tracker) -> Optional[Procedure]:
    """The treatment named in this message, else the one the conversation is about."""
    named = next(tracker.get_latest_entity_values(PROCEDURE_ENTITY), None)
    key = named or tracker.get_slot(PROCEDURE_SLOT)
    return procedures().get(str(key)) if key else None


class ActionHospitalStay(Action):
    def name(self) -> str:
        return "action_hospital_stay"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        procedure = procedure_in_context(tracker)
        if procedure is None:
            dispatcher.utter_message(response="utter_ask_procedure_for_stay")
            return []
        language = tracker.get_slot(LANGUAGE_SLOT)
        dispatcher.utter_message(text=procedure.facts["hospital_stay"].in_language(language))
        return [SlotSet(PROCEDURE_SLOT, procedure.key)]


class ActionTreatmentLogistics(Action):
    """What the trip looks like for a treatment; the rest is planned by a coordinator."""

    def name(self) -> str:
        return "action_treatment_logistics"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        procedure = procedure_in_context(tracker)
        if procedure is None:
            dispatcher.utter_message(response="utter_ask_procedure_for_trip")
            return []
        language = tracker.get_slot(LANGUAGE_SLOT)
        facts = procedure.facts
        dispatcher.utter_message(
            text=f"{facts['what_happens'].in_language(language)} "
            f"{facts['hospital_stay'].in_language(language)}"
        )
        dispatcher.utter_message(response="utter_trip_planned_by_coordinator")
        return [SlotSet(PROCEDURE_SLOT, procedure.key)]
