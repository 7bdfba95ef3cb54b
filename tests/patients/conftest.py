"""One real bot with the shipped credentials.yml: the widget, WhatsApp (fake Graph API),
Twilio (fake Twilio API), REST and the patient channels endpoint (RASA_AUTH_TOKEN set)."""

from __future__ import annotations

from typing import Iterator

import pytest

from tests.support.fake_graph_api import FakeGraphApi, fake_graph_api
from tests.support.fake_twilio_api import FakeTwilioApi, fake_twilio_api
from tests.support.servers import RunningBot, running_bot
from tests.support.whatsapp import ACCESS_TOKEN, PHONE_NUMBER_ID
from tests.whatsapp.conftest import (
    SHIPPED_CREDENTIALS,
    TWILIO_SID,
    TWILIO_TOKEN,
    twilio_environment,
    whatsapp_environment,
)

TOKEN = "patients-endpoint-test-token"


@pytest.fixture(scope="package")
def graph() -> Iterator[FakeGraphApi]:
    with fake_graph_api(ACCESS_TOKEN, PHONE_NUMBER_ID) as fake:
        yield fake


@pytest.fixture(scope="package")
def twilio_api() -> Iterator[FakeTwilioApi]:
    with fake_twilio_api(TWILIO_SID, TWILIO_TOKEN) as fake:
        yield fake


@pytest.fixture(scope="package")
def patients_bot(
    tmp_path_factory: pytest.TempPathFactory, graph: FakeGraphApi, twilio_api: FakeTwilioApi
) -> Iterator[RunningBot]:
    environment = {
        "RASA_AUTH_TOKEN": TOKEN,
        **whatsapp_environment(graph),
        **twilio_environment(twilio_api),
    }
    with running_bot(
        tmp_path_factory.mktemp("patients"),
        SHIPPED_CREDENTIALS,
        env_extra=environment,
        auth_token=TOKEN,
    ) as bot:
        yield bot
