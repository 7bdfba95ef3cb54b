"""A message for one patient, and what a channel must offer to deliver it.

The patient channels endpoint (`bot/channels/patients.py`) picks the channel the patient
uses; each channel module implements `PatientSender` next to its own output code (widget:
socket.io room, WhatsApp Cloud API: Graph API, Twilio: Messages API).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


class DeliveryFailed(Exception):
    """The channel could not deliver the message (after its own retries)."""


@dataclass(frozen=True)
class Template:
    """A WhatsApp message template approved for the clinic's number (Cloud API only)."""

    name: str
    language: str
    parameters: tuple[str, ...] = ()


@dataclass(frozen=True)
class Outgoing:
    text: str
    language: str
    buttons: tuple[dict[str, str], ...] = ()
    metadata: dict[str, Any] = field(default_factory=dict)  # shown by our widget
    template: Template | None = None


class PatientSender(Protocol):
    async def send(self, recipient_id: str, message: Outgoing) -> None:
        """Delivers the message or raises DeliveryFailed."""
