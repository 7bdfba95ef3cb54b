"""The patient channels endpoint: one way to reach a patient on the channel they use.

Registered in `credentials.yml` as `bot.channels.patients.PatientChannelsInput`:

- `POST /webhooks/patients/send` (bearer token = `RASA_AUTH_TOKEN`): a coordinator's message,
  a domain response in the patient's language, or a WhatsApp template, delivered to the
  conversation's latest input channel (widget room, WhatsApp Cloud API, Twilio) and then
  recorded in the tracker as a `BotUttered` with metadata (`from`, `name`, `message_id`,
  `utter_action`). Idempotent by `message_id`; nothing is recorded when delivery fails.
- `GET /webhooks/patients/health` (no auth).

The contract is fixed (the coordinator console depends on it; see docs/architecture.md,
"Patient channels endpoint"). Validation, the window check and the metadata are plain
functions; the Sanic handler and the channel senders do the I/O. The bot's own proactive
messages use the same path: `PatientChannels.send` in this process, or the HTTP endpoint
from another one (`bot/channels/patients_client.py`).
"""

from __future__ import annotations

import hmac
import logging
import os
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Awaitable, Callable, Iterable, Mapping, Optional, Sequence

from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.shared.core.events import BotUttered
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.inbound import anonymous
from bot.channels.outgoing import DeliveryFailed, Outgoing, PatientSender, Template
from bot.languages import DEFAULT_LANGUAGE, normalise_language
from bot.names import LANGUAGE_SLOT, WHATSAPP_CHANNEL, WHATSAPP_CHANNELS

logger = logging.getLogger(__name__)

TOKEN_VARIABLE = "RASA_AUTH_TOKEN"
WINDOW = timedelta(hours=24)  # WhatsApp's customer-service window
# Domain responses the console sends through this endpoint (bot/validate.py counts them as
# used; any other domain response may be sent too).
COORDINATOR_RESPONSES = (
    "utter_coordinator_joined",
    "utter_coordinator_left",
    "utter_coordinator_shortly",
)
TEXT_MAX = 4096
NAME_MAX = 80
BUTTONS_MAX = 10
_MESSAGE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_RESPONSE = re.compile(r"utter_\w{1,100}")
_VARIABLE = re.compile(r"[A-Za-z_]\w{0,63}")
_TEMPLATE_NAME = re.compile(r"[a-z0-9_]{1,512}")
_TEMPLATE_LANGUAGE = re.compile(r"[a-z]{2,3}(_[A-Z]{2})?")

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


class BadRequest(ValueError):
    """The request body breaks the contract; the message is safe to return."""


@dataclass(frozen=True)
class SendRequest:
    conversation_id: str
    message_id: str
    text: Optional[str] = None
    response: Optional[str] = None
    variables: Mapping[str, str] = field(default_factory=dict)
    buttons: tuple[dict[str, str], ...] = ()
    coordinator: Optional[str] = None  # the coordinator's name; None: the bot speaks
    template: Optional[Template] = None


@dataclass(frozen=True)
class SendResult:
    http_status: int
    body: dict[str, Any]


# ---- pure logic -----------------------------------------------------------------------


def parse_send_request(body: Any) -> SendRequest:
    """The request, validated; raises BadRequest naming the first problem."""
    if not isinstance(body, Mapping):
        raise BadRequest("the body must be a JSON object")
    conversation_id = body.get("conversation_id")
    if not isinstance(conversation_id, str) or not 0 < len(conversation_id) <= 255:
        raise BadRequest("conversation_id must be a non-empty string")
    message_id = body.get("message_id")
    if not isinstance(message_id, str) or not _MESSAGE_ID.fullmatch(message_id):
        raise BadRequest("message_id must match [A-Za-z0-9_-]{1,64}")
    given = [key for key in ("text", "response", "whatsapp_template") if body.get(key) is not None]
    if len(given) != 1:
        raise BadRequest("exactly one of text, response, whatsapp_template is required")
    text = body.get("text")
    if text is not None and (not isinstance(text, str) or not 0 < len(text.strip()) <= TEXT_MAX):
        raise BadRequest(f"text must be a non-empty string of at most {TEXT_MAX} characters")
    utter = body.get("response")
    if utter is not None and (not isinstance(utter, str) or not _RESPONSE.fullmatch(utter)):
        raise BadRequest("response must be the name of a domain response (utter_...)")
    return SendRequest(
        conversation_id=conversation_id,
        message_id=message_id,
        text=text.strip() if isinstance(text, str) else None,
        response=utter,
        variables=_variables(body.get("variables")),
        buttons=_buttons(body.get("buttons")),
        coordinator=_coordinator(body.get("sender")),
        template=_template(body.get("whatsapp_template")),
    )


def _variables(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping) or len(value) > 20:
        raise BadRequest("variables must be an object (at most 20 entries)")
    variables = {}
    for key, item in value.items():
        if not isinstance(key, str) or not _VARIABLE.fullmatch(key):
            raise BadRequest("variables: names are letters, digits and _")
        if isinstance(item, bool) or not isinstance(item, str | int | float):
            raise BadRequest("variables: values are strings or numbers")
        if len(str(item)) > 200:
            raise BadRequest("variables: values have at most 200 characters")
        variables[key] = str(item)
    return variables


def _buttons(value: Any) -> tuple[dict[str, str], ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or len(value) > BUTTONS_MAX:
        raise BadRequest(f"buttons must be a list of at most {BUTTONS_MAX}")
    buttons = []
    for button in value:
        title = button.get("title") if isinstance(button, Mapping) else None
        payload = button.get("payload") if isinstance(button, Mapping) else None
        if not isinstance(title, str) or not 0 < len(title.strip()) <= NAME_MAX:
            raise BadRequest("buttons: each needs a title of at most 80 characters")
        if not isinstance(payload, str) or not 0 < len(payload) <= 256:
            raise BadRequest("buttons: each needs a payload of at most 256 characters")
        buttons.append({"title": title.strip(), "payload": payload})
    return tuple(buttons)


def _coordinator(value: Any) -> Optional[str]:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise BadRequest("sender must be an object or null")
    role = value.get("role")
    if role in (None, "bot"):
        return None
    name = value.get("name")
    if role != "coordinator" or not isinstance(name, str) or not 0 < len(name.strip()) <= NAME_MAX:
        raise BadRequest('sender must be {"role": "coordinator", "name": "..."} or null')
    return name.strip()


def _template(value: Any) -> Optional[Template]:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise BadRequest("whatsapp_template must be an object")
    name, language = value.get("name"), value.get("language")
    parameters = value.get("parameters") or []
    if not isinstance(name, str) or not _TEMPLATE_NAME.fullmatch(name):
        raise BadRequest("whatsapp_template.name must be a template name (a-z, 0-9, _)")
    if not isinstance(language, str) or not _TEMPLATE_LANGUAGE.fullmatch(language):
        raise BadRequest("whatsapp_template.language must be a code such as tr or en_US")
    if not isinstance(parameters, list) or not all(
        isinstance(p, str) and 0 < len(p) <= 1024 for p in parameters
    ):
        raise BadRequest("whatsapp_template.parameters must be a list of strings")
    return Template(name, language, tuple(parameters))


def already_sent(events: Iterable[Mapping[str, Any]], message_id: str) -> bool:
    """Whether a bot message with this `metadata.message_id` is in the tracker."""
    return sent_text(events, message_id) is not None


def sent_text(events: Iterable[Mapping[str, Any]], message_id: str) -> Optional[str]:
    """The text of the bot message with this `metadata.message_id`, None if there is none."""
    for event in events:
        metadata = event.get("metadata") or {}
        if event.get("event") == "bot" and metadata.get("message_id") == message_id:
            return str(event.get("text") or "")
    return None


def window_closes_at(events: Sequence[Mapping[str, Any]]) -> Optional[datetime]:
    """When WhatsApp's 24-hour window of the patient's latest WhatsApp message ends; None
    when the patient never wrote on WhatsApp."""
    for event in reversed(events):
        if event.get("event") == "user" and event.get("input_channel") in WHATSAPP_CHANNELS:
            written = datetime.fromtimestamp(float(event.get("timestamp") or 0), timezone.utc)
            return written + WINDOW
    return None


def window_closed(
    channel: Optional[str], events: Sequence[Mapping[str, Any]], now: datetime
) -> tuple[bool, Optional[datetime]]:
    """(free text is refused, when the window closed) for a conversation on `channel`."""
    if channel not in WHATSAPP_CHANNELS:
        return False, None
    closes = window_closes_at(events)
    return closes is None or closes <= now, closes


def message_metadata(request: SendRequest) -> dict[str, Any]:
    """The BotUttered metadata that marks who spoke (the console's transcript reads it)."""
    metadata: dict[str, Any] = {
        "message_id": request.message_id,
        "from": "coordinator" if request.coordinator else "bot",
    }
    if request.coordinator:
        metadata["name"] = request.coordinator
    if request.response:
        metadata["utter_action"] = request.response
    if request.template:
        metadata["whatsapp_template"] = request.template.name
    return metadata


def template_text(template: Template) -> str:
    """How a template message appears in the tracker (the text lives with Meta)."""
    shown = f"[WhatsApp template {template.name}]"
    return " ".join([shown, *template.parameters])


def valid_token(header: Optional[str], token: str) -> bool:
    """`Authorization: Bearer TOKEN`, compared in constant time."""
    scheme, _, given = (header or "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        return False
    return hmac.compare_digest(given.strip().encode("utf-8"), token.encode("utf-8"))


def _error(status: int, error: str, **extra: Any) -> SendResult:
    return SendResult(status, {"error": error, **extra})


# ---- I/O: the tracker, the NLG, the channels ------------------------------------------


class PatientChannels:
    """Sends to patients from inside the Rasa process (the endpoint and proactive code)."""

    def __init__(self, agent: Any, senders: Mapping[str, PatientSender]) -> None:
        self._agent = agent
        self._senders = senders

    @classmethod
    def of_app(cls, app: Any) -> PatientChannels:
        senders: dict[str, PatientSender] = {}
        for channel in getattr(app.ctx, "input_channels", None) or []:
            make = getattr(channel, "patient_sender", None)
            sender = make() if callable(make) else None
            if sender is not None:
                senders[channel.name()] = sender
        return cls(app.ctx.agent, senders)

    async def send(self, request: SendRequest, now: Optional[datetime] = None) -> SendResult:
        agent = self._agent
        if agent is None or not agent.is_ready():
            return _error(503, "no_model")
        conversation = request.conversation_id
        async with agent.lock_store.lock(conversation):
            full = await agent.tracker_store.retrieve_full_tracker(conversation)
            if full is None or not full.events:
                return _error(404, "unknown_conversation")
            events = [event.as_dict() for event in full.events]
            channel = full.get_latest_input_channel()
            language = normalise_language(full.get_slot(LANGUAGE_SLOT)) or DEFAULT_LANGUAGE
            earlier = sent_text(events, request.message_id)
            if earlier is not None:
                body = {"status": "duplicate", "channel": channel, "language": language}
                return SendResult(200, {**body, "text": earlier})
            if request.template is not None and channel != WHATSAPP_CHANNEL:
                return _error(400, "whatsapp_template needs a WhatsApp Cloud API conversation")
            if request.template is None:
                closed, closes_at = window_closed(channel, events, now or _utcnow())
                if closed:
                    return _error(
                        409,
                        "window_closed",
                        window_closed_at=closes_at.isoformat() if closes_at else None,
                    )
            tracker = await agent.tracker_store.retrieve(conversation) or full
            outgoing = await self._outgoing(request, tracker, channel, language)
            if isinstance(outgoing, SendResult):
                return outgoing
            sender = self._senders.get(channel or "")
            status = "sent" if sender is not None else "recorded"
            if sender is not None:
                try:
                    await sender.send(conversation, outgoing)
                except DeliveryFailed as error:
                    logger.warning(
                        "Message %s to %s not delivered on %s: %s",
                        anonymous(request.message_id),
                        anonymous(conversation),
                        channel,
                        error,
                    )
                    return _error(502, "delivery_failed", channel=channel)
            data = {"buttons": list(outgoing.buttons)} if outgoing.buttons else {}
            tracker.update(BotUttered(outgoing.text, data, outgoing.metadata))
            await agent.tracker_store.save(tracker)
        logger.info(
            "Message %s to %s %s on %s (%s).",
            anonymous(request.message_id),
            anonymous(conversation),
            status,
            channel,
            message_metadata(request)["from"],
        )
        body = {"status": status, "channel": channel, "language": language, "text": outgoing.text}
        return SendResult(200, body)

    async def _outgoing(
        self, request: SendRequest, tracker: Any, channel: Optional[str], language: str
    ) -> Outgoing | SendResult:
        metadata = message_metadata(request)
        if request.template is not None:
            text = template_text(request.template)
            return Outgoing(text, language, metadata=metadata, template=request.template)
        if request.text is not None:
            return Outgoing(request.text, language, request.buttons, metadata)
        assert request.response is not None
        if request.response not in self._agent.domain.responses:
            return _error(400, "unknown response")
        rendered = await self._agent.nlg.generate(
            request.response, tracker, channel or "", **request.variables
        )
        text = str((rendered or {}).get("text") or "").strip()
        if not text:
            return _error(400, "the response has no text for this conversation")
        buttons = request.buttons or tuple(
            {"title": str(b.get("title")), "payload": str(b.get("payload"))}
            for b in (rendered or {}).get("buttons") or []
            if isinstance(b, Mapping) and b.get("payload")
        )
        if re.search(r"\{\w+\}", text):
            return _error(400, "variables are missing for this response")
        return Outgoing(text, language, buttons, metadata)


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class PatientChannelsInput(InputChannel):
    """Mounts the endpoint; it handles no patient messages itself."""

    @classmethod
    def name(cls) -> str:
        return "patients"

    @classmethod
    def from_credentials(cls, credentials: Optional[dict[str, Any]]) -> InputChannel:
        token = os.environ.get(TOKEN_VARIABLE, "").strip()
        if not token:
            logger.warning(
                "Patient channels endpoint disabled: %s is not set (it answers 503).",
                TOKEN_VARIABLE,
            )
        return cls(token or None)

    def __init__(self, token: Optional[str]) -> None:
        self.token = token

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        endpoint = Blueprint("patient_channels", __name__)

        @endpoint.route("/health", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @endpoint.route("/send", methods=["POST"])
        async def send(request: Request) -> HTTPResponse:
            result = await self._send(request)
            return response.json(result.body, status=result.http_status)

        return endpoint

    async def _send(self, request: Request) -> SendResult:
        if self.token is None:
            return _error(503, "disabled")
        if not valid_token(request.headers.get("Authorization"), self.token):
            return _error(401, "unauthorized")
        try:
            body = request.json
        except Exception:  # Sanic raises its own error on a body that is not JSON
            return _error(400, "the body must be JSON")
        try:
            send_request = parse_send_request(body)
        except BadRequest as error:
            return _error(400, str(error))
        try:
            return await PatientChannels.of_app(request.app).send(send_request)
        except Exception as error:  # the boundary: a JSON error, never a stack trace
            logger.error("Patient channels endpoint failed: %s", type(error).__name__)
            logger.debug("Patient channels endpoint failed.", exc_info=True)
            return _error(500, "internal_error")
