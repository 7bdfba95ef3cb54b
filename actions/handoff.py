"""Handoff to a human coordinator: a ticket in the handoff store, then a clear next step.

The ticket is written first (actions/handoff_store.py); the delivery worker
(actions/delivery.py) sends it to the clinic's webhook. Logs name tickets by reference
only, never by the patient's name, number or messages.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Optional

import yaml
from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from actions.handoff_store import HandoffStore, NewTicket, Ticket
from bot.languages import DEFAULT_LANGUAGE
from bot.names import LANGUAGE_SLOT, REQUEST_HUMAN_INTENT, TICKET_SLOT

logger = logging.getLogger(__name__)
CONFIG_FILE = Path(__file__).parent / "handoff_config.yml"
# The bot's offer of a person after it did not understand twice (data/rules.yml, fallback).
FALLBACK_OFFER = "utter_offer_coordinator"


@dataclass(frozen=True)
class HandoffConfig:
    coordinator_response_hours: int
    transcript_messages: int


@lru_cache(maxsize=1)
def handoff_config(path: Path = CONFIG_FILE) -> HandoffConfig:
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    try:
        return HandoffConfig(
            coordinator_response_hours=int(raw["coordinator_response_hours"]),
            transcript_messages=int(raw["transcript_messages"]),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"{path}: invalid handoff configuration ({error})") from error


@lru_cache(maxsize=1)
def handoff_store() -> HandoffStore:
    return HandoffStore.from_environment()


def transcript_summary(tracker: Tracker, limit: int) -> str:
    """The latest messages of the conversation, oldest first: 'patient: …' / 'bot: …'."""
    lines = []
    for event in tracker.events:
        text = (event.get("text") or "").strip()
        if event.get("event") == "user" and text:
            lines.append(f"patient: {text}")
        elif event.get("event") == "bot" and text:
            lines.append(f"bot: {text}")
    return "\n".join(lines[-limit:])


def ticket_basics(tracker: Tracker, kind: str) -> Dict[str, Any]:
    return {
        "kind": kind,
        "channel": tracker.get_latest_input_channel() or "unknown",
        "sender_id": tracker.sender_id,
        "language": tracker.get_slot(LANGUAGE_SLOT) or DEFAULT_LANGUAGE,
    }


def handoff_kind(events: List[Dict[str, Any]]) -> str:
    """`fallback` when the patient asked for a person right after the bot's offer that
    follows its not understanding them, else `handoff`."""
    asked = [
        i
        for i, event in enumerate(events)
        if event.get("event") == "user"
        and (event.get("parse_data") or {}).get("intent", {}).get("name") == REQUEST_HUMAN_INTENT
    ]
    if not asked:
        return "handoff"
    for event in reversed(events[: asked[-1]]):
        if event.get("event") == "action" and event.get("name") != "action_listen":
            return "fallback" if event.get("name") == FALLBACK_OFFER else "handoff"
        if event.get("event") == "user":
            return "handoff"
    return "handoff"


def open_ticket(tracker: Tracker, kind: str) -> Optional[Ticket]:
    """A handoff or emergency ticket with the latest messages of the conversation."""
    summary = transcript_summary(tracker, handoff_config().transcript_messages)
    return create_ticket(NewTicket(**ticket_basics(tracker, kind), transcript_summary=summary))


def create_ticket(new: NewTicket) -> Optional[Ticket]:
    try:
        ticket = handoff_store().create(new)
    except SQLAlchemyError:
        logger.exception("could not store a %s ticket", new.kind)
        return None
    logger.info("%s ticket %s created", new.kind, ticket.reference)
    return ticket


class ActionHandoff(Action):
    """The patient agreed to pass the conversation to a coordinator."""

    def name(self) -> str:
        return "action_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        ticket = open_ticket(tracker, handoff_kind(tracker.events))
        if ticket is None:
            dispatcher.utter_message(response="utter_handoff_failed")
            return []
        dispatcher.utter_message(
            response="utter_handoff_created",
            reference=ticket.reference,
            hours=handoff_config().coordinator_response_hours,
        )
        return [SlotSet(TICKET_SLOT, ticket.id)]


class ActionEmergencyTicket(Action):
    """After the emergency instruction: let the coordinators know too (never instead)."""

    def name(self) -> str:
        return "action_emergency_ticket"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        ticket = open_ticket(tracker, "emergency")
        if ticket is None:
            return []
        dispatcher.utter_message(
            response="utter_emergency_ticket_created", reference=ticket.reference
        )
        return [SlotSet(TICKET_SLOT, ticket.id)]


handoff_config()  # a broken configuration stops the action server at start-up
