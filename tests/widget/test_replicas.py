"""Several Rasa replicas: with SOCKETIO_REDIS_URL a message emitted by one replica reaches a
visitor connected to another (python-socketio's Redis client manager, the machine's Redis)."""

from __future__ import annotations

import asyncio
from typing import Any, Iterator

import pytest
import socketio

from tests.support.chat import which_response
from tests.support.servers import RunningBot, running_bot
from tests.support.widget import WIDGET_CREDENTIALS, Site, ThirdPartyWidget

REDIS_URL = "redis://127.0.0.1:6379/0"


async def next_reply(widget: ThirdPartyWidget) -> dict[str, Any]:
    """Through Redis, replies may arrive after the channel's acknowledgement: wait for them."""
    return await asyncio.wait_for(widget.replies.get(), timeout=15)


@pytest.fixture(scope="module")
def replica(tmp_path_factory: pytest.TempPathFactory, clinic: Site) -> Iterator[RunningBot]:
    """A Rasa replica whose socket.io rooms are shared through Redis."""
    with running_bot(
        tmp_path_factory.mktemp("replica"),
        WIDGET_CREDENTIALS,
        env_extra={"BOT_CORS_ORIGINS": clinic.origin, "SOCKETIO_REDIS_URL": REDIS_URL},
        cors_origins=[clinic.origin],
    ) as bot:
        yield bot


async def test_a_replica_with_redis_still_answers_its_own_visitors(
    replica: RunningBot, clinic: Site
) -> None:
    widget = ThirdPartyWidget(replica.url, clinic.origin)
    session_id = await widget.connect()
    try:
        assert await widget.call({"message": "hello", "session_id": session_id}) == {"status": "ok"}
        assert which_response((await next_reply(widget))["text"]) == ("utter_greet", "en")
    finally:
        await widget.close()


async def test_a_message_from_another_replica_reaches_the_visitor(
    replica: RunningBot, clinic: Site
) -> None:
    widget = ThirdPartyWidget(replica.url, clinic.origin)
    session_id = await widget.connect()
    await widget.call({"message": "hello", "session_id": session_id})
    await next_reply(widget)  # the replica listens to Redis from its first visitor on
    other_replica = socketio.AsyncRedisManager(REDIS_URL, write_only=True)
    message = {"text": "A patient coordinator will answer you here."}
    try:
        await other_replica.emit("bot_uttered", message, room=session_id, namespace="/")
        assert await next_reply(widget) == message
    finally:
        await widget.close()
        await other_replica.redis.close()
