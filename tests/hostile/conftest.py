"""One real bot (the shipped credentials.yml: REST, widget, WhatsApp, Twilio, patient
channels) with the limits `make run` sets, plus the coordinator console, for the attacks."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from tests.coordinator.conftest import ADMIN, ADMIN_PASSWORD
from tests.support.fake_graph_api import FakeGraphApi, fake_graph_api
from tests.support.fake_twilio_api import FakeTwilioApi, fake_twilio_api
from tests.support.postgres import temporary_database
from tests.support.servers import RunningBot, RunningConsole, running_bot, running_console
from tests.support.whatsapp import ACCESS_TOKEN, PHONE_NUMBER_ID
from tests.whatsapp.conftest import (
    SHIPPED_CREDENTIALS,
    TWILIO_SID,
    TWILIO_TOKEN,
    twilio_environment,
    whatsapp_environment,
)

BODY_TIMEOUT = 3  # seconds a body may take to arrive (BOT_REQUEST_BODY_TIMEOUT)
RATE_BURST = 10


@pytest.fixture(scope="session")
def graph() -> Iterator[FakeGraphApi]:
    with fake_graph_api(ACCESS_TOKEN, PHONE_NUMBER_ID) as fake:
        yield fake


@pytest.fixture(scope="session")
def twilio_api() -> Iterator[FakeTwilioApi]:
    with fake_twilio_api(TWILIO_SID, TWILIO_TOKEN) as fake:
        yield fake


@pytest.fixture(scope="session")
def hostile_bot(
    tmp_path_factory: pytest.TempPathFactory, graph: FakeGraphApi, twilio_api: FakeTwilioApi
) -> Iterator[RunningBot]:
    with temporary_database() as database_url:
        environment = {
            **whatsapp_environment(graph, database_url),
            **twilio_environment(twilio_api),
            "BOT_REQUEST_BODY_TIMEOUT": str(BODY_TIMEOUT),
            "BOT_RATE_LIMIT": "60",
            "BOT_RATE_BURST": str(RATE_BURST),
        }
        with running_bot(
            tmp_path_factory.mktemp("hostile"), SHIPPED_CREDENTIALS, env_extra=environment
        ) as bot:
            yield bot


@pytest.fixture(scope="session")
def hostile_console(hostile_bot: RunningBot) -> Iterator[RunningConsole]:
    workdir: Path = hostile_bot.workdir
    with running_console(
        workdir,
        hostile_bot.url,
        hostile_bot.auth_token,
        f"sqlite:///{workdir / 'handoff.db'}",
        f"sqlite:///{workdir / 'tracker.db'}",
        {"CONSOLE_ADMIN_USER": ADMIN, "CONSOLE_ADMIN_PASSWORD": ADMIN_PASSWORD},
    ) as console:
        yield console
