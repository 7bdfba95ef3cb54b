"""The consultation booking form: consent first, validated answers, a summary, a ticket.

Dialogue logic only: parsing lives in actions/booking_fields.py, storage in
actions/handoff_store.py. Each answer slot is filled by an `extract_<slot>` method only
when it is the question being asked; a question or a request in the middle of the form
("how much is it?", "I want a person") is left unfilled so that the form steps aside, the
question is answered (data/rules.yml) and the form asks again.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, List, Optional

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.booking_fields import (
    clean_text,
    country_name,
    format_contact,
    format_preferred_dates,
    isolated,
    parse_contact,
    parse_country,
    parse_name,
    parse_preferred_dates,
    region_code,
)
from actions.handoff import create_ticket, handoff_config, ticket_basics, transcript_summary
from actions.handoff_store import NewTicket
from bot.languages import DEFAULT_LANGUAGE, SUPPORTED_LANGUAGES
from bot.names import (
    AFFIRM_INTENT,
    BOOKING_CANCELLED_SLOT,
    BOOKING_CHANGING_SLOT,
    BOOKING_CONFIRMED_SLOT,
    BOOKING_CONSENT_AT_SLOT,
    BOOKING_CONSENT_SLOT,
    BOOKING_FIELD_ENTITY,
    BOOKING_FORM,
    BOOKING_INVALID_ATTEMPTS_SLOT,
    BOT_CHALLENGE_INTENT,
    CONTACT_LANGUAGE_ENTITY,
    CONTACT_LANGUAGE_SLOT,
    CONTACT_SLOT,
    CONTACT_SUGGESTION_SLOT,
    COUNTRY_SLOT,
    DENY_INTENT,
    LANGUAGE_SLOT,
    PATIENT_NAME_SLOT,
    PREFERRED_DATES_SLOT,
    REPORT_EMERGENCY_INTENT,
    REQUEST_HUMAN_INTENT,
    REQUESTED_SLOT,
    SYMPTOMS_SLOT,
    TICKET_SLOT,
    WHATSAPP_CHANNELS,
)
from bot.nlu.term_extractor import TermMatcher, read_term_files

logger = logging.getLogger(__name__)

FORM = BOOKING_FORM
ANSWER_SLOTS = (
    PATIENT_NAME_SLOT,
    COUNTRY_SLOT,
    CONTACT_SLOT,
    CONTACT_LANGUAGE_SLOT,
    SYMPTOMS_SLOT,
    PREFERRED_DATES_SLOT,
)
BOOKING_SLOTS = ANSWER_SLOTS + (
    BOOKING_CONSENT_SLOT,
    BOOKING_CONSENT_AT_SLOT,
    BOOKING_CONFIRMED_SLOT,
    CONTACT_SUGGESTION_SLOT,
    BOOKING_INVALID_ATTEMPTS_SLOT,
    BOOKING_CHANGING_SLOT,
    BOOKING_CANCELLED_SLOT,
)
DECLINED = ""  # the patient does not want to be contacted on the suggested number
MAX_INVALID_ANSWERS = 3  # the question is asked again at most twice, then a person is offered
# Besides every question about a topic (`ask_*`): requests that are never an answer.
INTERRUPTING_REQUESTS = frozenset(
    {REQUEST_HUMAN_INTENT, REPORT_EMERGENCY_INTENT, BOT_CHALLENGE_INTENT}
)
ALWAYS_INTERRUPTING = frozenset({REQUEST_HUMAN_INTENT, REPORT_EMERGENCY_INTENT})
INTERRUPTION_CONFIDENCE = 0.6  # calibrated probability over 28 intents
QUESTION_CONFIDENCE = 0.3  # a message ending in "?" needs less to count as a question
STOP_CONFIDENCE = 0.4  # low, because stopping is confirmed before anything is deleted
LANGUAGE_NAMES = {
    "en": "English",
    "ar": "العربية",
    "tr": "Türkçe",
    "ru": "Русский",
    "de": "Deutsch",
    "fr": "Français",
}
TERMS_DIR = Path(__file__).resolve().parent.parent / "data" / "terms"


def _language_matcher() -> TermMatcher:
    return TermMatcher(
        [t for t in read_term_files(TERMS_DIR.glob("*.yml")) if t.entity == LANGUAGE_SLOT]
    )


LANGUAGE_MATCHER = _language_matcher()


def is_interruption(tracker: Tracker) -> bool:
    """A question or request instead of an answer (free-text answers are kept otherwise)."""
    intent = tracker.latest_message.get("intent") or {}
    name, confidence = intent.get("name"), float(intent.get("confidence") or 0.0)
    if name in ALWAYS_INTERRUPTING and confidence >= INTERRUPTION_CONFIDENCE:
        return True
    if name == DENY_INTENT and confidence >= STOP_CONFIDENCE:
        return True  # "stop", "iptal", "отмена": the bot asks whether to cancel
    if not (str(name).startswith("ask_") or name in INTERRUPTING_REQUESTS):
        return False
    text = (tracker.latest_message.get("text") or "").strip()
    if text.endswith(("?", "؟")):
        return confidence >= QUESTION_CONFIDENCE
    if tracker.get_slot(REQUESTED_SLOT) == SYMPTOMS_SLOT:
        return False  # describing symptoms is the answer, even if it sounds like a topic
    return confidence >= INTERRUPTION_CONFIDENCE


def answer_text(tracker: Tracker, slot: str) -> Optional[str]:
    """The latest message's text when it answers `slot`, else None."""
    if tracker.get_slot(REQUESTED_SLOT) != slot or is_interruption(tracker):
        return None
    text = tracker.latest_message.get("text") or ""
    if text.startswith("/"):  # a button payload is not a typed answer
        return None
    return text


def chat_language(tracker: Tracker) -> str:
    return tracker.get_slot(LANGUAGE_SLOT) or DEFAULT_LANGUAGE


def whatsapp_number(tracker: Tracker) -> Optional[str]:
    """The patient's own number on WhatsApp (Cloud API: "905…", Twilio: "whatsapp:+905…")."""
    if tracker.get_latest_input_channel() not in WHATSAPP_CHANNELS:
        return None
    sender = tracker.sender_id.removeprefix("whatsapp:")
    digits = "".join(ch for ch in sender if ch.isdigit())
    return parse_contact(f"+{digits}", None) if digits else None


def stopped_because(tracker: Tracker) -> Optional[str]:
    """Why the form ends before the summary (the response that says so), else None."""
    if tracker.get_slot(BOOKING_CONSENT_SLOT) is False:
        return "utter_booking_no_consent"
    if tracker.get_slot(BOOKING_CANCELLED_SLOT):
        return "utter_booking_cancelled"
    if (tracker.get_slot(BOOKING_INVALID_ATTEMPTS_SLOT) or 0) >= MAX_INVALID_ANSWERS:
        return "utter_booking_too_many_attempts"
    return None


class ValidateBookingForm(FormValidationAction):
    def name(self) -> str:
        return "validate_booking_form"

    async def required_slots(
        self,
        domain_slots: List[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> List[str]:
        if stopped_because(tracker):
            return []  # the form ends; action_submit_booking says why
        return domain_slots

    # --- invalid answers: re-ask (the form repeats the question), then offer a person
    def _invalid(
        self,
        slot: str,
        value: Any,
        response: str,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
    ) -> Dict[str, Any]:
        if value is None:  # cleared on purpose ("change my contact"): just ask again
            return {slot: None}
        attempts = (tracker.get_slot(BOOKING_INVALID_ATTEMPTS_SLOT) or 0) + 1
        if attempts < MAX_INVALID_ANSWERS:
            dispatcher.utter_message(response=response)
        return {slot: None, BOOKING_INVALID_ATTEMPTS_SLOT: attempts}

    @staticmethod
    def _valid(slot: str, value: Any) -> Dict[str, Any]:
        # a valid answer also ends a "change something" detour: the summary comes next
        return {slot: value, BOOKING_INVALID_ATTEMPTS_SLOT: 0, BOOKING_CHANGING_SLOT: False}

    # --- consent
    async def validate_booking_consent(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        if value is True:
            return {
                BOOKING_CONSENT_SLOT: True,
                BOOKING_CONSENT_AT_SLOT: datetime.now(timezone.utc).isoformat(),
            }
        return {BOOKING_CONSENT_SLOT: value}

    # --- name
    async def extract_patient_name(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        text = answer_text(tracker, PATIENT_NAME_SLOT)
        return {PATIENT_NAME_SLOT: text} if text is not None else {}

    async def validate_patient_name(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        name = parse_name(str(value or ""))
        if name is None:
            return self._invalid(
                PATIENT_NAME_SLOT, value, "utter_invalid_patient_name", dispatcher, tracker
            )
        return self._valid(PATIENT_NAME_SLOT, name)

    # --- country
    async def extract_country(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        text = answer_text(tracker, COUNTRY_SLOT)
        return {COUNTRY_SLOT: text} if text is not None else {}

    async def validate_country(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        country = parse_country(str(value or ""))
        if country is None:
            return self._invalid(COUNTRY_SLOT, value, "utter_invalid_country", dispatcher, tracker)
        return self._valid(COUNTRY_SLOT, country)

    # --- contact (on WhatsApp: confirm the sender's number)
    async def extract_contact(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        if tracker.get_slot(REQUESTED_SLOT) != CONTACT_SLOT:
            return {}
        suggestion = tracker.get_slot(CONTACT_SUGGESTION_SLOT)
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        if suggestion and intent == AFFIRM_INTENT:
            return {CONTACT_SLOT: suggestion}
        if suggestion and intent == DENY_INTENT:
            # Only required slots survive extraction, so the "no" travels as an empty
            # contact; validate_contact turns it into "ask for another contact".
            return {CONTACT_SLOT: DECLINED}
        text = answer_text(tracker, CONTACT_SLOT)
        return {CONTACT_SLOT: text} if text is not None else {}

    async def validate_contact(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        if value == DECLINED and tracker.get_slot(CONTACT_SUGGESTION_SLOT):
            return {CONTACT_SLOT: None, CONTACT_SUGGESTION_SLOT: ""}
        region = region_code(tracker.get_slot(COUNTRY_SLOT))
        contact = parse_contact(str(value or ""), region)
        if contact is None:
            return self._invalid(CONTACT_SLOT, value, "utter_invalid_contact", dispatcher, tracker)
        return self._valid(CONTACT_SLOT, contact)

    # --- language of contact
    async def extract_contact_language(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        if tracker.get_slot(REQUESTED_SLOT) != CONTACT_LANGUAGE_SLOT:
            return {}
        chosen = next(tracker.get_latest_entity_values(CONTACT_LANGUAGE_ENTITY), None)
        if chosen:
            return {CONTACT_LANGUAGE_SLOT: chosen}
        text = answer_text(tracker, CONTACT_LANGUAGE_SLOT)
        return {CONTACT_LANGUAGE_SLOT: text} if text is not None else {}

    async def validate_contact_language(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        code = str(value or "").strip().lower()
        if code not in SUPPORTED_LANGUAGES:
            named = [e["value"] for e in LANGUAGE_MATCHER.find(str(value or ""))]
            code = named[0] if named else ""
        if code not in SUPPORTED_LANGUAGES:
            return self._invalid(
                CONTACT_LANGUAGE_SLOT, value, "utter_invalid_contact_language", dispatcher, tracker
            )
        return self._valid(CONTACT_LANGUAGE_SLOT, code)

    # --- symptoms
    async def extract_symptoms(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        text = answer_text(tracker, SYMPTOMS_SLOT)
        return {SYMPTOMS_SLOT: text} if text is not None else {}

    async def validate_symptoms(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        text = clean_text(str(value or ""))
        if len(text) < 3:
            return self._invalid(
                SYMPTOMS_SLOT, value, "utter_invalid_symptoms", dispatcher, tracker
            )
        return self._valid(SYMPTOMS_SLOT, text)

    # --- preferred dates
    async def extract_preferred_dates(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        text = answer_text(tracker, PREFERRED_DATES_SLOT)
        return {PREFERRED_DATES_SLOT: text} if text is not None else {}

    async def validate_preferred_dates(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        text = clean_text(str(value or ""), 200)
        when = parse_preferred_dates(text, chat_language(tracker))
        if when is None:
            return self._invalid(
                PREFERRED_DATES_SLOT, value, "utter_invalid_preferred_dates", dispatcher, tracker
            )
        return self._valid(PREFERRED_DATES_SLOT, when)

    # --- summary: confirm, change a field, or cancel
    async def extract_booking_confirmed(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        if tracker.get_slot(REQUESTED_SLOT) != BOOKING_CONFIRMED_SLOT:
            return {}
        field = next(tracker.get_latest_entity_values(BOOKING_FIELD_ENTITY), None)
        if field == "cancel":
            return {BOOKING_CANCELLED_SLOT: True, BOOKING_CHANGING_SLOT: False}
        if field in ANSWER_SLOTS:
            return {field: None}
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        if intent == AFFIRM_INTENT and not tracker.get_slot(BOOKING_CHANGING_SLOT):
            return {BOOKING_CONFIRMED_SLOT: True}
        if intent == DENY_INTENT:
            return {BOOKING_CONFIRMED_SLOT: False}
        return {}

    async def validate_booking_confirmed(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        if value is False:
            return {BOOKING_CONFIRMED_SLOT: None, BOOKING_CHANGING_SLOT: True}
        return {BOOKING_CONFIRMED_SLOT: value}


class ActionAskContact(Action):
    """On WhatsApp, offer the sender's own number first; elsewhere ask for a contact."""

    def name(self) -> str:
        return "action_ask_contact"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        suggestion = tracker.get_slot(CONTACT_SUGGESTION_SLOT)
        if suggestion is None:
            suggestion = whatsapp_number(tracker)
        if suggestion:
            language = chat_language(tracker)
            dispatcher.utter_message(
                response="utter_ask_contact_whatsapp",
                contact_suggestion=isolated(format_contact(suggestion), language),
            )
            return [SlotSet(CONTACT_SUGGESTION_SLOT, suggestion)]
        dispatcher.utter_message(response="utter_ask_contact")
        return []


class ActionAskBookingConfirmed(Action):
    """The summary to confirm, or — after "change something" — which answer to change."""

    def name(self) -> str:
        return "action_ask_booking_confirmed"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        if tracker.get_slot(BOOKING_CHANGING_SLOT):
            dispatcher.utter_message(response="utter_ask_what_to_change")
            return []
        dispatcher.utter_message(response="utter_ask_booking_confirmed", **booking_summary(tracker))
        return []


def booking_summary(tracker: Tracker) -> Dict[str, str]:
    """The answers as the patient reads them in the summary (the slots keep the values)."""
    language = chat_language(tracker)
    chosen = str(tracker.get_slot(CONTACT_LANGUAGE_SLOT) or "")
    shown = {
        PATIENT_NAME_SLOT: str(tracker.get_slot(PATIENT_NAME_SLOT) or ""),
        COUNTRY_SLOT: country_name(tracker.get_slot(COUNTRY_SLOT), language),
        CONTACT_SLOT: format_contact(tracker.get_slot(CONTACT_SLOT)),
        CONTACT_LANGUAGE_SLOT: LANGUAGE_NAMES.get(chosen, chosen),
        SYMPTOMS_SLOT: str(tracker.get_slot(SYMPTOMS_SLOT) or ""),
        PREFERRED_DATES_SLOT: format_preferred_dates(
            tracker.get_slot(PREFERRED_DATES_SLOT), language
        ),
    }
    return {slot: isolated(value, language) for slot, value in shown.items()}


def clear_booking() -> List[EventType]:
    return [SlotSet(slot, None) for slot in BOOKING_SLOTS] + [
        SlotSet(BOOKING_INVALID_ATTEMPTS_SLOT, 0)
    ]


class ActionSubmitBooking(Action):
    """The form has ended: store the ticket, or explain why nothing was stored."""

    def name(self) -> str:
        return "action_submit_booking"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        reason = stopped_because(tracker)
        if reason is None and tracker.get_slot(BOOKING_CONSENT_SLOT) is not True:
            reason = "utter_booking_no_consent"
        if reason is not None:
            dispatcher.utter_message(response=reason)
            return clear_booking()
        config = handoff_config()
        consent_at = tracker.get_slot(BOOKING_CONSENT_AT_SLOT)
        ticket = create_ticket(
            NewTicket(
                **ticket_basics(tracker, "booking"),
                form_data={slot: tracker.get_slot(slot) for slot in ANSWER_SLOTS},
                consent_at=datetime.fromisoformat(consent_at).replace(tzinfo=None)
                if consent_at
                else None,
                transcript_summary=transcript_summary(tracker, config.transcript_messages),
            )
        )
        if ticket is None:
            dispatcher.utter_message(response="utter_handoff_failed")
            return []  # the answers stay in the slots; the patient can try again
        dispatcher.utter_message(
            response="utter_booking_submitted",
            reference=ticket.reference,
            hours=config.coordinator_response_hours,
        )
        return clear_booking() + [SlotSet(TICKET_SLOT, ticket.id)]


class ActionCancelBooking(Action):
    def name(self) -> str:
        return "action_cancel_booking"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        dispatcher.utter_message(response="utter_booking_cancelled")
        return clear_booking()
