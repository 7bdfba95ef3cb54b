"""The widget channel over its real protocols: HTTP for the files, socket.io for the chat.

The bot allows only the clinic's origin (BOT_CORS_ORIGINS); clients here speak Rasa's
socket.io protocol as third-party widgets (rasa-webchat) do.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import requests
import socketio

from tests.support.servers import RunningBot
from tests.support.widget import Site, ThirdPartyWidget


def tracker_user_texts(bot: RunningBot, session_id: str) -> list[str]:
    tracker = requests.get(
        f"{bot.url}/conversations/{session_id}/tracker",
        params={"token": bot.auth_token},
        timeout=30,
    ).json()
    return [event["text"] for event in tracker["events"] if event["event"] == "user"]


def test_widget_script_is_served_compressed_and_cacheable(widget_bot: RunningBot) -> None:
    response = requests.get(f"{widget_bot.url}/widget/widget.js", timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/javascript")
    assert response.headers["Content-Encoding"] == "gzip"
    assert "startHfsWidget(vendor.io, document.currentScript" in response.text
    again = requests.get(
        f"{widget_bot.url}/widget/widget.js",
        headers={"If-None-Match": response.headers["ETag"]},
        timeout=10,
    )
    assert again.status_code == 304


@pytest.mark.parametrize("name", ["widget.css", "demo.html", "vendor/socket.io-client.LICENSE"])
def test_widget_files_are_served(widget_bot: RunningBot, name: str) -> None:
    assert requests.get(f"{widget_bot.url}/widget/{name}", timeout=10).status_code == 200


def test_unknown_widget_path_is_not_found(widget_bot: RunningBot) -> None:
    response = requests.get(f"{widget_bot.url}/widget/../credentials.yml", timeout=10)
    assert response.status_code == 404


def test_files_carry_cors_headers_for_the_clinic_origin_only(
    widget_bot: RunningBot, clinic: Site, elsewhere: Site
) -> None:
    url = f"{widget_bot.url}/widget/widget.js"
    allowed = requests.get(url, headers={"Origin": clinic.origin}, timeout=10)
    refused = requests.get(url, headers={"Origin": elsewhere.origin}, timeout=10)
    assert allowed.headers.get("Access-Control-Allow-Origin") == clinic.origin
    assert "Access-Control-Allow-Origin" not in refused.headers


@pytest.mark.parametrize("transport", ["websocket", "polling"])
async def test_the_clinic_origin_connects_and_gets_answers(
    widget_bot: RunningBot, clinic: Site, transport: str
) -> None:
    widget = ThirdPartyWidget(widget_bot.url, clinic.origin, transport)
    await widget.connect()
    try:
        assert await widget.say("hello") == [("utter_greet", "en")]
    finally:
        await widget.close()


@pytest.mark.parametrize("transport", ["websocket", "polling"])
async def test_an_origin_that_is_not_allowed_is_refused(
    widget_bot: RunningBot, elsewhere: Site, transport: str
) -> None:
    widget = ThirdPartyWidget(widget_bot.url, elsewhere.origin, transport)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await widget.connect()
    await widget.close()


async def test_a_client_without_an_origin_header_connects(widget_bot: RunningBot) -> None:
    """Apps and servers send no Origin header; CORS is about browsers."""
    widget = ThirdPartyWidget(widget_bot.url, None)
    await widget.connect()
    try:
        assert await widget.say("hello") == [("utter_greet", "en")]
    finally:
        await widget.close()


@pytest.mark.parametrize(
    "extra",
    [
        {"customData": {"language": "fr"}},  # rasa-webchat
        {"customData": '{"language": "fr"}'},
        {"metadata": {"language": "fr"}},  # Rasa's own key
        {"metadata": {"language": "fr"}, "customData": {"language": "de"}},
    ],
    ids=["customData", "customData-json", "metadata", "metadata-wins"],
)
async def test_metadata_is_read_from_custom_data_and_metadata(
    widget_bot: RunningBot, clinic: Site, extra: dict[str, Any]
) -> None:
    widget = ThirdPartyWidget(widget_bot.url, clinic.origin)
    await widget.connect()
    try:
        assert await widget.say("hello", **extra) == [("utter_greet", "fr")]
    finally:
        await widget.close()


async def test_a_message_resent_with_the_same_id_is_processed_once(
    widget_bot: RunningBot, clinic: Site
) -> None:
    widget = ThirdPartyWidget(widget_bot.url, clinic.origin)
    session_id = await widget.connect()
    message = {
        "message": "What causes hemifacial spasm?",
        "session_id": session_id,
        "metadata": {"message_id": uuid.uuid4().hex},
    }
    try:
        assert await widget.call(message) == {"status": "ok"}
        assert await widget.call(message) == {"status": "duplicate"}
    finally:
        await widget.close()
    assert tracker_user_texts(widget_bot, session_id) == ["What causes hemifacial spasm?"]


async def test_reconnecting_with_the_session_id_joins_the_same_conversation(
    widget_bot: RunningBot, clinic: Site
) -> None:
    first = ThirdPartyWidget(widget_bot.url, clinic.origin)
    session_id = await first.connect()
    await first.say("Welche Behandlungen gibt es gegen den hemifazialen Spasmus?")
    await first.close()
    second = ThirdPartyWidget(widget_bot.url, clinic.origin)
    assert await second.connect(session_id) == session_id
    try:
        assert await second.say("ok") == [("utter_how_can_help", "de")]
    finally:
        await second.close()


@pytest.mark.parametrize("requested", [None, "", "<script>", "x" * 500, 42, ["a"]])
async def test_a_missing_or_unsafe_session_id_gets_a_fresh_one(
    widget_bot: RunningBot, clinic: Site, requested: Any
) -> None:
    widget = ThirdPartyWidget(widget_bot.url, clinic.origin)
    try:
        session_id = await widget.connect(requested)
        assert isinstance(session_id, str) and len(session_id) == 32 and session_id != requested
    finally:
        await widget.close()


@pytest.mark.parametrize(
    "payload",
    [
        "just a string",
        ["a", "list"],
        {"message": "hello"},  # no session id with session_persistence
        {"message": 42, "session_id": "s" * 16},
        {"message": "hello", "session_id": "x" * 500},
    ],
    ids=["string", "list", "no-session", "number", "long-session-id"],
)
async def test_malformed_messages_are_ignored_and_the_connection_keeps_working(
    widget_bot: RunningBot, clinic: Site, payload: Any
) -> None:
    widget = ThirdPartyWidget(widget_bot.url, clinic.origin)
    await widget.connect()
    try:
        assert await widget.call(payload) == {"status": "ignored"}
        assert await widget.say("hello", metadata="{not json") == [("utter_greet", "en")]
    finally:
        await widget.close()
    assert "Traceback" not in widget_bot.log("rasa")


def test_head_request_for_the_script_has_headers_and_no_body(widget_bot: RunningBot) -> None:
    response = requests.head(f"{widget_bot.url}/widget/widget.js", timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/javascript")
    assert response.content == b""
