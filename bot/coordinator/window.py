"""WhatsApp's 24-hour customer-service window. Pure: from the tracker's events and a clock.

Free text to a WhatsApp patient is allowed for 24 hours after the patient's latest message on
a WhatsApp channel (Cloud API `whatsapp` or `twilio`); afterwards only approved templates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Mapping, Optional, Sequence

from bot.names import WHATSAPP_CHANNELS

WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class Window:
    applies: bool  # the patient's channel is WhatsApp
    open: bool
    closes_at: Optional[datetime]
    seconds_left: int

    def as_json(self) -> dict[str, Any]:
        return {
            "applies": self.applies,
            "open": self.open,
            "closes_at": self.closes_at.isoformat() if self.closes_at else None,
            "seconds_left": self.seconds_left,
        }


def whatsapp_window(events: Sequence[Mapping[str, Any]], now: datetime) -> Window:
    latest_user = next((e for e in reversed(events) if e.get("event") == "user"), None)
    channel = latest_user.get("input_channel") if latest_user else None
    if channel not in WHATSAPP_CHANNELS:
        return Window(applies=False, open=True, closes_at=None, seconds_left=0)
    last_whatsapp = next(
        (
            e
            for e in reversed(events)
            if e.get("event") == "user" and e.get("input_channel") in WHATSAPP_CHANNELS
        ),
        None,
    )
    timestamp = (last_whatsapp or {}).get("timestamp")
    if not isinstance(timestamp, int | float):
        return Window(applies=True, open=False, closes_at=None, seconds_left=0)
    closes_at = datetime.fromtimestamp(timestamp, tz=timezone.utc) + WINDOW
    left = int((closes_at - now).total_seconds())
    return Window(applies=True, open=left > 0, closes_at=closes_at, seconds_left=max(left, 0))
