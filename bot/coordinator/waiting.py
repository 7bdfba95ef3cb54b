"""A held conversation whose latest patient message no coordinator has answered for
`CONSOLE_WAITING_NOTICE_MINUTES` gets, once per such message, `utter_coordinator_shortly`
("a coordinator will be with you shortly") in the patient's language. Pure decision here;
the service sends it through the outbox with a message id derived from the message."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone
from typing import Any, Mapping, Optional, Sequence

from bot.coordinator.transcript import COORDINATOR

NOTICE_RESPONSE = "utter_coordinator_shortly"


def unanswered_patient_message(
    events: Sequence[Mapping[str, Any]],
    held_since: datetime,
    now: datetime,
    after: timedelta,
    already_noticed: Optional[str],
) -> Optional[str]:
    """The marker (the patient event's timestamp) that needs a notice now, else None."""
    since = held_since.replace(tzinfo=timezone.utc).timestamp()
    latest_patient: Optional[float] = None
    for event in events:
        timestamp = event.get("timestamp")
        if not isinstance(timestamp, int | float) or timestamp < since:
            continue
        if event.get("event") == "user":
            latest_patient = latest_patient if latest_patient else float(timestamp)
        elif (
            event.get("event") == "bot" and (event.get("metadata") or {}).get("from") == COORDINATOR
        ):
            latest_patient = None  # answered: wait for the next patient message
    if latest_patient is None:
        return None
    marker = f"{latest_patient:.6f}"
    waited = now - datetime.fromtimestamp(latest_patient, tz=timezone.utc)
    return marker if waited >= after and marker != already_noticed else None


def notice_message_id(conversation_id: str, marker: str) -> str:
    digest = hashlib.sha256(f"{conversation_id}|{marker}".encode()).hexdigest()[:40]
    return f"w-{digest}"
