"""Reach a patient from another process (action server, workers, scripts): a small client
of the patient channels endpoint (`POST {RASA_URL}/webhooks/patients/send`).

The bot's own proactive messages go this way, like a coordinator's: the endpoint picks
the patient's channel, checks WhatsApp's 24-hour window and records the message in the
conversation. Pass the same `message_id` on a retry; it is never sent twice.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Mapping, Optional

import requests

DEFAULT_RASA_URL = "http://127.0.0.1:5005"


@dataclass(frozen=True)
class SendAnswer:
    status_code: int
    body: Mapping[str, Any]

    @property
    def delivered(self) -> bool:
        return self.status_code == 200


class PatientChannelsClient:
    def __init__(
        self, base_url: str, token: str, timeout: tuple[float, float] = (3.05, 30.0)
    ) -> None:
        self._url = base_url.rstrip("/") + "/webhooks/patients/send"
        self._headers = {"Authorization": f"Bearer {token}"}
        self._timeout = timeout

    @classmethod
    def from_environment(cls) -> Optional[PatientChannelsClient]:
        """From RASA_URL and RASA_AUTH_TOKEN; None when no token is set."""
        token = os.environ.get("RASA_AUTH_TOKEN", "").strip()
        if not token:
            return None
        return cls(os.environ.get("RASA_URL", "").strip() or DEFAULT_RASA_URL, token)

    def send_response(
        self,
        conversation_id: str,
        message_id: str,
        response: str,
        variables: Optional[Mapping[str, str]] = None,
    ) -> SendAnswer:
        """A domain response in the patient's language, spoken by the bot."""
        body: dict[str, Any] = {
            "conversation_id": conversation_id,
            "message_id": message_id,
            "response": response,
        }
        if variables:
            body["variables"] = dict(variables)
        return self.send(body)

    def send(self, body: Mapping[str, Any]) -> SendAnswer:
        answer = requests.post(
            self._url, json=dict(body), headers=self._headers, timeout=self._timeout
        )
        try:
            data = answer.json()
        except ValueError:
            data = {}
        return SendAnswer(answer.status_code, data if isinstance(data, Mapping) else {})
