"""WhatsApp Cloud API channel for Rasa: webhook at /webhooks/whatsapp/webhook.

Inbound: `GET` answers Meta's verification handshake; `POST` checks the
`X-Hub-Signature-256` HMAC of the raw body before parsing, records each message id
(duplicates, e.g. Meta's retries, are dropped), answers 200 at once and processes the
messages in the background, one patient's messages in arrival order.

Outbound: `WhatsAppOutput` renders Rasa's messages (`render`) and sends them through the
Graph API (`graph_api`). Settings: `settings`; what both WhatsApp channels share: `inbound`.
See docs/whatsapp.md.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import os
from typing import Any, Awaitable, Callable, Optional

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.inbound import PatientState, SenderLocks, anonymous, patient_state
from bot.channels.outgoing import DeliveryFailed, Outgoing
from bot.channels.whatsapp.channel_texts import channel_texts
from bot.channels.whatsapp.graph_api import GraphApiClient, GraphApiError, MediaTooLarge
from bot.channels.whatsapp.inbound import (
    File,
    Incoming,
    Kind,
    MediaOutcome,
    attach,
    hand_to_rasa,
    ticket_store,
    user_message,
)
from bot.channels.whatsapp.payloads import (
    Delivery,
    Handling,
    InboundMessage,
    MalformedDelivery,
    Media,
    parse_delivery,
)
from bot.channels.whatsapp.phone_language import language_for_phone
from bot.channels.whatsapp.render import Outbound, render_message, template_message
from bot.channels.whatsapp.settings import WhatsAppSettings, load_settings
from bot.channels.whatsapp.store import ChannelStore, create_store
from bot.names import WHATSAPP_CHANNEL

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 3 * 1024 * 1024  # Meta's deliveries are a few kB; 3 MB is its documented cap
SIGNATURE_HEADER = "X-Hub-Signature-256"
RE_ENGAGEMENT_ERROR = 131047  # outside the 24-hour customer-service window
DRAIN_SECONDS = 20.0  # time given to messages in progress when the server stops

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


def valid_signature(body: bytes, header: str | None, app_secret: str) -> bool:
    """`X-Hub-Signature-256` is "sha256=" + hex HMAC-SHA256 of the raw body (constant time)."""
    if not header:
        return False
    expected = "sha256=" + hmac.new(app_secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(
        expected.encode("ascii"), header.strip().lower().encode("utf-8", "replace")
    )


def _error(status: int, message: str) -> HTTPResponse:
    return response.json({"error": message}, status=status)


class WhatsAppOutput(OutputChannel):
    """Sends Rasa's messages to one WhatsApp number through the Graph API."""

    @classmethod
    def name(cls) -> str:
        return WhatsAppInput.name()

    def __init__(self, client: GraphApiClient, store: ChannelStore) -> None:
        self._client = client
        self._store = store

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        for outbound in render_message(message):
            try:
                await asyncio.to_thread(self._client.send_message, recipient_id, outbound.body)
            except GraphApiError as error:
                if error.code == RE_ENGAGEMENT_ERROR:
                    logger.error(
                        "WhatsApp reply to %s not sent: the patient's 24-hour window is closed "
                        "(a template message is needed)",
                        anonymous(recipient_id),
                    )
                else:
                    logger.error(
                        "WhatsApp reply to %s not sent: %s", anonymous(recipient_id), error
                    )
                return
            if outbound.menu:
                await asyncio.to_thread(self._store.remember_menu, recipient_id, outbound.menu)

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self.send_response(recipient_id, {"text": text})

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        await self.send_response(recipient_id, {"text": text, "buttons": buttons})

    async def send_quick_replies(
        self, recipient_id: str, text: str, quick_replies: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        await self.send_response(recipient_id, {"text": text, "buttons": quick_replies})

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        await self.send_response(recipient_id, {"image": image})

    async def send_attachment(self, recipient_id: str, attachment: str, **kwargs: Any) -> None:
        await self.send_response(recipient_id, {"attachment": attachment})

    async def send_custom_json(
        self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any
    ) -> None:
        await self.send_response(recipient_id, {"custom": json_message})


class CloudApiSender:
    """Delivers a coordinator's or the bot's own message (`PatientSender`); raises
    DeliveryFailed when the Graph API refuses it or stays unreachable after retries."""

    def __init__(self, client: GraphApiClient, store: ChannelStore) -> None:
        self._client = client
        self._store = store

    async def send(self, recipient_id: str, message: Outgoing) -> None:
        if message.template is not None:
            template = message.template
            outbound = [template_message(template.name, template.language, template.parameters)]
        else:
            rasa_message = {"text": message.text, "buttons": list(message.buttons)}
            outbound = render_message(rasa_message, message.language)
        await self._send_all(recipient_id, outbound)

    async def _send_all(self, recipient_id: str, outbound: list[Outbound]) -> None:
        for part in outbound:
            try:
                await asyncio.to_thread(self._client.send_message, recipient_id, part.body)
            except GraphApiError as error:
                raise DeliveryFailed(f"status={error.status} code={error.code}") from None
            if part.menu:
                await asyncio.to_thread(self._store.remember_menu, recipient_id, part.menu)


class WhatsAppInput(InputChannel):
    """Meta's WhatsApp Cloud API webhook."""

    @classmethod
    def name(cls) -> str:
        return WHATSAPP_CHANNEL

    @classmethod
    def from_credentials(cls, credentials: Optional[dict[str, Any]]) -> InputChannel:
        settings, missing = load_settings(credentials, os.environ)
        if settings is None:
            logger.warning(
                "WhatsApp channel disabled: set %s (see docs/whatsapp.md); "
                "its webhook answers 503 until then.",
                ", ".join(missing),
            )
        return cls(settings)

    def __init__(self, settings: WhatsAppSettings | None) -> None:
        self.settings = settings
        self._locks = SenderLocks()
        self._tasks: set[asyncio.Task[None]] = set()
        self._client: GraphApiClient | None = None
        self._store: ChannelStore | None = None
        if settings is not None:
            self._client = GraphApiClient(
                settings.api_base_url, settings.access_token, settings.phone_number_id
            )
            self._store = create_store(settings.database_url)
            logger.info(
                "WhatsApp channel enabled (%s store).",
                "SQL" if settings.database_url else "in-memory",
            )

    def get_output_channel(self) -> OutputChannel | None:
        if self._client is None or self._store is None:
            return None
        return WhatsAppOutput(self._client, self._store)

    def patient_sender(self) -> CloudApiSender | None:
        """For the patient channels endpoint; None while the channel is not configured."""
        if self._client is None or self._store is None:
            return None
        return CloudApiSender(self._client, self._store)

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        webhook = Blueprint("whatsapp_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok", "configured": self.settings is not None})

        @webhook.route("/webhook", methods=["GET"])
        async def verify(request: Request) -> HTTPResponse:
            return self._verify(request)

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            return await self._receive(request, on_new_message)

        @webhook.listener("before_server_stop")
        async def drain(*_: Any) -> None:
            if self._tasks:
                await asyncio.wait(set(self._tasks), timeout=DRAIN_SECONDS)

        return webhook

    # --- inbound HTTP -------------------------------------------------------------

    def _verify(self, request: Request) -> HTTPResponse:
        if self.settings is None:
            return _error(503, "the WhatsApp channel is not configured")
        token = request.args.get("hub.verify_token") or ""
        challenge = request.args.get("hub.challenge") or ""
        if (
            request.args.get("hub.mode") == "subscribe"
            and challenge
            and hmac.compare_digest(
                token.encode("utf-8"), self.settings.verify_token.encode("utf-8")
            )
        ):
            logger.info("WhatsApp webhook verified by Meta.")
            return response.text(challenge)
        logger.warning("WhatsApp webhook verification refused.")
        return _error(403, "verification failed")

    async def _receive(self, request: Request, on_new_message: OnNewMessage) -> HTTPResponse:
        if self.settings is None or self._store is None:
            return _error(503, "the WhatsApp channel is not configured")
        body = request.body or b""
        if len(body) > MAX_BODY_BYTES:
            return _error(413, "payload too large")
        if not valid_signature(
            body, request.headers.get(SIGNATURE_HEADER), self.settings.app_secret
        ):
            logger.warning("WhatsApp webhook call with a missing or wrong signature refused.")
            return _error(403, "invalid signature")
        try:
            delivery = parse_delivery(json.loads(body), self.settings.phone_number_id)
        except (ValueError, RecursionError, MalformedDelivery):  # bad JSON/UTF-8, deep nesting
            return _error(400, "malformed JSON payload")
        fresh: list[InboundMessage] = []
        store_error: Exception | None = None
        try:
            for message in delivery.messages:
                if await self._claim(message):
                    fresh.append(message)
        except Exception as error:  # the database is down
            store_error = error
        self._log_delivery(delivery, len(fresh))
        if fresh:  # claimed ones now: a retry of this delivery would skip them
            self._start(self._process_all(fresh, request.app, on_new_message))
        if store_error is not None:  # the rest: Meta retries the delivery later
            logger.error(
                "WhatsApp delivery not recorded (%s); Meta will retry.", type(store_error).__name__
            )
            return _error(503, "temporarily unavailable")
        return response.json({"status": "received"})

    async def _claim(self, message: InboundMessage) -> bool:
        assert self._store is not None
        return await asyncio.to_thread(self._store.claim_message, message.message_id)

    def _log_delivery(self, delivery: Delivery, fresh: int) -> None:
        for code in delivery.failed_codes:
            hint = " (24-hour window closed)" if code == RE_ENGAGEMENT_ERROR else ""
            logger.warning(
                "WhatsApp reported a message not delivered: error code %d%s.", code, hint
            )
        logger.info(
            "WhatsApp delivery: %d message(s), %d new, %d status update(s), %d skipped.",
            len(delivery.messages),
            fresh,
            delivery.statuses,
            delivery.skipped,
        )

    def _start(self, work: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- processing ---------------------------------------------------------------

    async def _process_all(
        self, messages: list[InboundMessage], app: Any, on_new_message: OnNewMessage
    ) -> None:
        for message in messages:
            async with self._locks.hold(message.wa_id):
                await self._process(message, app.ctx.agent, on_new_message)

    async def _process(
        self, message: InboundMessage, agent: Any, on_new_message: OnNewMessage
    ) -> None:
        assert self._client is not None and self._store is not None
        if message.handling is Handling.IGNORED:
            return
        output = WhatsAppOutput(self._client, self._store)
        state = PatientState(None, None)
        try:
            await self._mark_read(message)
            state = await patient_state(agent, message.wa_id)
            user_message = await self._user_message(message, state, output)
            await hand_to_rasa(user_message, on_new_message, agent)
        except Exception as error:  # never let one message take the channel down
            logger.error(
                "WhatsApp message %s from %s not handled: %s",
                anonymous(message.message_id),
                anonymous(message.wa_id),
                type(error).__name__,
            )
            language = state.language or language_for_phone(message.wa_id)
            await output.send_text_message(message.wa_id, channel_texts(language).technical_problem)

    async def _mark_read(self, message: InboundMessage) -> None:
        assert self._client is not None
        try:
            await asyncio.to_thread(self._client.mark_read, message.message_id)
        except GraphApiError as error:
            logger.warning("WhatsApp read receipt not sent: %s", error)

    async def _user_message(
        self, message: InboundMessage, state: PatientState, output: WhatsAppOutput
    ) -> UserMessage:
        assert self._store is not None
        details: dict[str, Any] = {
            "wa_id": message.wa_id,
            "profile_name": message.profile_name,
            "message_type": message.message_type,
        }
        kind = {Handling.TEXT: Kind.TEXT, Handling.PAYLOAD: Kind.PAYLOAD}.get(
            message.handling, Kind.MEDIA
        )
        outcome = MediaOutcome.UNSUPPORTED
        if kind is Kind.MEDIA and message.media is not None:
            if state.ticket_id is not None:
                outcome = await asyncio.to_thread(self._attach, message.media, state.ticket_id)
            if message.media.caption:
                details["caption"] = message.media.caption
        incoming = Incoming(
            sender_id=message.wa_id,
            message_id=message.message_id,
            kind=kind,
            text=(message.payload if kind is Kind.PAYLOAD else message.text) or "",
            media_type=message.message_type,
            metadata={WHATSAPP_CHANNEL: details},
        )
        menu = await asyncio.to_thread(self._store.take_menu, message.wa_id)
        return user_message(incoming, state, menu, output, self.name(), outcome)

    def _attach(self, media: Media, ticket_id: str) -> MediaOutcome:
        """Downloads a file and attaches it to the patient's ticket (runs in a thread)."""
        assert self.settings is not None and self._client is not None
        limit = self.settings.media_max_bytes
        try:
            info = self._client.media_info(media.media_id)
            mime_type = info.mime_type or media.mime_type
            if not {mime_type, media.mime_type} <= self.settings.media_types:
                logger.info("WhatsApp file not attached: type %s is not accepted.", mime_type)
                return MediaOutcome.NOT_ATTACHED
            if info.file_size is not None and info.file_size > limit:
                raise MediaTooLarge()
            content = self._client.download_media(info.url, limit)
        except MediaTooLarge:
            logger.info("WhatsApp file not attached: larger than %d bytes.", limit)
            return MediaOutcome.NOT_ATTACHED
        except GraphApiError as error:
            logger.warning("WhatsApp file not attached: %s", error)
            return MediaOutcome.NOT_ATTACHED
        file = File(content, mime_type, media.filename, info.sha256 or media.sha256)
        return attach(ticket_store, ticket_id, file, self.settings.media_types, limit)
