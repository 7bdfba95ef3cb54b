"""Twilio's WhatsApp: Rasa's built-in `twilio` channel with what a clinic needs on top.

Same name and webhook as the built-in (`/webhooks/twilio/webhook`, sender ids such as
`whatsapp:+905321234567`, replies through Twilio's Messages API), plus:
- settings from the environment (`TWILIO_*`, `settings.load_twilio_settings`), disabled
  with 503 until they are set;
- the `X-Twilio-Signature` check (403 when missing or wrong);
- the same inbound code as the Cloud API channel (`inbound`): the language hint from the
  number on the first message, numbered menus the patient can answer by number, photos and
  files attached to the patient's ticket (or answered politely), one patient's messages in
  arrival order, processed message ids and menus in the shared store;
- no 500s, no phone numbers or texts in the logs;
- Twilio API calls in a worker thread, so a slow send never blocks other patients.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any, Awaitable, Callable, Mapping, Optional
from urllib.parse import parse_qsl

import requests
from rasa.core.channels.channel import OutputChannel, UserMessage
from rasa.core.channels.twilio import TwilioInput, TwilioOutput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator

from bot.channels.inbound import PatientState, SenderLocks, anonymous, patient_state
from bot.channels.outgoing import DeliveryFailed, Outgoing
from bot.channels.whatsapp.channel_texts import channel_texts
from bot.channels.whatsapp.inbound import (
    File,
    Incoming,
    Kind,
    MediaOutcome,
    attach,
    hand_to_rasa,
    language_hint,
    ticket_store,
    user_message,
)
from bot.channels.whatsapp.render import (
    choices_of,
    detect_text_language,
    numbered_menu,
    split_text,
)
from bot.channels.whatsapp.settings import TwilioSettings, load_twilio_settings
from bot.channels.whatsapp.store import ChannelStore, create_store
from bot.names import TWILIO_CHANNEL

logger = logging.getLogger(__name__)

TWILIO_BODY_MAX = 1600  # Twilio's limit for one WhatsApp message body
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
MEDIA_TIMEOUT = (3.05, 20.0)

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


class TwilioSendFailed(Exception):
    """Twilio refused or could not be reached (status and Twilio's error code only)."""


class TwilioWhatsAppOutput(TwilioOutput):
    """Twilio's output channel, with sends off the event loop and numbered menus."""

    def __init__(self, settings: TwilioSettings, store: ChannelStore) -> None:
        super().__init__(settings.account_sid, settings.auth_token, settings.twilio_number)
        if settings.api_base_url:
            self.api.base_url = settings.api_base_url.rstrip("/")
        self._store = store

    async def _send_message(self, message_data: dict[str, Any]) -> Any:
        try:
            return await self.send_or_raise(message_data)
        except TwilioSendFailed:
            return None

    async def send_or_raise(self, message_data: dict[str, Any]) -> Any:
        """Sends one message; raises TwilioSendFailed (used where a failure must be known)."""
        try:
            return await asyncio.to_thread(self.messages.create, **message_data)
        except (TwilioRestException, requests.RequestException, OSError) as error:
            logger.error(
                "Twilio message to %s not sent: status %s, error code %s",
                anonymous(str(message_data.get("to", ""))),
                getattr(error, "status", None),
                getattr(error, "code", None),
            )
            raise TwilioSendFailed() from None

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        try:
            await self.deliver(recipient_id, text, [])
        except TwilioSendFailed:
            return

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        try:
            await self.deliver(recipient_id, text, buttons)
        except TwilioSendFailed:
            return

    async def send_quick_replies(
        self, recipient_id: str, text: str, quick_replies: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        await self.send_text_with_buttons(recipient_id, text, quick_replies)

    async def deliver(self, recipient_id: str, text: str, buttons: list[dict[str, Any]]) -> None:
        """Text (and buttons as a numbered menu); raises TwilioSendFailed."""
        body, menu = twilio_body(text, buttons)
        for part in split_text(body, TWILIO_BODY_MAX):
            await self.send_or_raise(
                {"to": recipient_id, "from_": self.twilio_number, "body": part}
            )
        if menu:
            await asyncio.to_thread(self._store.remember_menu, recipient_id, menu)


class TwilioSender:
    """`PatientSender` for Twilio: the coordinator's or the bot's own message."""

    def __init__(self, output: TwilioWhatsAppOutput) -> None:
        self._output = output

    async def send(self, recipient_id: str, message: Outgoing) -> None:
        if message.template is not None:
            raise DeliveryFailed("templates are sent through the Cloud API only")
        try:
            await self._output.deliver(recipient_id, message.text, list(message.buttons))
        except TwilioSendFailed:
            raise DeliveryFailed("Twilio did not accept the message") from None


def twilio_body(text: str, buttons: list[dict[str, Any]]) -> tuple[str, tuple[str, ...]]:
    """The message body (buttons as a numbered menu, links as lines) and the menu payloads."""
    choices, links = choices_of(buttons)
    text = "\n".join([text, *links]).strip()
    if not choices:
        return text, ()
    menu = numbered_menu(choices, detect_text_language(text))
    return (f"{text}\n\n{menu}" if text else menu), tuple(c.payload for c in choices)


class TwilioWhatsAppInput(TwilioInput):
    """Rasa's `twilio` input channel for WhatsApp numbers (`whatsapp:+…`)."""

    @classmethod
    def from_credentials(cls, credentials: Optional[dict[str, Any]]) -> TwilioWhatsAppInput:
        settings, missing = load_twilio_settings(credentials, os.environ)
        if settings is None:
            logger.warning(
                "Twilio WhatsApp channel disabled: set %s (see docs/whatsapp.md); "
                "its webhook answers 503 until then.",
                ", ".join(missing),
            )
        return cls(settings)

    def __init__(self, settings: TwilioSettings | None) -> None:
        super().__init__(
            settings.account_sid if settings else None,
            settings.auth_token if settings else None,
            settings.twilio_number if settings else None,
            debug_mode=False,
        )
        self.settings = settings
        self._locks = SenderLocks()
        self._store: ChannelStore = create_store(settings.database_url if settings else None)

    def get_output_channel(self) -> TwilioWhatsAppOutput:
        assert self.settings is not None, "the Twilio channel is not configured"
        return TwilioWhatsAppOutput(self.settings, self._store)

    def patient_sender(self) -> TwilioSender | None:
        """For the patient channels endpoint; None while the channel is not configured."""
        return TwilioSender(self.get_output_channel()) if self.settings is not None else None

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        webhook = Blueprint("twilio_whatsapp_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok", "configured": self.settings is not None})

        @webhook.route("/webhook", methods=["POST"])
        async def message(request: Request) -> HTTPResponse:
            return await self._receive(request, on_new_message)

        return webhook

    async def _receive(self, request: Request, on_new_message: OnNewMessage) -> HTTPResponse:
        if self.settings is None:
            return response.json({"error": "the Twilio channel is not configured"}, status=503)
        # Twilio signs every parameter, empty ones too ("Body=" with a photo): parse them all.
        form = dict(
            parse_qsl((request.body or b"").decode("utf-8", "replace"), keep_blank_values=True)
        )
        url = self.settings.webhook_url or request.url
        signature = request.headers.get("X-Twilio-Signature", "")
        if not signature or not RequestValidator(self.settings.auth_token).validate(
            url, form, signature
        ):
            logger.warning("Twilio webhook call with a missing or wrong signature refused.")
            return response.json({"error": "invalid signature"}, status=403)
        sender = form.get("From") or ""
        message_sid = form.get("MessageSid") or form.get("SmsMessageSid") or ""
        if not sender:
            return response.json({"error": "no sender"}, status=400)
        try:
            fresh = not message_sid or await asyncio.to_thread(
                self._store.claim_message, message_sid
            )
        except Exception as error:  # the database is down: Twilio retries on a 5xx
            logger.error("Twilio message not recorded (%s).", type(error).__name__)
            return response.json({"error": "temporarily unavailable"}, status=503)
        if not fresh:
            logger.info("Twilio duplicate message ignored.")
            return self._twiml()
        async with self._locks.hold(sender):
            await self._process(form, sender, message_sid, request.app.ctx.agent, on_new_message)
        return self._twiml()

    async def _process(
        self,
        form: Mapping[str, Any],
        sender: str,
        message_sid: str,
        agent: Any,
        on_new_message: OnNewMessage,
    ) -> None:
        output = self.get_output_channel()
        state = PatientState(None, None)
        try:
            state = await patient_state(agent, sender)
            user_message = await self._user_message(form, sender, message_sid, state, output)
            await hand_to_rasa(user_message, on_new_message, agent)
        except Exception as error:  # a polite apology, never a 500 for Twilio to retry
            logger.error(
                "Twilio message from %s not handled: %s", anonymous(sender), type(error).__name__
            )
            hint = state.language or language_hint(sender, None)
            await output.send_text_message(sender, channel_texts(hint).technical_problem)

    async def _user_message(
        self,
        form: Mapping[str, Any],
        sender: str,
        message_sid: str,
        state: PatientState,
        output: OutputChannel,
    ) -> UserMessage:
        body = str(form.get("Body") or "").replace("¡", "@")  # as the built-in channel does
        kind = media_kind(form)
        outcome = MediaOutcome.UNSUPPORTED
        if kind is not None and state.ticket_id is not None and form.get("MediaUrl0"):
            outcome = await asyncio.to_thread(self._attach, form, state.ticket_id)
        incoming = Incoming(
            sender_id=sender,
            message_id=message_sid or None,
            kind=Kind.TEXT if kind is None else Kind.MEDIA,
            text=body,
            media_type=kind or "",
            metadata={
                TWILIO_CHANNEL: {
                    "from": sender,
                    "wa_id": form.get("WaId"),
                    "profile_name": form.get("ProfileName"),
                }
            },
        )
        menu = await asyncio.to_thread(self._store.take_menu, sender)
        return user_message(incoming, state, menu, output, self.name(), outcome)

    def _attach(self, form: Mapping[str, Any], ticket_id: str) -> MediaOutcome:
        """Downloads the message's first file from Twilio and attaches it (in a thread)."""
        assert self.settings is not None
        settings = self.settings
        media_type = str(form.get("MediaContentType0") or "").split(";")[0].strip()
        if media_type not in settings.media_types:
            logger.info("Twilio file not attached: type %s is not accepted.", media_type)
            return MediaOutcome.NOT_ATTACHED
        try:
            content = download_media(
                str(form["MediaUrl0"]),
                (settings.account_sid, settings.auth_token),
                settings.media_max_bytes,
            )
        except (requests.RequestException, MediaTooBig) as error:
            logger.warning("Twilio file not attached: %s.", type(error).__name__)
            return MediaOutcome.NOT_ATTACHED
        file = File(content, media_type)
        return attach(ticket_store, ticket_id, file, settings.media_types, settings.media_max_bytes)

    @staticmethod
    def _twiml() -> HTTPResponse:
        return response.text(EMPTY_TWIML, content_type="text/xml")


class MediaTooBig(Exception):
    """The file is larger than WHATSAPP_MEDIA_MAX_BYTES."""


def download_media(url: str, auth: tuple[str, str], max_bytes: int) -> bytes:
    """A Twilio media URL's content (HTTP basic auth, redirects followed), at most
    `max_bytes` (raises MediaTooBig beyond)."""
    with requests.get(url, auth=auth, timeout=MEDIA_TIMEOUT, stream=True) as answer:
        answer.raise_for_status()
        declared = answer.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            raise MediaTooBig()
        content = bytearray()
        for chunk in answer.iter_content(chunk_size=64 * 1024):
            content += chunk
            if len(content) > max_bytes:
                raise MediaTooBig()
    return bytes(content)


def media_kind(form: Mapping[str, Any]) -> str | None:
    """ "image", "audio", "video", "document" or "location" when the message is not text."""
    if form.get("Latitude") and form.get("Longitude"):
        return "location"
    if str(form.get("NumMedia") or "0") not in {"", "0"}:
        content_type = str(form.get("MediaContentType0") or "")
        top = content_type.split("/")[0]
        return top if top in {"image", "audio", "video"} else "document"
    return None
