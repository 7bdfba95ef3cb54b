"""Shared fixtures: the trained model's domain, and one real bot for the whole session."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest
from rasa.shared.core.domain import Domain

from tests.support.databases import postgres_schema_url
from tests.support.servers import RunningBot, running_bot

ROOT = Path(__file__).resolve().parent.parent

DEFAULT_CREDENTIALS = """\
rest:
bot.channels.widget.WidgetSocketIOInput:
  user_message_evt: user_uttered
  bot_message_evt: bot_uttered
  session_persistence: true
bot.channels.patients.PatientChannelsInput:
"""


@pytest.fixture(scope="session")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningBot]:
    """The real action server and Rasa server, on free loopback ports."""
    workdir = tmp_path_factory.mktemp("bot")
    env = {"HANDOFF_DB_URL": f"sqlite:///{workdir / 'handoff.db'}"}
    with running_bot(workdir, DEFAULT_CREDENTIALS, env_extra=env) as running:
        yield running


@pytest.fixture(scope="session")
def domain() -> Domain:
    """The bot's domain, as `rasa train` reads it."""
    return Domain.load(str(ROOT / "domain"))


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The same test against a SQLite file and a fresh schema in the real PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'handoff.db'}"
    else:
        yield from postgres_schema_url()
