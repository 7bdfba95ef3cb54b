"""Rasa's REST channel with the limits of every patient channel (bot/channels/limits.py).

Registered in `credentials.yml` as `bot.channels.rest.LimitedRestInput`; its name stays
`rest`, so the URL is the same: `POST /webhooks/rest/webhook {"sender", "message",
"metadata"}` (also `?stream=true`). What it adds:

- a body that is not a JSON object with a string `sender` and `message` (and an object or
  no `metadata`) gets a 400 with a short JSON error, never a 500 or a stack trace;
- the message is cut to `BOT_MAX_MESSAGE_CHARS` and rate-limited per sender before NLU;
- for every route of the Rasa server (REST, socket.io polling, WhatsApp, Twilio, the HTTP
  API): a body that has not fully arrived `BOT_REQUEST_BODY_TIMEOUT` seconds (default 15)
  after its headers gets a 408 and the connection is closed. Sanic's own REQUEST_TIMEOUT is
  restarted by every byte received, so a client trickling a body would hold a request open
  forever; this bounds the whole body.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from asyncio import CancelledError
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Dict, Optional, Union

import rasa.utils.endpoints
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, Sanic, response
from sanic.exceptions import RequestTimeout
from sanic.request import Request
from sanic.response import HTTPResponse, ResponseStream

from bot.channels.limits import limited_inbound

logger = logging.getLogger(__name__)

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]
MAX_SENDER_CHARS = 256
DEFAULT_BODY_TIMEOUT = 15.0


def body_timeout() -> float:
    value = os.environ.get("BOT_REQUEST_BODY_TIMEOUT") or ""
    try:
        return float(value) if value else DEFAULT_BODY_TIMEOUT
    except ValueError:
        return DEFAULT_BODY_TIMEOUT


class DeadlineRequest(Request):
    """Sanic's request whose whole body must arrive within `body_timeout()` seconds."""

    async def receive_body(self) -> None:
        try:
            await asyncio.wait_for(super().receive_body(), body_timeout())
        except asyncio.TimeoutError:
            logger.warning("A request body did not arrive in time: 408.")
            raise RequestTimeout("the request body did not arrive in time") from None


class DeadlineBlueprint(Blueprint):
    """Installs `DeadlineRequest` for the whole app when the channel is mounted."""

    def register(self, app: Sanic, options: Dict[str, Any]) -> None:
        if app.request_class is None or app.request_class is Request:
            app.request_class = DeadlineRequest
        super().register(app, options)


class BadRestRequest(ValueError):
    """The body is not a message this channel accepts (the text is the 400's `error`)."""


@dataclass(frozen=True)
class RestRequest:
    sender: str
    text: str
    input_channel: str
    metadata: Dict[str, Any] = field(default_factory=dict)


def parse_rest_request(body: bytes, default_channel: str = "rest") -> RestRequest:
    """The message in a REST body; `BadRestRequest` for anything else."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):  # invalid JSON or UTF-8, absurd nesting
        raise BadRestRequest("the body must be a JSON object") from None
    if not isinstance(data, dict):
        raise BadRestRequest("the body must be a JSON object")
    sender, text, metadata = data.get("sender"), data.get("message"), data.get("metadata")
    if not isinstance(sender, str) or not 0 < len(sender) <= MAX_SENDER_CHARS:
        raise BadRestRequest(f"`sender` must be a string of 1 to {MAX_SENDER_CHARS} characters")
    if not sender.isprintable():
        raise BadRestRequest("`sender` must not contain control characters")
    if not isinstance(text, str):
        raise BadRestRequest("`message` must be a string")
    if metadata is not None and not isinstance(metadata, dict):
        raise BadRestRequest("`metadata` must be an object")
    channel = data.get("input_channel")
    return RestRequest(
        sender,
        text,
        channel if isinstance(channel, str) and channel.isidentifier() else default_channel,
        metadata or {},
    )


class LimitedRestInput(RestInput):
    """`rest`, with validated bodies and the patient channels' limits."""

    @classmethod
    def name(cls) -> str:
        return "rest"

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        webhook = DeadlineBlueprint(f"custom_webhook_{type(self).__name__}", __name__)

        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        async def receive(request: Request) -> Union[ResponseStream, HTTPResponse]:
            try:
                parsed = parse_rest_request(request.body, self.name())
            except BadRestRequest as error:
                return response.json({"error": str(error)}, status=400)
            agent = getattr(request.app.ctx, "agent", None)

            async def limited(message: UserMessage) -> None:
                await limited_inbound().handle(message, on_new_message, agent)

            if rasa.utils.endpoints.bool_arg(request, "stream", default=False):
                return response.stream(
                    self.stream_response(
                        limited,
                        parsed.text,
                        parsed.sender,
                        parsed.input_channel,
                        parsed.metadata,
                    ),
                    content_type="text/event-stream",
                )
            collector = CollectingOutputChannel()
            message = UserMessage(
                parsed.text,
                collector,
                parsed.sender,
                input_channel=parsed.input_channel,
                metadata=parsed.metadata,
            )
            try:
                await limited(message)
            except CancelledError:
                logger.error("A REST message timed out.")
            except Exception as error:  # the boundary: no text, no stack trace to the patient
                logger.error("Processing a REST message failed: %s", type(error).__name__)
                logger.debug("Processing a REST message failed.", exc_info=True)
            return response.json(collector.messages)

        webhook.add_route(health, "/", methods=["GET"])
        webhook.add_route(receive, "/webhook", methods=["POST"])  # type: ignore[arg-type]
        return webhook

    def get_metadata(self, request: Request) -> Optional[Dict[str, Any]]:
        try:
            return parse_rest_request(request.body).metadata
        except BadRestRequest:
            return None
