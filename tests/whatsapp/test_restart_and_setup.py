"""State kept in the database across server processes, and the channels without settings."""

from __future__ import annotations

from typing import Iterator

import pytest
import requests
import sqlalchemy as sa

from tests.support.chat import RestChat
from tests.support.fake_graph_api import FakeGraphApi
from tests.support.servers import RunningBot, running_bot
from tests.support.whatsapp import (
    Patient,
    deliver,
    envelope,
    messages_value,
    text,
    user_events,
    wait_until_processed,
)
from tests.whatsapp.conftest import SHIPPED_CREDENTIALS, whatsapp_environment


@pytest.fixture(scope="module")
def second_bot(
    tmp_path_factory: pytest.TempPathFactory, graph: FakeGraphApi, database_url: str
) -> Iterator[RunningBot]:
    """Another server process on the same WhatsApp database: a restart, or a second replica."""
    environment = whatsapp_environment(graph, database_url)
    with running_bot(
        tmp_path_factory.mktemp("second"), SHIPPED_CREDENTIALS, env_extra=environment
    ) as bot:
        yield bot


def test_a_message_already_processed_is_ignored_by_another_server_process(
    whatsapp_bot: RunningBot, second_bot: RunningBot, graph: FakeGraphApi
) -> None:
    wa_id = "4915112360001"
    first = text("Was ist ein Hemispasmus facialis?")
    Patient(whatsapp_bot, graph, wa_id).send(first)

    redelivery = deliver(second_bot, envelope(messages_value(wa_id, "Anna", first)))
    assert redelivery.status_code == 200
    later = Patient(second_bot, graph, wa_id, seen=len(graph.sent_to(wa_id)))
    later.send(text("Danke"))

    assert [e["message_id"] for e in user_events(second_bot, wa_id)] == [
        later_id(second_bot, wa_id)
    ]
    assert graph.read_receipts().count(first["id"]) == 1


def later_id(bot: RunningBot, wa_id: str) -> str:
    [event] = [e for e in user_events(bot, wa_id) if e["text"] == "Danke"]
    return str(event["message_id"])


@pytest.fixture(scope="module")
def unconfigured_bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningBot]:
    """The shipped credentials.yml without WhatsApp or Twilio settings (a fresh clone)."""
    unset = {
        name: ""
        for name in (
            "WHATSAPP_VERIFY_TOKEN",
            "WHATSAPP_APP_SECRET",
            "WHATSAPP_ACCESS_TOKEN",
            "WHATSAPP_PHONE_NUMBER_ID",
            "WHATSAPP_API_BASE_URL",
            "WHATSAPP_DATABASE_URL",
            "TWILIO_ACCOUNT_SID",
            "TWILIO_AUTH_TOKEN",
            "TWILIO_WHATSAPP_NUMBER",
        )
    }
    with running_bot(
        tmp_path_factory.mktemp("unconfigured"), SHIPPED_CREDENTIALS, env_extra=unset
    ) as bot:
        yield bot


def test_without_settings_the_bot_starts_and_the_channels_answer_503(
    unconfigured_bot: RunningBot,
) -> None:
    base = unconfigured_bot.url
    assert RestChat(base).answers("hello") == [("utter_greet", "en")]
    verification = {"hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "1"}
    assert (
        requests.get(
            f"{base}/webhooks/whatsapp/webhook", params=verification, timeout=10
        ).status_code
        == 503
    )
    assert deliver(unconfigured_bot, {"object": "whatsapp_business_account"}).status_code == 503
    assert (
        requests.post(f"{base}/webhooks/twilio/webhook", data={"From": "x"}, timeout=10).status_code
        == 503
    )
    log = unconfigured_bot.log("rasa")
    assert "WhatsApp channel disabled: set WHATSAPP_VERIFY_TOKEN" in log
    assert "Twilio WhatsApp channel disabled" in log


def test_when_the_database_fails_meta_gets_503_and_its_retry_is_processed(
    whatsapp_bot: RunningBot, graph: FakeGraphApi, database_url: str
) -> None:
    wa_id = "4915112360002"
    message = text("Hallo")
    payload = envelope(messages_value(wa_id, "Anna", message))
    engine = sa.create_engine(database_url, isolation_level="AUTOCOMMIT")
    rename = "ALTER TABLE {} RENAME TO {}"
    try:
        with engine.connect() as connection:  # the table is unreachable for a moment
            connection.execute(sa.text(rename.format("whatsapp_processed_messages", "wpm_away")))
        assert deliver(whatsapp_bot, payload).status_code == 503
    finally:
        with engine.connect() as connection:
            connection.execute(sa.text(rename.format("wpm_away", "whatsapp_processed_messages")))
        engine.dispose()
    assert user_events(whatsapp_bot, wa_id) == []

    assert deliver(whatsapp_bot, payload).status_code == 200  # Meta's retry
    wait_until_processed(whatsapp_bot, wa_id, message["id"])
    assert [e["text"] for e in user_events(whatsapp_bot, wa_id)] == ["Hallo"]
