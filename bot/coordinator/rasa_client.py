"""The only module that talks to the Rasa server: its HTTP API (tracker, pause/resume) and the
patient channels endpoint `POST /webhooks/patients/send` (docs: contract in
docs/coordinators.md). Base URL, token and the aiohttp session are injected."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional
from urllib.parse import quote

import aiohttp

TIMEOUT = aiohttp.ClientTimeout(total=15)
PATH_SAFE = ":+@!$&'()*,;="  # RFC 3986 path-segment characters that need no encoding


class RasaError(Exception):
    """Rasa answered, but not with success: `status` and the JSON `error` (if any)."""

    def __init__(self, status: int, error: str) -> None:
        super().__init__(f"{status} {error}")
        self.status = status
        self.error = error


class RasaUnavailable(Exception):
    """Rasa could not be reached (connection refused, timeout)."""


@dataclass(frozen=True)
class Delivery:
    status: str  # sent | recorded | duplicate
    channel: Optional[str]
    language: Optional[str]
    text: Optional[str]


class RasaClient:
    def __init__(self, base_url: str, token: str, session: aiohttp.ClientSession) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.session = session

    def _conversation_url(self, conversation_id: str, tail: str) -> str:
        # Rasa (Sanic) does not percent-decode the id in the path: characters allowed in a path
        # segment go as they are, or a Twilio id "whatsapp:+49…" would reach another tracker
        # ("whatsapp:%2B49…") and its pause would never silence the bot.
        return f"{self.base_url}/conversations/{quote(conversation_id, safe=PATH_SAFE)}/{tail}"

    async def _json(self, method: str, url: str, **kwargs: Any) -> Any:
        try:
            async with self.session.request(method, url, timeout=TIMEOUT, **kwargs) as response:
                try:
                    body = await response.json(content_type=None)
                except (ValueError, aiohttp.ContentTypeError):
                    body = None
                if response.status >= 400:
                    error = (
                        body.get("error") or body.get("reason") if isinstance(body, dict) else None
                    )
                    raise RasaError(response.status, str(error or "http_error"))
                return body
        except (aiohttp.ClientConnectionError, TimeoutError) as error:
            raise RasaUnavailable(type(error).__name__) from error

    async def tracker(self, conversation_id: str) -> dict[str, Any]:
        body = await self._json(
            "GET",
            self._conversation_url(conversation_id, "tracker"),
            params={"token": self.token, "include_events": "ALL"},
        )
        return body if isinstance(body, dict) else {}

    async def append_event(self, conversation_id: str, event: dict[str, Any]) -> None:
        await self._json(
            "POST",
            self._conversation_url(conversation_id, "tracker/events"),
            params={"token": self.token, "include_events": "NONE"},
            json=event,
        )

    async def pause(self, conversation_id: str) -> None:
        await self.append_event(conversation_id, {"event": "pause"})

    async def resume(self, conversation_id: str) -> None:
        await self.append_event(conversation_id, {"event": "resume"})

    async def send(self, payload: dict[str, Any]) -> Delivery:
        """POST /webhooks/patients/send (idempotent by payload["message_id"])."""
        body = await self._json(
            "POST",
            f"{self.base_url}/webhooks/patients/send",
            headers={"Authorization": f"Bearer {self.token}"},
            json=payload,
        )
        body = body if isinstance(body, dict) else {}
        return Delivery(
            status=str(body.get("status") or "sent"),
            channel=body.get("channel"),
            language=body.get("language"),
            text=body.get("text"),
        )
