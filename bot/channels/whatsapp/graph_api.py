"""A small client for the WhatsApp Cloud API (Meta's Graph API), with `requests`.

Timeouts on every call; retries with backoff on 429 and 5xx (honouring `Retry-After`) and
on connection errors. Errors are logged with status and Meta's error code only: never a
phone number, a name or message text.
"""

from __future__ import annotations

import email.utils
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import requests

logger = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class GraphApiError(Exception):
    """A Graph API call failed for good (after retries, or with a non-retryable error)."""

    def __init__(self, operation: str, status: int | None, code: int | None) -> None:
        super().__init__(f"WhatsApp API {operation} failed (status={status}, code={code})")
        self.operation = operation
        self.status = status
        self.code = code


class MediaTooLarge(Exception):
    """The media file is larger than the configured limit."""


@dataclass(frozen=True)
class MediaInfo:
    url: str
    mime_type: str
    sha256: str | None
    file_size: int | None


class GraphApiClient:
    def __init__(
        self,
        base_url: str,
        access_token: str,
        phone_number_id: str,
        *,
        timeout: tuple[float, float] = (3.05, 20.0),
        attempts: int = 4,
        max_retry_after: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._access_token = access_token
        self._phone_number_id = phone_number_id
        self._timeout = timeout
        self._attempts = max(1, attempts)
        self._max_retry_after = max_retry_after
        self._sleep = sleep
        self._local = threading.local()  # one requests.Session per worker thread

    def send_message(self, to: str, body: Mapping[str, Any]) -> str | None:
        """Sends one message; returns WhatsApp's message id."""
        payload = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to,
            **body,
        }
        response = self._call("POST", f"/{self._phone_number_id}/messages", "send", json=payload)
        messages = _json(response).get("messages")
        if isinstance(messages, list) and messages and isinstance(messages[0], Mapping):
            return str(messages[0].get("id") or "") or None
        return None

    def mark_read(self, message_id: str) -> None:
        payload = {"messaging_product": "whatsapp", "status": "read", "message_id": message_id}
        self._call("POST", f"/{self._phone_number_id}/messages", "mark_read", json=payload)

    def media_info(self, media_id: str) -> MediaInfo:
        response = self._call(
            "GET", f"/{media_id}", "media_info", params={"phone_number_id": self._phone_number_id}
        )
        data = _json(response)
        if not isinstance(data.get("url"), str):
            raise GraphApiError("media_info", response.status_code, None)
        size = str(data.get("file_size") or "")
        return MediaInfo(
            url=data["url"],
            mime_type=str(data.get("mime_type") or "").split(";")[0].strip(),
            sha256=data.get("sha256") if isinstance(data.get("sha256"), str) else None,
            file_size=int(size) if size.isdigit() else None,
        )

    def download_media(self, url: str, max_bytes: int) -> bytes:
        """Downloads a media URL (with the token), refusing more than `max_bytes`."""
        response = self._call("GET", url, "download_media", stream=True)
        with response:
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise MediaTooLarge()
            content = bytearray()
            for chunk in response.iter_content(chunk_size=64 * 1024):
                content += chunk
                if len(content) > max_bytes:
                    raise MediaTooLarge()
        return bytes(content)

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.headers["Authorization"] = f"Bearer {self._access_token}"
            self._local.session = session
        return session

    def _call(
        self, method: str, path_or_url: str, operation: str, **kwargs: Any
    ) -> requests.Response:
        url = path_or_url if "://" in path_or_url else f"{self._base_url}{path_or_url}"
        for attempt in range(1, self._attempts + 1):
            last = attempt == self._attempts
            try:
                response = self._session().request(method, url, timeout=self._timeout, **kwargs)
            except (requests.ConnectionError, requests.Timeout) as error:
                logger.warning(
                    "WhatsApp API %s: %s (attempt %d/%d)",
                    operation,
                    type(error).__name__,
                    attempt,
                    self._attempts,
                )
                if last:
                    raise GraphApiError(operation, None, None) from None
                self._sleep(self._backoff(attempt, None))
                continue
            if response.status_code < 400:
                return response
            code = _error_code(response)
            retryable = response.status_code in RETRY_STATUSES
            logger.warning(
                "WhatsApp API %s: status %d, error code %s (attempt %d/%d)",
                operation,
                response.status_code,
                code,
                attempt,
                self._attempts,
            )
            if not retryable or last:
                response.close()
                raise GraphApiError(operation, response.status_code, code)
            delay = self._backoff(attempt, response.headers.get("Retry-After"))
            response.close()
            self._sleep(delay)
        raise GraphApiError(operation, None, None)  # unreachable: the loop returns or raises

    def _backoff(self, attempt: int, retry_after: str | None) -> float:
        delay = _retry_after_seconds(retry_after)
        if delay is None:
            delay = 0.5 * 2 ** (attempt - 1)
        return min(max(delay, 0.0), self._max_retry_after)


def _retry_after_seconds(value: str | None) -> float | None:
    """`Retry-After` as seconds: either a number or an HTTP date."""
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return moment.timestamp() - time.time()


def _json(response: requests.Response) -> Mapping[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, Mapping) else {}


def _error_code(response: requests.Response) -> int | None:
    error = _json(response).get("error")
    if isinstance(error, Mapping) and isinstance(error.get("code"), int):
        return int(error["code"])
    return None
