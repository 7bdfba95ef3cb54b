"""Twilio's WhatsApp: Rasa's built-in `twilio` channel with what a clinic needs on top.

Same name and webhook as the built-in (`/webhooks/twilio/webhook`, sender ids such as
`whatsapp:+905321234567`, replies through Twilio's Messages API), plus:
- settings from the environment (`TWILIO_*`), disabled with 503 until they are set;
- the `X-Twilio-Signature` check (403 when missing or wrong);
- the language hint from the number on the first message, and the sender's WhatsApp
  profile name and number in the message metadata, as the Cloud API channel does;
- photos, files and locations answered politely; buttons as a numbered menu whose
  numbers the patient can type back; no 500s, no phone numbers or texts in the logs;
- Twilio API calls in a worker thread, so a slow send never blocks other patients.
"""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Mapping, Optional
from urllib.parse import parse_qsl

from rasa.core.channels.channel import OutputChannel, UserMessage
from rasa.core.channels.twilio import TwilioInput, TwilioOutput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator

from bot.channels.channel_texts import channel_texts
from bot.channels.inbound import (
    MediaOutcome,
    anonymous,
    language_hint,
    media_payload,
    menu_choice,
    patient_state,
)
from bot.channels.whatsapp_render import choices_of, detect_text_language, numbered_menu, split_text
from bot.channels.whatsapp_store import ChannelStore, InMemoryChannelStore

logger = logging.getLogger(__name__)

TWILIO_BODY_MAX = 1600  # Twilio's limit for one WhatsApp message body
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
SETTINGS = {
    "account_sid": "TWILIO_ACCOUNT_SID",
    "auth_token": "TWILIO_AUTH_TOKEN",
    "twilio_number": "TWILIO_WHATSAPP_NUMBER",
    "webhook_url": "TWILIO_WEBHOOK_URL",  # optional: the public URL Twilio calls (behind a proxy)
    "api_base_url": "TWILIO_API_BASE_URL",  # optional: tests point it at a fake Twilio API
}
REQUIRED = ("account_sid", "auth_token", "twilio_number")

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


@dataclass(frozen=True)
class TwilioSettings:
    account_sid: str
    auth_token: str
    twilio_number: str
    webhook_url: str | None = None
    api_base_url: str | None = None


def load_twilio_settings(
    credentials: Mapping[str, Any] | None, environ: Mapping[str, str]
) -> tuple[TwilioSettings | None, list[str]]:
    values = {}
    for key, variable in SETTINGS.items():
        given = (credentials or {}).get(key)
        values[key] = str(given).strip() if given else environ.get(variable, "").strip()
    missing = [SETTINGS[key] for key in REQUIRED if not values[key]]
    if missing:
        return None, missing
    return (
        TwilioSettings(
            values["account_sid"],
            values["auth_token"],
            values["twilio_number"],
            values["webhook_url"] or None,
            values["api_base_url"] or None,
        ),
        [],
    )


class TwilioWhatsAppOutput(TwilioOutput):
    """Twilio's output channel, with sends off the event loop and numbered menus."""

    def __init__(self, settings: TwilioSettings, store: ChannelStore) -> None:
        super().__init__(settings.account_sid, settings.auth_token, settings.twilio_number)
        if settings.api_base_url:
            self.api.base_url = settings.api_base_url.rstrip("/")
        self._store = store

    async def _send_message(self, message_data: dict[str, Any]) -> Any:
        try:
            return await asyncio.to_thread(self.messages.create, **message_data)
        except TwilioRestException as error:
            logger.error(
                "Twilio message to %s not sent: status %s, error code %s",
                anonymous(str(message_data.get("to", ""))),
                error.status,
                error.code,
            )
            return None

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        for part in split_text(text, TWILIO_BODY_MAX):
            await self._send_message(
                {"to": recipient_id, "from_": self.twilio_number, "body": part}
            )

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        choices, links = choices_of(buttons)
        text = "\n".join([text, *links]).strip()
        if not choices:
            await self.send_text_message(recipient_id, text)
            return
        menu = numbered_menu(choices, detect_text_language(text))
        await self.send_text_message(recipient_id, f"{text}\n\n{menu}" if text else menu)
        await asyncio.to_thread(
            self._store.remember_menu, recipient_id, [c.payload for c in choices]
        )

    async def send_quick_replies(
        self, recipient_id: str, text: str, quick_replies: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        await self.send_text_with_buttons(recipient_id, text, quick_replies)


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
        self._store: ChannelStore = InMemoryChannelStore()

    def get_output_channel(self) -> OutputChannel:
        assert self.settings is not None, "the Twilio channel is not configured"
        return TwilioWhatsAppOutput(self.settings, self._store)

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
        if message_sid and not await asyncio.to_thread(self._store.claim_message, message_sid):
            logger.info("Twilio duplicate message ignored.")
            return self._twiml()
        output = self.get_output_channel()
        language: str | None = None
        try:
            state = await patient_state(request.app.ctx.agent, sender)
            language = state.language
            user_message = await self._user_message(
                form, sender, message_sid, state.language, output
            )
            await on_new_message(user_message)
        except Exception as error:  # a polite apology, never a 500 for Twilio to retry
            logger.error(
                "Twilio message from %s not handled: %s", anonymous(sender), type(error).__name__
            )
            hint = language or language_hint(sender, None)
            await output.send_text_message(sender, channel_texts(hint).technical_problem)
        return self._twiml()

    async def _user_message(
        self,
        form: Mapping[str, Any],
        sender: str,
        message_sid: str,
        language: str | None,
        output: OutputChannel,
    ) -> UserMessage:
        body = str(form.get("Body") or "").replace("¡", "@")  # as the built-in channel does
        metadata: dict[str, Any] = {
            "twilio": {
                "from": sender,
                "wa_id": form.get("WaId"),
                "profile_name": form.get("ProfileName"),
            }
        }
        kind = _media_kind(form)
        menu = await asyncio.to_thread(self._store.take_menu, sender)
        if kind is not None:
            text = media_payload(MediaOutcome.UNSUPPORTED, kind, language_hint(sender, language))
        else:
            text = menu_choice(body, menu) or body
            hint = None if text.startswith("/") else language_hint(sender, language, text)
            if hint:
                metadata["language"] = hint
        return UserMessage(
            text,
            output,
            sender,
            input_channel=self.name(),
            message_id=message_sid or None,
            metadata=metadata,
        )

    @staticmethod
    def _twiml() -> HTTPResponse:
        return response.text(EMPTY_TWIML, content_type="text/xml")


def _media_kind(form: Mapping[str, Any]) -> str | None:
    """ "image", "audio", "video", "document" or "location" when the message is not text."""
    if form.get("Latitude") and form.get("Longitude"):
        return "location"
    if str(form.get("NumMedia") or "0") not in {"", "0"}:
        content_type = str(form.get("MediaContentType0") or "")
        top = content_type.split("/")[0]
        return top if top in {"image", "audio", "video"} else "document"
    return None
