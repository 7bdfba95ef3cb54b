"""Names the domain defines and Python code uses: one place, as `rasa_sdk/constants.py` does.

Slots, entities, intents, forms and channel names that code in `bot/` and `actions/` refers
to. The domain files (`domain/*.yml`) are the source of truth; `tests/test_names.py` checks
that every name here exists there, so a rename breaks a test instead of a conversation.
"""

from __future__ import annotations

from typing import Final

# ---- slots ----------------------------------------------------------------------------
LANGUAGE_SLOT: Final = "language"
PROCEDURE_SLOT: Final = "procedure"
DISCLAIMER_SHOWN_SLOT: Final = "medical_disclaimer_shown"
TICKET_SLOT: Final = "handoff_ticket_id"
ANSWER_OFFER_SLOT: Final = "answer_offer"  # what the last answer offered: booking/coordinator
REQUESTED_SLOT: Final = "requested_slot"

BOOKING_CONSENT_SLOT: Final = "booking_consent"
BOOKING_CONSENT_AT_SLOT: Final = "booking_consent_at"
PATIENT_NAME_SLOT: Final = "patient_name"
CONTACT_SLOT: Final = "contact"
CONTACT_SUGGESTION_SLOT: Final = "contact_suggestion"
COUNTRY_SLOT: Final = "country"
CONTACT_LANGUAGE_SLOT: Final = "contact_language"
SYMPTOMS_SLOT: Final = "symptoms"
PREFERRED_DATES_SLOT: Final = "preferred_dates"
BOOKING_CONFIRMED_SLOT: Final = "booking_confirmed"
BOOKING_CHANGING_SLOT: Final = "booking_changing"
BOOKING_CANCELLED_SLOT: Final = "booking_cancelled"
BOOKING_INVALID_ATTEMPTS_SLOT: Final = "booking_invalid_attempts"

# ---- entities -------------------------------------------------------------------------
LANGUAGE_ENTITY: Final = "language"
PROCEDURE_ENTITY: Final = "procedure"
CONTACT_LANGUAGE_ENTITY: Final = "contact_language"
BOOKING_FIELD_ENTITY: Final = "booking_field"

# ---- forms ----------------------------------------------------------------------------
BOOKING_FORM: Final = "booking_form"

# ---- intents --------------------------------------------------------------------------
GREET_INTENT: Final = "greet"
AFFIRM_INTENT: Final = "affirm"
DENY_INTENT: Final = "deny"
BOT_CHALLENGE_INTENT: Final = "bot_challenge"
REQUEST_HUMAN_INTENT: Final = "request_human"
REPORT_EMERGENCY_INTENT: Final = "report_emergency"
BOOK_CONSULTATION_INTENT: Final = "book_consultation"
CHANGE_LANGUAGE_INTENT: Final = "change_language"
OUT_OF_SCOPE_INTENT: Final = "out_of_scope"
FALLBACK_INTENT: Final = "nlu_fallback"
NOT_COVERED_INTENT: Final = "ask_not_covered"
THANK_INTENT: Final = "thank"

# The questions one action answers (`action_answer_medical`), several per message if asked:
# data/rules/rules_medical.yml routes exactly these to it.
MEDICAL_TOPIC_INTENTS: Final = (
    "ask_what_is_hfs",
    "ask_causes",
    "ask_symptoms",
    "ask_diagnosis",
    "ask_treatment_options",
    "ask_medication",
    "ask_botox",
    "ask_botox_side_effects",
    "ask_surgery",
    "ask_surgery_results",
    "ask_surgery_risks",
    "ask_prevalence",
    "ask_prevention",
    "ask_similar_conditions",
)
ANSWERED_INTENTS: Final = (
    *MEDICAL_TOPIC_INTENTS,
    "ask_hospital_stay",
    "ask_cost",
    "ask_travel",
    NOT_COVERED_INTENT,
)
# Questions about a treatment: a risk named earlier in the message ("I am pregnant.")
# makes them questions the source cannot answer.
TREATMENT_INTENTS: Final = frozenset(
    {
        "ask_treatment_options",
        "ask_medication",
        "ask_botox",
        "ask_botox_side_effects",
        "ask_surgery",
        "ask_surgery_results",
        "ask_surgery_risks",
        "ask_hospital_stay",
        "ask_travel",
        "ask_prevention",
    }
)

TRIP_INTENTS: Final = frozenset({"ask_hospital_stay", "ask_cost", "ask_travel"})
# Requests a message can make besides its questions ("…and I'd like to book"): acted on after
# the answers, by the action that answers them (a follow-up: the form or the handoff offer).
REQUEST_INTENTS: Final = (BOOK_CONSULTATION_INTENT, REQUEST_HUMAN_INTENT)

# ---- actions --------------------------------------------------------------------------
ANSWER_ACTION: Final = "action_answer_medical"

# ---- input channels (InputChannel.name()) ---------------------------------------------
WIDGET_CHANNEL: Final = "socketio"
WHATSAPP_CHANNEL: Final = "whatsapp"
TWILIO_CHANNEL: Final = "twilio"
REST_CHANNEL: Final = "rest"
WHATSAPP_CHANNELS: Final = frozenset({WHATSAPP_CHANNEL, TWILIO_CHANNEL})
