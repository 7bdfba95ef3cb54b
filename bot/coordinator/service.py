"""What the console does: the queue, conversations, takeover, messages, hand back, close.

The HTTP layer (app.py) translates the exceptions here into JSON errors once. Coordinator
messages are written to the outbox first, then delivered through Rasa's patient channels
endpoint with the message id as idempotency key; failed deliveries are retried.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Optional

from sqlalchemy import MetaData, Table, inspect, select
from sqlalchemy.engine import Engine

from actions.handoff_store import OUTCOMES, HandoffStore, Ticket
from bot.coordinator import content, waiting
from bot.coordinator.config import Settings
from bot.coordinator.live import Hub, LiveEvent
from bot.coordinator.rasa_client import RasaClient, RasaError, RasaUnavailable
from bot.coordinator.store import ConsoleStore, OutboxMessage, User, iso, new_message_id, utcnow
from bot.coordinator.transcript import fill, is_paused, latest_channel, patient_language, turns
from bot.coordinator.translation import Translator
from bot.coordinator.window import whatsapp_window
from bot.languages import DEFAULT_LANGUAGE

logger = logging.getLogger(__name__)
MESSAGE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MAX_TEXT = 4000
JOINED, LEFT = "utter_coordinator_joined", "utter_coordinator_left"
MAX_RETRY = timedelta(minutes=10)


class ConsoleError(Exception):
    """A request the console refuses: HTTP `status` and a JSON `error` code."""

    def __init__(self, status: int, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.status, self.error, self.extra = status, error, extra


@dataclass(frozen=True)
class Attachment:
    id: str
    ticket_id: str
    filename: str
    media_type: str
    size: int
    created_at: Optional[datetime]

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "ticket_id": self.ticket_id,
            "filename": self.filename,
            "media_type": self.media_type,
            "size": self.size,
            "created_at": iso(self.created_at),
            "url": f"/api/attachments/{self.id}",
        }


class Attachments:
    """The handoff store's `ticket_attachments` table (read through reflection, so the
    console works with stores written before that table existed)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _table(self) -> Optional[Table]:
        if not inspect(self.engine).has_table("ticket_attachments"):
            return None
        return Table("ticket_attachments", MetaData(), autoload_with=self.engine)

    def for_tickets(self, ticket_ids: list[str]) -> list[Attachment]:
        table = self._table()
        if table is None or not ticket_ids:
            return []
        columns = [c for c in table.c if c.name != "content"]
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(*columns).where(table.c.ticket_id.in_(ticket_ids))
            ).mappings()
            return [
                Attachment(
                    str(row["id"]),
                    str(row["ticket_id"]),
                    str(row.get("filename") or "attachment"),
                    str(row.get("media_type") or "application/octet-stream"),
                    int(row.get("size") or 0),
                    row.get("created_at"),
                )
                for row in rows
            ]

    def content(self, attachment_id: str) -> Optional[tuple[Attachment, str, bytes]]:
        """(attachment, conversation id, bytes) or None."""
        table = self._table()
        if table is None:
            return None
        with self.engine.connect() as connection:
            row = (
                connection.execute(select(table).where(table.c.id == attachment_id))
                .mappings()
                .first()
            )
            if row is None:
                return None
            tickets = Table("handoff_tickets", MetaData(), autoload_with=connection)
            sender = connection.execute(
                select(tickets.c.sender_id).where(tickets.c.id == row["ticket_id"])
            ).scalar()
        attachment = Attachment(
            str(row["id"]),
            str(row["ticket_id"]),
            str(row.get("filename") or "attachment"),
            str(row.get("media_type") or "application/octet-stream"),
            int(row.get("size") or 0),
            row.get("created_at"),
        )
        return attachment, str(sender or ""), bytes(row["content"] or b"")


def ticket_json(ticket: Ticket, now: datetime) -> dict[str, Any]:
    waiting_seconds = int((now - ticket.created_at).total_seconds())
    return {
        "id": ticket.id,
        "reference": ticket.reference,
        "kind": ticket.kind,
        "status": ticket.status,
        "language": ticket.language,
        "channel": ticket.channel,
        "conversation_id": ticket.sender_id,
        "created_at": iso(ticket.created_at),
        "assignee": ticket.assignee,
        "waiting_seconds": max(waiting_seconds, 0),
        "outcome": ticket.outcome,
        "closed_at": iso(ticket.closed_at),
    }


def _may_send_free_text(tracker: dict[str, Any]) -> bool:
    """False outside WhatsApp's 24-hour window: the "joined" / "back" notices are free text
    that WhatsApp would refuse (they would only stand as failed messages in the transcript)."""
    window = whatsapp_window(tracker.get("events") or [], datetime.now(timezone.utc))
    return not window.applies or window.open


def retry_delay(attempts: int, base: float) -> timedelta:
    return min(timedelta(seconds=base * (2 ** min(attempts, 10))), MAX_RETRY)


class Console:
    def __init__(
        self,
        settings: Settings,
        store: ConsoleStore,
        tickets: HandoffStore,
        rasa: RasaClient,
        hub: Hub,
        translator: Translator,
    ) -> None:
        self.settings = settings
        self.store = store
        self.tickets = tickets
        self.rasa = rasa
        self.hub = hub
        self.translator = translator
        self.attachments = Attachments(tickets.engine)
        self._delivery_lock = asyncio.Lock()

    # ---- reading ----------------------------------------------------------------------
    async def queue(self) -> list[dict[str, Any]]:
        now = utcnow()
        return [ticket_json(t, now) for t in await asyncio.to_thread(self.tickets.queue)]

    async def _tracker(self, conversation_id: str) -> dict[str, Any]:
        try:
            tracker = await self.rasa.tracker(conversation_id)
        except RasaUnavailable as error:
            raise ConsoleError(503, "rasa_unavailable") from error
        except RasaError as error:
            raise ConsoleError(
                502 if error.status != 404 else 404, "rasa_" + error.error
            ) from error
        return tracker

    async def conversation(self, conversation_id: str, user: User) -> dict[str, Any]:
        tracker, tickets = await asyncio.gather(
            self._tracker(conversation_id),
            asyncio.to_thread(self.tickets.for_sender, conversation_id),
        )
        events = tracker.get("events") or []
        if not events and not tickets:
            raise ConsoleError(404, "unknown_conversation")
        language = patient_language(tracker)
        transcript = [
            turn.as_json()
            for turn in turns(
                events,
                user.language,
                content.domain_responses(),
                content.topics(),
                tracker.get("slots") or {},
            )
        ]
        if not isinstance(self.translator, type(None)) and self.translator.name != "none":
            for turn in transcript:
                if turn["role"] == "patient" and turn.get("language") != user.language:
                    translated = self.translator.translate(
                        turn["text"], turn.get("language"), user.language
                    )
                    if translated:
                        turn["machine_translation"] = translated
        hold = self.store.hold(conversation_id)
        outbox = [
            self._preview(m.public(), m, user) for m in self.store.outbox_for(conversation_id)
        ]
        attachments = self.attachments.for_tickets([t.id for t in tickets])
        now = utcnow()
        return {
            "conversation_id": conversation_id,
            "language": language or (tickets[-1].language if tickets else None),
            "channel": latest_channel(events) or (tickets[-1].channel if tickets else None),
            "paused": bool(tracker.get("paused", is_paused(events))),
            "held_by": hold.username if hold else None,
            "held_since": iso(hold.since) if hold else None,
            "turns": transcript,
            "pending": [m for m in outbox if m["status"] != "sent"],
            "tickets": [
                {
                    **ticket_json(t, now),
                    "form_data": t.form_data,
                    "consent_at": iso(t.consent_at),
                    "transcript_summary": t.transcript_summary,
                }
                for t in tickets
            ],
            "attachments": [a.as_json() for a in attachments],
            "window": whatsapp_window(events, datetime.now(timezone.utc)).as_json(),
        }

    @staticmethod
    def _preview(public: dict[str, Any], message: OutboxMessage, user: User) -> dict[str, Any]:
        """A bot-spoken notice not delivered yet: its text in the coordinator's language."""
        response = message.payload.get("response")
        if not public.get("text") and response:
            variants = content.domain_responses().get(str(response), {})
            text = variants.get(user.language) or variants.get("en")
            public["text"] = (
                fill(text, message.payload.get("variables") or {}) if text else response
            )
        template = message.payload.get("whatsapp_template")
        if not public.get("text") and template:
            public["text"] = f"[{template.get('name')}] " + ", ".join(
                template.get("parameters") or []
            )
        return public

    def replies_for(self, user: User) -> list[dict[str, str]]:
        return [
            {"id": r.id, "label": r.label.get(user.language) or r.label["en"]}
            for r in content.replies().values()
        ]

    def templates_for(self, user: User) -> list[dict[str, Any]]:
        return [
            {
                "name": t.name,
                "parameters": list(t.parameters),
                "description": t.description.get(user.language) or t.description["en"],
            }
            for t in content.templates().values()
        ]

    # ---- acting -----------------------------------------------------------------------
    async def takeover(
        self, conversation_id: str, user: User, implicit: bool = False
    ) -> dict[str, Any]:
        tracker = await self._tracker(conversation_id)
        if not tracker.get("events"):
            raise ConsoleError(404, "unknown_conversation")
        previous = self.store.hold(conversation_id)
        if previous and previous.username == user.username and tracker.get("paused"):
            return {"status": "held", "held_by": user.username}
        if not tracker.get("paused"):
            await self._rasa_call(self.rasa.pause(conversation_id))
        self.store.set_hold(conversation_id, user.username)
        for ticket in await asyncio.to_thread(self.tickets.for_sender, conversation_id):
            if ticket.status != "closed":
                await asyncio.to_thread(self.tickets.assign, ticket.id, user.username)
        self.store.audit(
            user.username,
            "takeover",
            conversation_id,
            implicit=implicit,
            previous=previous.username if previous else None,
        )
        self.hub.publish(
            LiveEvent("hold", {"conversation_id": conversation_id, "held_by": user.username})
        )
        if (previous is None or previous.username != user.username) and _may_send_free_text(
            tracker
        ):
            await self._enqueue_and_deliver(
                conversation_id,
                None,
                "response",
                {"response": JOINED, "variables": {"coordinator_name": user.display_name}},
            )
        return {"status": "held", "held_by": user.username}

    async def handback(self, conversation_id: str, user: User) -> dict[str, Any]:
        tracker = await self._tracker(conversation_id)
        if not tracker.get("events"):
            raise ConsoleError(404, "unknown_conversation")
        if tracker.get("paused"):
            await self._rasa_call(self.rasa.resume(conversation_id))
        self.store.release_hold(conversation_id)
        for ticket in await asyncio.to_thread(self.tickets.for_sender, conversation_id):
            if ticket.status != "closed" and ticket.assignee:
                await asyncio.to_thread(self.tickets.assign, ticket.id, None)
        self.store.audit(user.username, "handback", conversation_id)
        self.hub.publish(LiveEvent("hold", {"conversation_id": conversation_id, "held_by": None}))
        if _may_send_free_text(tracker):
            await self._enqueue_and_deliver(conversation_id, None, "response", {"response": LEFT})
        return {"status": "bot"}

    async def _rasa_call(self, call: Any) -> None:
        try:
            await call
        except RasaUnavailable as error:
            raise ConsoleError(503, "rasa_unavailable") from error
        except RasaError as error:
            raise ConsoleError(502, "rasa_" + error.error) from error

    async def send_message(
        self, conversation_id: str, user: User, body: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        message_id = body.get("message_id") or new_message_id()
        if not isinstance(message_id, str) or not MESSAGE_ID.match(message_id):
            raise ConsoleError(400, "invalid_message_id")
        existing = self.store.outbox_message(message_id)
        if existing is not None:  # a retry from the client: never a second message
            if existing.conversation_id != conversation_id:
                raise ConsoleError(409, "message_id_in_use")
            return self._message_status(existing)
        tracker = await self._tracker(conversation_id)
        events = tracker.get("events") or []
        if not events:
            raise ConsoleError(404, "unknown_conversation")
        language = patient_language(tracker) or DEFAULT_LANGUAGE
        kind, payload = self._message_payload(body, language)
        window = whatsapp_window(events, datetime.now(timezone.utc))
        if window.applies and not window.open and kind != "template":
            raise ConsoleError(409, "window_closed", window_closed_at=window.as_json()["closes_at"])
        hold = self.store.hold(conversation_id)
        if hold is None or hold.username != user.username or not tracker.get("paused"):
            await self.takeover(conversation_id, user, implicit=True)
        payload["sender"] = {"role": "coordinator", "name": user.display_name}
        message = await self._enqueue_and_deliver(
            conversation_id, user.username, kind, payload, message_id
        )
        self.store.audit(
            user.username, "message", conversation_id, kind=kind, message_id=message_id
        )
        return self._message_status(message)

    def _message_payload(self, body: dict[str, Any], language: str) -> tuple[str, dict[str, Any]]:
        given = [key for key in ("text", "reply", "template") if body.get(key) is not None]
        if len(given) != 1:
            raise ConsoleError(400, "exactly_one_of_text_reply_template")
        if "text" in given:
            text = body["text"]
            if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT:
                raise ConsoleError(400, "invalid_text")
            return "text", {"text": text.strip()}
        if "reply" in given:
            reply = content.replies().get(str(body["reply"]))
            if reply is None:
                raise ConsoleError(400, "unknown_reply")
            return "reply", {"text": reply.text.get(language) or reply.text[DEFAULT_LANGUAGE]}
        template = content.templates().get(str(body["template"]))
        if template is None:
            raise ConsoleError(400, "unknown_template")
        parameters = body.get("parameters") or []
        if (
            not isinstance(parameters, list)
            or len(parameters) != len(template.parameters)
            or not all(isinstance(p, str) and p.strip() and len(p) < 200 for p in parameters)
        ):
            raise ConsoleError(400, "invalid_template_parameters")
        return "template", {
            "whatsapp_template": {
                "name": template.name,
                "language": template.languages.get(language) or template.languages["en"],
                "parameters": parameters,
            }
        }

    def _message_status(self, message: OutboxMessage) -> tuple[int, dict[str, Any]]:
        public = message.public()
        if message.status == "sent":
            return 200, {"status": "sent", "message": public}
        if message.status == "queued":
            return 502, {
                "error": "could_not_deliver",
                "detail": "could not deliver: queued, retried automatically",
                "status": "queued",
                "message": public,
            }
        return 409, {"error": message.last_error or "failed", "status": "failed", "message": public}

    async def _enqueue_and_deliver(
        self,
        conversation_id: str,
        username: Optional[str],
        kind: str,
        payload: dict[str, Any],
        message_id: Optional[str] = None,
    ) -> OutboxMessage:
        message_id = message_id or new_message_id()
        full = {"conversation_id": conversation_id, "message_id": message_id, **payload}
        message, _ = self.store.enqueue(message_id, conversation_id, username, kind, full)
        return await self.deliver(message)

    async def deliver(self, message: OutboxMessage) -> OutboxMessage:
        """One attempt; the outbox row says what happened (sent / queued again / failed)."""
        try:
            delivery = await self.rasa.send(message.payload)
        except RasaUnavailable:
            self._failed(message, "rasa_unavailable", retry=True)
        except RasaError as error:
            final = error.status in (400, 409) or error.error == "unknown_conversation"
            self._failed(message, f"{error.status}_{error.error}", retry=not final)
        else:
            self.store.mark_sent(message.message_id, delivery.channel, delivery.text)
            logger.info("message %s %s", message.message_id, delivery.status)
        updated = self.store.outbox_message(message.message_id) or message
        self.hub.publish(
            LiveEvent(
                "outbox",
                {
                    "conversation_id": message.conversation_id,
                    "message_id": message.message_id,
                    "status": updated.status,
                },
            )
        )
        return updated

    def _failed(self, message: OutboxMessage, error: str, retry: bool) -> None:
        delay = retry_delay(message.attempts, self.settings.retry_seconds) if retry else None
        self.store.mark_attempt_failed(message.message_id, error, delay)
        logger.warning("message %s not delivered: %s", message.message_id, error)

    async def retry_due(self) -> int:
        async with self._delivery_lock:
            due = self.store.due()
            for message in due:
                await self.deliver(message)
            return len(due)

    async def close_ticket(self, ticket_id: str, user: User, outcome: Any) -> dict[str, Any]:
        if outcome not in OUTCOMES:
            raise ConsoleError(400, "invalid_outcome", outcomes=list(OUTCOMES))
        ticket = await asyncio.to_thread(self.tickets.get, ticket_id)
        if ticket is None:
            raise ConsoleError(404, "unknown_ticket")
        if not await asyncio.to_thread(self.tickets.close, ticket_id, outcome):
            raise ConsoleError(409, "already_closed")
        self.store.audit(
            user.username, "ticket_close", ticket.sender_id, ticket_id, outcome=outcome
        )
        self.hub.publish(
            LiveEvent(
                "ticket", {"id": ticket_id, "conversation_id": ticket.sender_id, "closed": True}
            )
        )
        closed = await asyncio.to_thread(self.tickets.get, ticket_id)
        assert closed is not None
        return ticket_json(closed, utcnow())

    # ---- the "we'll be with you shortly" notice -----------------------------------------
    async def send_waiting_notices(self) -> int:
        sent = 0
        after = timedelta(minutes=self.settings.waiting_notice_minutes)
        for hold in self.store.holds():
            try:
                tracker = await self.rasa.tracker(hold.conversation_id)
            except (RasaError, RasaUnavailable):
                continue
            marker = waiting.unanswered_patient_message(
                tracker.get("events") or [],
                hold.since,
                datetime.now(timezone.utc),
                after,
                hold.notice_for,
            )
            if marker is None:
                continue
            self.store.mark_noticed(hold.conversation_id, marker)
            await self._enqueue_and_deliver(
                hold.conversation_id,
                None,
                "response",
                {"response": waiting.NOTICE_RESPONSE},
                waiting.notice_message_id(hold.conversation_id, marker),
            )
            self.store.audit(None, "waiting_notice", hold.conversation_id)
            sent += 1
        return sent
