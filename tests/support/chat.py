"""Talk to a running bot over its REST channel, and recognise its answers."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import requests

from tests.support.content import domain_responses

_RESPONSES = domain_responses()


def which_response(text: str) -> tuple[str, str] | None:
    """(response name, language) of a bot message, by exact text; None if unknown."""
    for name, variations in _RESPONSES.items():
        for variation in variations:
            if variation.text.strip() == text.strip():
                return name, variation.language
    return None


@dataclass
class RestChat:
    base_url: str
    sender: str = field(default_factory=lambda: f"test-{uuid.uuid4().hex[:12]}")

    def send(self, message: str, metadata: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        body: dict[str, Any] = {"sender": self.sender, "message": message}
        if metadata is not None:
            body["metadata"] = metadata
        response = requests.post(f"{self.base_url}/webhooks/rest/webhook", json=body, timeout=30)
        response.raise_for_status()
        return list(response.json())

    def answers(
        self, message: str, metadata: dict[str, Any] | None = None
    ) -> list[tuple[str, str] | None]:
        """The (response, language) of each bot message sent in reply."""
        return [which_response(m.get("text", "")) for m in self.send(message, metadata)]
