"""The website widget's channel: Rasa's socket.io protocol, made safe for a clinic's site.

Registered in `credentials.yml` as `bot.channels.widget.WidgetSocketIOInput`; its name stays
`socketio`, so Rasa's HTTP API (`output_channel=socketio`) and third-party widgets that
speak Rasa's protocol (`session_request`/`session_confirm`, `user_uttered`/`bot_uttered`)
work unchanged. What it adds, without changing the protocol:

- only the origins in `BOT_CORS_ORIGINS` (and the bot's own pages) may connect;
- message metadata from `metadata` and from `customData` (rasa-webchat);
- `metadata.message_id`: a message resent after a network drop is processed once;
- malformed payloads are ignored with a warning, never a stack trace;
- `enter_room` is awaited when python-socketio makes it a coroutine (>= 5.10);
- with `SOCKETIO_REDIS_URL`, replies and coordinator messages reach a visitor connected to
  another Rasa replica (python-socketio's Redis client manager);
- the widget's files and demo page under `/widget/` (see `widget_assets`).
"""

from __future__ import annotations

import inspect
import json
import logging
import os
import re
import uuid
from collections import OrderedDict
from typing import Any, Awaitable, Callable, Collection, Coroutine, Dict, Optional, Sequence
from urllib.parse import urlsplit

from rasa.core.channels.channel import InputChannel, UserMessage, decode_bearer_token
from rasa.core.channels.socketio import SocketBlueprint, SocketIOInput, SocketIOOutput
from sanic import Blueprint, Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncRedisManager, AsyncServer
from socketio.exceptions import ConnectionRefusedError as SocketConnectionRefused

from bot.channels.limits import limited_inbound
from bot.channels.outgoing import DeliveryFailed, Outgoing
from bot.channels.widget_assets import Asset, widget_assets
from bot.names import WIDGET_CHANNEL
from bot.origins import ANY_ORIGIN, configured_origins, origin_allowed

logger = logging.getLogger(__name__)

WIDGET_ROUTE = "/widget"
REDIS_URL_VARIABLE = "SOCKETIO_REDIS_URL"
MESSAGE_ID_KEY = "message_id"
REMEMBERED_MESSAGE_IDS = 10_000
RESENT_MESSAGES = 20  # at most this many missed console messages resent on reconnect
# uuid hex (rasa-webchat, our widget) and other ids that are safe as a tracker's sender id
_SESSION_ID = re.compile(r"[A-Za-z0-9_.:@-]{1,128}")
_MESSAGE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]
Ack = Dict[str, str]


def valid_session_id(value: object) -> Optional[str]:
    """The session id if it is a short, plain string, else None."""
    return value if isinstance(value, str) and _SESSION_ID.fullmatch(value) else None


def message_metadata(data: Dict[str, Any], metadata_key: str) -> Dict[str, Any]:
    """`customData` (rasa-webchat) and `metadata` of a `user_uttered` payload, merged.

    Either may be an object or a JSON string; anything else is ignored. On a clash the
    configured `metadata_key` wins.
    """
    merged: Dict[str, Any] = {}
    for key in dict.fromkeys(("customData", "metadata", metadata_key)):
        value = data.get(key)
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except (ValueError, RecursionError):  # not JSON, or absurdly nested
                value = None
        if isinstance(value, dict):
            merged.update(value)
    return merged


def same_origin(origin: str, environ: Dict[str, Any]) -> bool:
    """Whether the page that connects was served by this bot server (the demo page)."""
    host = environ.get("HTTP_HOST")
    return bool(host) and urlsplit(origin).netloc.lower() == str(host).lower()


class RecentMessages:
    """Message ids seen lately, per session: a message resent after a drop counts once.

    In memory, per Rasa process: with several replicas, route a session to one replica
    (sticky sessions, which socket.io needs anyway).
    """

    def __init__(self, capacity: int = REMEMBERED_MESSAGE_IDS) -> None:
        self._seen: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._capacity = capacity

    def first_time(self, session_id: str, message_id: str) -> bool:
        key = (session_id, message_id)
        if key in self._seen:
            self._seen.move_to_end(key)
            return False
        self._seen[key] = None
        if len(self._seen) > self._capacity:
            self._seen.popitem(last=False)
        return True


def asset_response(request: Request, asset: Asset) -> HTTPResponse:
    """One of the widget's files: gzipped when the browser accepts it, 304 when unchanged."""
    gzipped = "gzip" in request.headers.get("Accept-Encoding", "")
    etag = asset.etag[:-1] + '-gz"' if gzipped else asset.etag
    headers = {
        "ETag": etag,
        "Cache-Control": "public, max-age=300",
        "Vary": "Accept-Encoding",
        "X-Content-Type-Options": "nosniff",
        "Cross-Origin-Resource-Policy": "cross-origin",
    }
    if request.headers.get("If-None-Match") == etag:
        return HTTPResponse(status=304, headers=headers)
    if gzipped:
        headers["Content-Encoding"] = "gzip"
    body = asset.gzipped if gzipped else asset.body
    return HTTPResponse(body, headers=headers, content_type=asset.content_type)


def bot_uttered_payload(message: Outgoing) -> Dict[str, Any]:
    """What the widget receives for a coordinator's or the bot's own message: an ordinary
    `bot_uttered` (third-party widgets show it as a bot message) plus `metadata`."""
    payload: Dict[str, Any] = {"text": message.text}
    if message.buttons:
        payload["buttons"] = [dict(b) for b in message.buttons]
    if message.metadata:
        payload["metadata"] = dict(message.metadata)
    return payload


def missed_messages(
    events: Sequence[Dict[str, Any]], seen: Collection[str], limit: int = RESENT_MESSAGES
) -> list[Dict[str, Any]]:
    """Console-sent messages (coordinators' and the bot's notices, which carry a
    `metadata.message_id`) written after the last one the page has shown, as `bot_uttered`
    payloads: what a widget that was closed meanwhile has not seen."""
    sent = [
        event
        for event in events
        if event.get("event") == "bot"
        and isinstance((event.get("metadata") or {}).get(MESSAGE_ID_KEY), str)
    ]
    shown = [i for i, event in enumerate(sent) if event["metadata"][MESSAGE_ID_KEY] in seen]
    missed = sent[shown[-1] + 1 :] if shown else sent
    return [
        bot_uttered_payload(
            Outgoing(
                text=str(event.get("text") or ""),
                language="",
                buttons=tuple((event.get("data") or {}).get("buttons") or ()),
                metadata={
                    key: event["metadata"][key]
                    for key in ("from", "name", MESSAGE_ID_KEY)
                    if key in event["metadata"]
                },
            )
        )
        for event in missed[-limit:]
        if event.get("text")
    ]


class WidgetSender:
    """`PatientSender` for the widget: emits to the session's room (through Redis to the
    replica the visitor is connected to, when SOCKETIO_REDIS_URL is set)."""

    def __init__(self, sio: AsyncServer, event: str, namespace: Optional[str]) -> None:
        self._sio = sio
        self._event = event
        self._namespace = namespace

    async def send(self, recipient_id: str, message: Outgoing) -> None:
        try:
            await self._sio.emit(
                self._event,
                bot_uttered_payload(message),
                room=recipient_id,
                namespace=self._namespace,
            )
        except Exception as error:  # e.g. Redis down with several replicas
            raise DeliveryFailed(type(error).__name__) from None


class WidgetBlueprint(SocketBlueprint):
    """Attaches socket.io (as Rasa does) and serves the widget's files under `/widget/`."""

    def register(self, app: Sanic, options: Dict[str, Any]) -> None:
        engineio = self.ctx.sio.eio
        self.ctx.app = app  # the channel reaches the agent through it (limit notes)

        async def engineio_request(request: Request) -> Optional[HTTPResponse]:
            return await engineio.handle_request(request)

        # A websocket that ends returns no response; flagged, Sanic does not log it as an error.
        engineio_request.is_websocket = True  # type: ignore[attr-defined]
        path = "/" + self.ctx.socketio_path.strip("/") + "/"
        app.add_route(
            engineio_request, path, methods=["GET", "POST", "OPTIONS"], name="widget_socketio"
        )
        app.enable_websocket()
        Blueprint.register(self, app, options)  # instead of SocketBlueprint's sio.attach(app)
        for name, asset in widget_assets().items():
            route_name = "widget_asset_" + re.sub(r"\W", "_", name)
            app.add_route(
                self._asset_handler(asset),
                f"{WIDGET_ROUTE}/{name}",
                methods=["GET", "HEAD"],
                name=route_name,
            )

    @staticmethod
    def _asset_handler(asset: Asset) -> Callable[[Request], Coroutine[Any, Any, HTTPResponse]]:
        async def serve(request: Request) -> HTTPResponse:
            return asset_response(request, asset)

        return serve


class WidgetSocketIOInput(SocketIOInput):
    """Rasa's socket.io input channel with origin checks, metadata and resend safety."""

    @classmethod
    def name(cls) -> str:
        return WIDGET_CHANNEL

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> InputChannel:
        credentials = credentials or {}
        return cls(
            user_message_evt=credentials.get("user_message_evt", "user_uttered"),
            bot_message_evt=credentials.get("bot_message_evt", "bot_uttered"),
            namespace=credentials.get("namespace"),
            session_persistence=credentials.get("session_persistence", False),
            socketio_path=credentials.get("socketio_path", "/socket.io"),
            jwt_key=credentials.get("jwt_key"),
            jwt_method=credentials.get("jwt_method", "HS256"),
            metadata_key=credentials.get("metadata_key", "metadata"),
            allowed_origins=configured_origins(),
            redis_url=os.environ.get(REDIS_URL_VARIABLE) or None,
        )

    def __init__(
        self,
        user_message_evt: str = "user_uttered",
        bot_message_evt: str = "bot_uttered",
        namespace: Optional[str] = None,
        session_persistence: bool = False,
        socketio_path: Optional[str] = "/socket.io",
        jwt_key: Optional[str] = None,
        jwt_method: Optional[str] = "HS256",
        metadata_key: Optional[str] = "metadata",
        allowed_origins: tuple[str, ...] = (ANY_ORIGIN,),
        redis_url: Optional[str] = None,
    ) -> None:
        super().__init__(
            user_message_evt,
            bot_message_evt,
            namespace,
            session_persistence,
            socketio_path,
            jwt_key,
            jwt_method,
            metadata_key,
        )
        self.allowed_origins = allowed_origins
        self.redis_url = redis_url
        self.recent_messages = RecentMessages()
        self._app: Optional[Sanic] = None
        if ANY_ORIGIN in allowed_origins:
            logger.warning("The widget accepts every origin: set BOT_CORS_ORIGINS in production.")

    def patient_sender(self) -> Optional[WidgetSender]:
        """For the patient channels endpoint (the socket.io server exists once mounted)."""
        if self.sio is None:
            return None
        return WidgetSender(self.sio, self.bot_message_evt, self.namespace)

    def blueprint(self, on_new_message: OnNewMessage) -> SocketBlueprint:
        # CORS headers come from Rasa's `--cors` (one place, no duplicate headers);
        # the origin itself is checked on connect, for polling and websocket alike.
        sio = AsyncServer(
            async_mode="sanic", cors_allowed_origins=[], client_manager=self._client_manager()
        )
        self.sio = sio
        blueprint = WidgetBlueprint(sio, self.socketio_path, "socketio_webhook", __name__)
        self._blueprint = blueprint

        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        async def user_uttered(sid: str, data: Any = None) -> Ack:
            return await self._user_uttered(on_new_message, sid, data)

        async def remember_app(app: Sanic, _: Any) -> None:
            self._app = app  # the agent (tracker store) for messages missed while closed

        blueprint.listener("before_server_start")(remember_app)
        blueprint.add_route(health, "/", methods=["GET"])
        sio.on("connect", self._connect, namespace=self.namespace)
        sio.on("disconnect", self._disconnect, namespace=self.namespace)
        sio.on("session_request", self._session_request, namespace=self.namespace)
        sio.on(self.user_message_evt, user_uttered, namespace=self.namespace)
        return blueprint

    def _client_manager(self) -> Optional[AsyncRedisManager]:
        """Rooms shared by every Rasa replica through Redis, when configured."""
        if not self.redis_url:
            return None  # one process: rooms in memory
        return AsyncRedisManager(self.redis_url)

    async def _connect(
        self, sid: str, environ: Dict[str, Any], auth: Optional[Dict] = None
    ) -> bool:
        origin = environ.get("HTTP_ORIGIN")
        if origin and not (
            origin_allowed(origin, self.allowed_origins) or same_origin(origin, environ)
        ):
            logger.warning(
                "Refused a widget connection from origin %s (not in BOT_CORS_ORIGINS).", origin
            )
            raise SocketConnectionRefused("origin not allowed")
        if self.jwt_key:
            token = auth.get("token") if isinstance(auth, dict) else None
            if not token or not decode_bearer_token(token, self.jwt_key, self.jwt_algorithm):
                return False
        logger.debug("Widget %s connected.", sid)
        return True

    async def _disconnect(self, sid: str) -> None:
        logger.debug("Widget %s disconnected.", sid)

    async def _session_request(self, sid: str, data: Any = None) -> None:
        requested = data.get("session_id") if isinstance(data, dict) else None
        session_id = valid_session_id(requested) or uuid.uuid4().hex
        if self.session_persistence and self.sio is not None:
            joined = self.sio.enter_room(sid, session_id)
            if inspect.isawaitable(joined):  # python-socketio >= 5.10
                await joined
        if self.sio is not None:
            await self.sio.emit("session_confirm", session_id, room=sid)
            seen = data.get("seen") if isinstance(data, dict) else None
            if session_id == requested and isinstance(seen, list):  # our widget, resuming
                await self._resend_missed(sid, session_id, {v for v in seen if isinstance(v, str)})

    async def _resend_missed(self, sid: str, session_id: str, seen: set[str]) -> None:
        """Coordinators' messages written while the page was closed, to this page only."""
        agent = getattr(getattr(self._app, "ctx", None), "agent", None)
        if agent is None or agent.tracker_store is None or self.sio is None:
            return
        try:
            tracker = await agent.tracker_store.retrieve(session_id)
        except Exception as error:  # the store is down: the live path still works
            logger.warning("Could not read missed widget messages: %s", type(error).__name__)
            return
        if tracker is None:
            return
        events = [event.as_dict() for event in tracker.events]
        for payload in missed_messages(events, seen):
            await self.sio.emit(self.bot_message_evt, payload, room=sid, namespace=self.namespace)

    async def _user_uttered(self, on_new_message: OnNewMessage, sid: str, data: Any) -> Ack:
        if not isinstance(data, dict):
            logger.warning("Ignored a widget message that is not an object.")
            return {"status": "ignored"}
        sender_id = valid_session_id(data.get("session_id")) if self.session_persistence else sid
        text = data.get("message") or ""
        if sender_id is None or not isinstance(text, str) or self.sio is None:
            logger.warning("Ignored a widget message without a valid session id or text.")
            return {"status": "ignored"}
        metadata = message_metadata(data, self.metadata_key or "metadata")
        if self._is_resent(sender_id, metadata):
            logger.info("Ignored a widget message that was resent after being processed.")
            return {"status": "duplicate"}
        output = SocketIOOutput(self.sio, self.bot_message_evt)
        message = UserMessage(text, output, sender_id, input_channel=self.name(), metadata=metadata)
        try:
            await limited_inbound().handle(message, on_new_message, self._agent())
        except Exception as error:  # the boundary: log without the patient's text, keep serving
            logger.error("Processing a widget message failed: %s", type(error).__name__)
            logger.debug("Processing a widget message failed.", exc_info=True)
            return {"status": "error"}
        return {"status": "ok"}

    def _agent(self) -> Any:
        """Rasa's agent, once the blueprint is mounted (for the limit notes' language)."""
        app = getattr(getattr(self, "_blueprint", None), "ctx", None)
        app = getattr(app, "app", None)
        return getattr(app.ctx, "agent", None) if app is not None else None

    def _is_resent(self, sender_id: str, metadata: Dict[str, Any]) -> bool:
        """Whether a message with this `metadata.message_id` was already received."""
        message_id = metadata.get(MESSAGE_ID_KEY)
        if not isinstance(message_id, str) or not _MESSAGE_ID.fullmatch(message_id):
            return False  # third-party widgets send no id: every message counts
        return not self.recent_messages.first_time(sender_id, message_id)
