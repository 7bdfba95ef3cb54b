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
    parse_contact,
    parse_country,
    parse_name,
    parse_preferred_date,
)
from actions.handoff import create_ticket, handoff_config, ticket_basics, transcript_summary
from actions.handoff_store import NewTicket
from bot.languages import DEFAULT_LANGUAGE, SUPPORTED_LANGUAGES
from bot.names import WHATSAPP_CHANNELS
from bot.nlu.term_extractor import TermMatcher, read_term_files

logger = logging.getLogger(__name__)

FORM = "booking_form"
ANSWER_SLOTS = (
    "patient_name",
    "country",
    "contact",
    "contact_language",
    "symptoms",
    "preferred_dates",
)
BOOKING_SLOTS = ANSWER_SLOTS + (
    "booking_consent",
    "booking_consent_at",
    "booking_confirmed",
    "contact_suggestion",
    "booking_invalid_attempts",
    "booking_changing",
    "booking_cancelled",
)
DECLINED = ""  # the patient does not want to be contacted on the suggested number
MAX_INVALID_ANSWERS = 3  # the question is asked again at most twice, then a person is offered
# Besides every question about a topic (`ask_*`): requests that are never an answer.
INTERRUPTING_REQUESTS = frozenset({"request_human", "report_emergency", "bot_challenge"})
ALWAYS_INTERRUPTING = frozenset({"request_human", "report_emergency"})
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
        [t for t in read_term_files(TERMS_DIR.glob("*.yml")) if t.entity == "language"]
    )


LANGUAGE_MATCHER = _language_matcher()


def is_interruption(tracker: Tracker) -> bool:
    """A question or request instead of an answer (free-text answers are kept otherwise)."""
    intent = tracker.latest_message.get("intent") or {}
    name, confidence = intent.get("name"), float(intent.get("confidence") or 0.0)
    if name in ALWAYS_INTERRUPTING and confidence >= INTERRUPTION_CONFIDENCE:
        return True
    if name == "deny" and confidence >= STOP_CONFIDENCE:
        return True  # "stop", "iptal", "отмена": the bot asks whether to cancel
    if not (str(name).startswith("ask_") or name in INTERRUPTING_REQUESTS):
        return False
    text = (tracker.latest_message.get("text") or "").strip()
    if text.endswith(("?", "؟")):
        return confidence >= QUESTION_CONFIDENCE
    if tracker.get_slot("requested_slot") == "symptoms":
        return False  # describing symptoms is the answer, even if it sounds like a topic
    return confidence >= INTERRUPTION_CONFIDENCE


def answer_text(tracker: Tracker, slot: str) -> Optional[str]:
    """The latest message's text when it answers `slot`, else None."""
    if tracker.get_slot("requested_slot") != slot or is_interruption(tracker):
        return None
    text = tracker.latest_message.get("text") or ""
    if text.startswith("/"):  # a button payload is not a typed answer
        return None
    return text


def chat_language(tracker: Tracker) -> str:
    return tracker.get_slot("language") or DEFAULT_LANGUAGE


def whatsapp_number(tracker: Tracker) -> Optional[str]:
    """The patient's own number on WhatsApp (Cloud API: "905…", Twilio: "whatsapp:+905…")."""
    if tracker.get_latest_input_channel() not in WHATSAPP_CHANNELS:
        return None
    sender = tracker.sender_id.removeprefix("whatsapp:")
    digits = "".join(ch for ch in sender if ch.isdigit())
    return parse_contact(f"+{digits}", None) if digits else None


def stopped_because(tracker: Tracker) -> Optional[str]:
    """Why the form ends before the summary (the response that says so), else None."""
    if tracker.get_slot("booking_consent") is False:
        return "utter_booking_no_consent"
    if tracker.get_slot("booking_cancelled"):
        return "utter_booking_cancelled"
    if (tracker.get_slot("booking_invalid_attempts") or 0) >= MAX_INVALID_ANSWERS:
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
        attempts = (tracker.get_slot("booking_invalid_attempts") or 0) + 1
        if attempts < MAX_INVALID_ANSWERS:
            dispatcher.utter_message(response=response)
        return {slot: None, "booking_invalid_attempts": attempts}

    @staticmethod
    def _valid(slot: str, value: Any) -> Dict[str, Any]:
        # a valid answer also ends a "change something" detour: the summary comes next
        return {slot: value, "booking_invalid_attempts": 0, "booking_changing": False}

    # --- consent
    async def validate_booking_consent(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        if value is True:
            return {
                "booking_consent": True,
                "booking_consent_at": datetime.now(timezone.utc).isoformat(),
            }
        return {"booking_consent": value}

    # --- name
    async def extract_patient_name(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        text = answer_text(tracker, "patient_name")
        return {"patient_name": text} if text is not None else {}

    async def validate_patient_name(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        name = parse_name(str(value or ""))
        if name is None:
            return self._invalid(
                "patient_name", value, "utter_invalid_patient_name", dispatcher, tracker
            )
        return self._valid("patient_name", name)

    # --- country
    async def extract_country(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        text = answer_text(tracker, "country")
        return {"country": text} if text is not None else {}

    async def validate_country(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        country = parse_country(str(value or ""), chat_language(tracker))
        if country is None:
            return self._invalid("country", value, "utter_invalid_country", dispatcher, tracker)
        return self._valid("country", f"{country.name} ({country.region})")

    # --- contact (on WhatsApp: confirm the sender's number)
    async def extract_contact(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        if tracker.get_slot("requested_slot") != "contact":
            return {}
        suggestion = tracker.get_slot("contact_suggestion")
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        if suggestion and intent == "affirm":
            return {"contact": suggestion}
        if suggestion and intent == "deny":
            # Only required slots survive extraction, so the "no" travels as an empty
            # contact; validate_contact turns it into "ask for another contact".
            return {"contact": DECLINED}
        text = answer_text(tracker, "contact")
        return {"contact": text} if text is not None else {}

    async def validate_contact(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        if value == DECLINED and tracker.get_slot("contact_suggestion"):
            return {"contact": None, "contact_suggestion": ""}
        country = str(tracker.get_slot("country") or "")
        region = country[-3:-1] if country.endswith(")") else None
        contact = parse_contact(str(value or ""), region)
        if contact is None:
            return self._invalid("contact", value, "utter_invalid_contact", dispatcher, tracker)
        return self._valid("contact", contact)

    # --- language of contact
    async def extract_contact_language(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        if tracker.get_slot("requested_slot") != "contact_language":
            return {}
        chosen = next(tracker.get_latest_entity_values("contact_language"), None)
        if chosen:
            return {"contact_language": chosen}
        text = answer_text(tracker, "contact_language")
        return {"contact_language": text} if text is not None else {}

    async def validate_contact_language(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        code = str(value or "").strip().lower()
        if code not in SUPPORTED_LANGUAGES:
            named = [e["value"] for e in LANGUAGE_MATCHER.find(str(value or ""))]
            code = named[0] if named else ""
        if code not in SUPPORTED_LANGUAGES:
            return self._invalid(
                "contact_language", value, "utter_invalid_contact_language", dispatcher, tracker
            )
        return self._valid("contact_language", code)

    # --- symptoms
    async def extract_symptoms(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        text = answer_text(tracker, "symptoms")
        return {"symptoms": text} if text is not None else {}

    async def validate_symptoms(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        text = clean_text(str(value or ""))
        if len(text) < 3:
            return self._invalid("symptoms", value, "utter_invalid_symptoms", dispatcher, tracker)
        return self._valid("symptoms", text)

    # --- preferred dates
    async def extract_preferred_dates(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        text = answer_text(tracker, "preferred_dates")
        return {"preferred_dates": text} if text is not None else {}

    async def validate_preferred_dates(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        text = clean_text(str(value or ""), 200)
        when = parse_preferred_date(text, chat_language(tracker))
        if when is None:
            return self._invalid(
                "preferred_dates", value, "utter_invalid_preferred_dates", dispatcher, tracker
            )
        return self._valid("preferred_dates", f"{text} ({when:%Y-%m-%d})")

    # --- summary: confirm, change a field, or cancel
    async def extract_booking_confirmed(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        if tracker.get_slot("requested_slot") != "booking_confirmed":
            return {}
        field = next(tracker.get_latest_entity_values("booking_field"), None)
        if field == "cancel":
            return {"booking_cancelled": True, "booking_changing": False}
        if field in ANSWER_SLOTS:
            return {field: None}
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        if intent == "affirm" and not tracker.get_slot("booking_changing"):
            return {"booking_confirmed": True}
        if intent == "deny":
            return {"booking_confirmed": False}
        return {}

    async def validate_booking_confirmed(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        if value is False:
            return {"booking_confirmed": None, "booking_changing": True}
        return {"booking_confirmed": value}


class ActionAskContact(Action):
    """On WhatsApp, offer the sender's own number first; elsewhere ask for a contact."""

    def name(self) -> str:
        return "action_ask_contact"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        suggestion = tracker.get_slot("contact_suggestion")
        if suggestion is None:
            suggestion = whatsapp_number(tracker)
        if suggestion:
            dispatcher.utter_message(
                response="utter_ask_contact_whatsapp", contact_suggestion=suggestion
            )
            return [SlotSet("contact_suggestion", suggestion)]
        dispatcher.utter_message(response="utter_ask_contact")
        return []


class ActionAskBookingConfirmed(Action):
    """The summary to confirm, or — after "change something" — which answer to change."""

    def name(self) -> str:
        return "action_ask_booking_confirmed"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        if tracker.get_slot("booking_changing"):
            dispatcher.utter_message(response="utter_ask_what_to_change")
            return []
        language = tracker.get_slot("contact_language")
        dispatcher.utter_message(
            response="utter_ask_booking_confirmed",
            contact_language=LANGUAGE_NAMES.get(str(language), str(language)),
        )
        return []


def clear_booking() -> List[EventType]:
    return [SlotSet(slot, None) for slot in BOOKING_SLOTS] + [
        SlotSet("booking_invalid_attempts", 0)
    ]


class ActionSubmitBooking(Action):
    """The form has ended: store the ticket, or explain why nothing was stored."""

    def name(self) -> str:
        return "action_submit_booking"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        reason = stopped_because(tracker)
        if reason is None and tracker.get_slot("booking_consent") is not True:
            reason = "utter_booking_no_consent"
        if reason is not None:
            dispatcher.utter_message(response=reason)
            return clear_booking()
        config = handoff_config()
        consent_at = tracker.get_slot("booking_consent_at")
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
        return clear_booking() + [SlotSet("handoff_ticket_id", ticket.id)]


class ActionCancelBooking(Action):
    def name(self) -> str:
        return "action_cancel_booking"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        dispatcher.utter_message(response="utter_booking_cancelled")
        return clear_booking()
