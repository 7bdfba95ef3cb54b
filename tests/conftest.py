"""Shared fixtures: the trained model's domain, and one real bot for the whole session."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from tests.support.servers import RunningBot, running_bot

ROOT = Path(__file__).resolve().parent.parent

DEFAULT_CREDENTIALS = """\
rest:
bot.channels.widget.WidgetSocketIOInput:
  user_message_evt: user_uttered
  bot_message_evt: bot_uttered
  session_persistence: true
"""


@pytest.fixture(scope="session")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningBot]:
    """The real action server and Rasa server, on free loopback ports."""
    with running_bot(tmp_path_factory.mktemp("bot"), DEFAULT_CREDENTIALS) as running:
        yield running
