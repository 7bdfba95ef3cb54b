"""One real bot with the shipped credentials.yml, the WhatsApp and Twilio channels
configured from the environment, a fake Graph API, a fake Twilio API and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from tests.support.fake_graph_api import FakeGraphApi, fake_graph_api
from tests.support.fake_twilio_api import FakeTwilioApi, fake_twilio_api
from tests.support.postgres import temporary_database
from tests.support.servers import RunningBot, running_bot
from tests.support.whatsapp import ACCESS_TOKEN, APP_SECRET, PHONE_NUMBER_ID, VERIFY_TOKEN

ROOT = Path(__file__).resolve().parents[2]
SHIPPED_CREDENTIALS = (ROOT / "credentials.yml").read_text()
MEDIA_MAX_BYTES = 100_000
TWILIO_SID = "AC" + "0" * 32
TWILIO_TOKEN = "test-twilio-auth-token"
TWILIO_NUMBER = "whatsapp:+14155238886"


def whatsapp_environment(graph: FakeGraphApi, database_url: str | None = None) -> dict[str, str]:
    """The Cloud API channel pointed at the fake Graph API (store in memory without a URL)."""
    environment = {
        "WHATSAPP_VERIFY_TOKEN": VERIFY_TOKEN,
        "WHATSAPP_APP_SECRET": APP_SECRET,
        "WHATSAPP_ACCESS_TOKEN": ACCESS_TOKEN,
        "WHATSAPP_PHONE_NUMBER_ID": PHONE_NUMBER_ID,
        "WHATSAPP_API_BASE_URL": graph.base_url,
        "WHATSAPP_MEDIA_MAX_BYTES": str(MEDIA_MAX_BYTES),
    }
    if database_url:
        environment["WHATSAPP_DATABASE_URL"] = database_url
    return environment


def twilio_environment(twilio_api: FakeTwilioApi) -> dict[str, str]:
    """Twilio's WhatsApp channel pointed at the fake Twilio API."""
    return {
        "TWILIO_ACCOUNT_SID": TWILIO_SID,
        "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "TWILIO_WHATSAPP_NUMBER": TWILIO_NUMBER,
        "TWILIO_API_BASE_URL": twilio_api.base_url,
    }


@pytest.fixture(scope="session")
def graph() -> Iterator[FakeGraphApi]:
    with fake_graph_api(ACCESS_TOKEN, PHONE_NUMBER_ID) as fake:
        yield fake


@pytest.fixture(scope="session")
def twilio_api() -> Iterator[FakeTwilioApi]:
    with fake_twilio_api(TWILIO_SID, TWILIO_TOKEN) as fake:
        yield fake


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    with temporary_database() as url:
        yield url


@pytest.fixture(scope="session")
def whatsapp_bot(
    tmp_path_factory: pytest.TempPathFactory,
    graph: FakeGraphApi,
    twilio_api: FakeTwilioApi,
    database_url: str,
) -> Iterator[RunningBot]:
    environment = {
        **whatsapp_environment(graph, database_url),
        **twilio_environment(twilio_api),
        "RASA_AUTH_TOKEN": "",  # the patient channels endpoint stays off (tests/patients/ turns it on)
    }
    with running_bot(
        tmp_path_factory.mktemp("whatsapp"), SHIPPED_CREDENTIALS, env_extra=environment
    ) as bot:
        yield bot
