"""End to end over socket.io with session_persistence, as a web widget connects.

Guards the python-socketio pin: with python-socketio >= 5.10, Rasa 3.6 never awaits
`enter_room`, the bot's replies go to a room nobody joined and these tests time out.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import socketio

from tests.support.chat import which_response
from tests.support.servers import RunningBot


class WidgetClient:
    """A minimal widget: session_request/session_confirm, user_uttered/bot_uttered."""

    def __init__(self, url: str, session_id: str, transports: list[str]) -> None:
        self.url = url
        self.session_id = session_id
        self.transports = transports
        self.client = socketio.AsyncClient(reconnection=False)
        self.replies: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.confirmed = asyncio.Event()
        self.client.on("bot_uttered", self._on_bot_uttered)
        self.client.on("session_confirm", self._on_session_confirm)

    async def _on_bot_uttered(self, data: dict[str, Any]) -> None:
        await self.replies.put(data)

    async def _on_session_confirm(self, data: Any) -> None:
        self.confirmed.set()

    async def __aenter__(self) -> WidgetClient:
        await self.client.connect(self.url, transports=self.transports, socketio_path="/socket.io")
        await self.client.emit("session_request", {"session_id": self.session_id})
        await asyncio.wait_for(self.confirmed.wait(), timeout=10)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.client.disconnect()

    async def say(self, text: str, **extra: Any) -> list[dict[str, Any]]:
        await self.client.emit(
            "user_uttered", {"message": text, "session_id": self.session_id, **extra}
        )
        first = await asyncio.wait_for(self.replies.get(), timeout=30)
        replies = [first]
        while True:
            try:
                replies.append(await asyncio.wait_for(self.replies.get(), timeout=1.5))
            except asyncio.TimeoutError:
                return replies


async def test_widget_gets_the_answer_over_websocket(bot: RunningBot) -> None:
    async with WidgetClient(bot.url, uuid.uuid4().hex, ["websocket"]) as widget:
        replies = await widget.say("ما هو التشنج النصفي للوجه؟")
    assert [which_response(r["text"]) for r in replies] == [
        ("utter_medical_disclaimer", "ar"),
        ("utter_what_is_hfs", "ar"),
    ]


async def test_widget_gets_the_answer_over_long_polling(bot: RunningBot) -> None:
    async with WidgetClient(bot.url, uuid.uuid4().hex, ["polling"]) as widget:
        replies = await widget.say("hello")
    assert which_response(replies[0]["text"]) == ("utter_greet", "en")
    assert len(replies[0].get("quick_replies") or replies[0].get("buttons") or []) == 6


async def test_language_from_widget_metadata_is_used(bot: RunningBot) -> None:
    async with WidgetClient(bot.url, uuid.uuid4().hex, ["websocket"]) as widget:
        replies = await widget.say("hello", metadata={"language": "fr"})
    assert which_response(replies[0]["text"]) == ("utter_greet", "fr")


async def test_reconnecting_with_the_same_session_keeps_the_conversation(bot: RunningBot) -> None:
    session_id = uuid.uuid4().hex
    async with WidgetClient(bot.url, session_id, ["websocket"]) as widget:
        await widget.say("Was genau ist ein hemifazialer Spasmus und woher kommt er?")
    async with WidgetClient(bot.url, session_id, ["websocket"]) as widget:
        replies = await widget.say("ok")
    # same conversation: still German, and no second disclaimer
    assert [which_response(r["text"]) for r in replies] == [("utter_how_can_help", "de")]
