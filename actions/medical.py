"""One action answers every question of a message, in order: `action_answer_medical`.

The NLU (`bot/nlu/answer_plan.py`) puts the message's parts into the parse data
(`segments`: role, intent, procedure, `answer`). This action composes the reply from them:
a short greeting line if the patient greeted, the medical disclaimer before the first
medical answer of the conversation (never twice), then each answer, for the treatment named
in that part of the message or, failing that, the one the conversation is about. It also
remembers what the last answer offered (`answer_offer`: a consultation or a coordinator),
so that a "yes" right after it takes the offer up (`action_accept_offer`). A request made
beside the questions ("…and I'd like to book", "…can someone call me") is followed up after
the answers: the booking form or the handoff offer (not while a form is already running).

A message without segments (a button payload such as `/ask_cost`, a conversation test)
is answered from its intent and entities alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.procedures import procedures
from bot.languages import first_guess
from bot.names import (
    ANSWER_ACTION,
    ANSWER_OFFER_SLOT,
    ANSWERED_INTENTS,
    BOOK_CONSULTATION_INTENT,
    DISCLAIMER_SHOWN_SLOT,
    LANGUAGE_SLOT,
    MEDICAL_TOPIC_INTENTS,
    NOT_COVERED_INTENT,
    PROCEDURE_ENTITY,
    PROCEDURE_SLOT,
    REQUEST_HUMAN_INTENT,
    REQUEST_INTENTS,
)

BOTOX, SURGERY, MEDICATION = "botox", "microvascular_decompression", "medication"
OFFER_BOOKING, OFFER_COORDINATOR = "booking", "coordinator"
# Questions that name their treatment by their topic ("how does Botox work?").
_TOPIC_PROCEDURE = {
    "ask_botox": BOTOX,
    "ask_surgery": SURGERY,
    "ask_surgery_results": SURGERY,
    "ask_medication": MEDICATION,
}
# One response per medical topic of the source (domain/medical.yml).
TOPIC_RESPONSES: Dict[str, str] = {
    "ask_what_is_hfs": "utter_what_is_hfs",
    "ask_causes": "utter_causes",
    "ask_symptoms": "utter_symptoms",
    "ask_diagnosis": "utter_diagnosis",
    "ask_treatment_options": "utter_treatment_options",
    "ask_medication": "utter_medication",
    "ask_botox": "utter_botox",
    "ask_botox_side_effects": "utter_botox_side_effects",
    "ask_surgery": "utter_surgery",
    "ask_surgery_results": "utter_surgery_results",
    "ask_surgery_risks": "utter_surgery_risks",
    "ask_prevalence": "utter_prevalence",
    "ask_prevention": "utter_prevention",
    "ask_similar_conditions": "utter_similar_conditions",
}
_NEEDS_DISCLAIMER = frozenset(MEDICAL_TOPIC_INTENTS) | {"ask_hospital_stay", NOT_COVERED_INTENT}


@dataclass(frozen=True)
class Question:
    intent: str
    procedure: Optional[str]  # named in this part of the message (or earlier in it)


@dataclass(frozen=True)
class Answer:
    response: Optional[str] = None  # a domain response ...
    text: Optional[str] = None  # ... or a clinic fact (actions/data/procedures.yml)
    offer: Optional[str] = None


def questions_of(message: Dict[str, Any]) -> list[Question]:
    """The questions to answer, in order, from the parse data."""
    segments = message.get("segments") or []
    planned = [
        Question(str(s["intent"]), s.get("procedure"))
        for s in segments
        if s.get("answer") and s.get("intent") in ANSWERED_INTENTS
    ]
    if planned:
        return planned
    intent = (message.get("intent") or {}).get("name")
    if intent not in ANSWERED_INTENTS:
        return []
    entities = message.get("entities") or []
    named = [e.get("value") for e in entities if e.get("entity") == PROCEDURE_ENTITY]
    return [Question(str(intent), str(named[0]) if named else None)]


def requested(message: Dict[str, Any]) -> Optional[str]:
    """The request the message makes besides its questions ("…and I'd like to book")."""
    return next(
        (
            str(s["intent"])
            for s in message.get("segments") or []
            if s.get("answer") and s.get("intent") in REQUEST_INTENTS
        ),
        None,
    )


def greeted(message: Dict[str, Any]) -> bool:
    return any(s.get("role") == "greeting" for s in message.get("segments") or [])


def answer_for(intent: str, procedure: Optional[str], language: Optional[str]) -> list[Answer]:
    """The answer to one question; side effects and risks follow the treatment in context."""
    if intent == NOT_COVERED_INTENT:
        return [Answer("utter_not_covered", offer=OFFER_COORDINATOR)]
    if intent in ("ask_botox_side_effects", "ask_surgery_risks"):
        if procedure == MEDICATION:
            return [Answer("utter_medication_side_effects_unknown", offer=OFFER_COORDINATOR)]
        if procedure == SURGERY:
            return [Answer("utter_surgery_risks")]
        if procedure == BOTOX:
            return [Answer("utter_botox_side_effects")]
    if intent == "ask_cost":
        return [Answer("utter_cost", offer=OFFER_BOOKING)]
    if intent in ("ask_hospital_stay", "ask_travel"):
        return logistics_answers(intent, procedure, language)
    return [Answer(TOPIC_RESPONSES[intent])]


def logistics_answers(intent: str, key: Optional[str], language: Optional[str]) -> list[Answer]:
    procedure = procedures().get(key) if key else None
    if procedure is None:
        if intent == "ask_hospital_stay":
            return [Answer("utter_ask_procedure_for_stay")]
        return [Answer("utter_ask_procedure_for_trip")]
    stay = procedure.facts["hospital_stay"].in_language(language)
    if intent == "ask_hospital_stay":
        return [Answer(text=stay)]
    what_happens = procedure.facts["what_happens"].in_language(language)
    return [
        Answer(text=f"{what_happens} {stay}"),
        Answer("utter_trip_planned_by_coordinator", offer=OFFER_BOOKING),
    ]


def procedure_before_message(tracker: Tracker) -> Optional[str]:
    """The treatment the conversation was about before the latest message."""
    value: Optional[str] = None
    events = list(tracker.events)
    last_user = max((i for i, e in enumerate(events) if e.get("event") == "user"), default=-1)
    for event in events[: max(last_user, 0)]:
        if event.get("event") == "slot" and event.get("name") == PROCEDURE_SLOT:
            value = event.get("value")
    return value


class ActionAnswerMedical(Action):
    def name(self) -> str:
        return ANSWER_ACTION

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        message = tracker.latest_message or {}
        events: List[EventType] = []
        language = tracker.get_slot(LANGUAGE_SLOT)
        if not language:
            # the first message decides (bot/nlg.py answers in it too): keep it from now on
            user_events = (e.get("parse_data") for e in tracker.events if e.get("event") == "user")
            language = first_guess(user_events)
            if language:
                events.append(SlotSet(LANGUAGE_SLOT, language))
        questions = questions_of(message)
        if greeted(message):
            dispatcher.utter_message(response="utter_greeting_line")
        shown = bool(tracker.get_slot(DISCLAIMER_SHOWN_SLOT))
        if not shown and any(q.intent in _NEEDS_DISCLAIMER for q in questions):
            dispatcher.utter_message(response="utter_medical_disclaimer")
            events.append(SlotSet(DISCLAIMER_SHOWN_SLOT, True))
        context = procedure_before_message(tracker)
        offer: Optional[str] = None
        for question in questions:
            context = question.procedure or _TOPIC_PROCEDURE.get(question.intent) or context
            for answer in answer_for(question.intent, context, language):
                if answer.text is not None:
                    dispatcher.utter_message(text=answer.text)
                else:
                    dispatcher.utter_message(response=answer.response)
                offer = answer.offer or offer
        request = None if tracker.active_loop_name else requested(message)
        if not questions and request is None:
            dispatcher.utter_message(response="utter_ask_rephrase")
        if context != tracker.get_slot(PROCEDURE_SLOT):
            events.append(SlotSet(PROCEDURE_SLOT, context))
        if request is not None:  # the form or the handoff offer takes over from here
            return [*events, SlotSet(ANSWER_OFFER_SLOT, None), FollowupAction(REQUESTS[request])]
        events.append(SlotSet(ANSWER_OFFER_SLOT, offer))
        return events


# What a "yes" right after an answer leads to, by what the answer offered (run as the next
# action, so that the form and the handoff rules see them).
OFFER_FOLLOW_UPS: Dict[str, str] = {
    OFFER_BOOKING: "booking_form",
    OFFER_COORDINATOR: "utter_confirm_handoff",
}
# What a request made beside the questions of a message leads to, after the answers.
REQUESTS: Dict[str, str] = {
    BOOK_CONSULTATION_INTENT: OFFER_FOLLOW_UPS[OFFER_BOOKING],
    REQUEST_HUMAN_INTENT: OFFER_FOLLOW_UPS[OFFER_COORDINATOR],
}


class ActionAcceptOffer(Action):
    """A "yes" after an answer: the consultation or the coordinator it offered, else help."""

    def name(self) -> str:
        return "action_accept_offer"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        follow_up = OFFER_FOLLOW_UPS.get(str(tracker.get_slot(ANSWER_OFFER_SLOT)))
        if follow_up is None:  # nothing was offered: a plain yes
            dispatcher.utter_message(response="utter_how_can_help")
            return [SlotSet(ANSWER_OFFER_SLOT, None)]
        return [SlotSet(ANSWER_OFFER_SLOT, None), FollowupAction(follow_up)]
