"""Fixtures for the coordinator console: the console as a real process against a stand-in of
Rasa's side of the contract (fast), or against the real Rasa and action servers."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests

from actions.handoff_store import HandoffStore
from tests.support.fake_rasa import FakeRasa, running_fake_rasa
from tests.support.servers import RunningConsole, running_console

TOKEN = "console-test-token"
ADMIN, ADMIN_PASSWORD = "admin", "admin-password-123"


class ConsoleClient:
    """A signed-in (or not) user of the console's API, over real HTTP."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = requests.Session()
        self.csrf = ""

    def login(self, username: str, password: str) -> requests.Response:
        response = self.http.post(
            f"{self.url}/api/login", json={"username": username, "password": password}, timeout=10
        )
        if response.status_code == 200:
            self.csrf = response.json()["csrf_token"]
        return response

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.http.get(self.url + path, timeout=30, allow_redirects=False, **kwargs)

    def post(
        self, path: str, body: Any = None, csrf: str | None = None, **kwargs: Any
    ) -> requests.Response:
        headers = {"X-CSRF-Token": self.csrf if csrf is None else csrf}
        return self.http.post(
            self.url + path,
            json={} if body is None else body,
            headers=headers,
            timeout=60,
            allow_redirects=False,
            **kwargs,
        )


@dataclass
class ConsoleSetup:
    console: RunningConsole
    tickets: HandoffStore
    fake: FakeRasa | None = None

    def client(self) -> ConsoleClient:
        return ConsoleClient(self.console.url)

    def admin(self) -> ConsoleClient:
        client = self.client()
        assert client.login(ADMIN, ADMIN_PASSWORD).status_code == 200
        return client

    def user(
        self, username: str, role: str = "coordinator", language: str = "en", name: str = ""
    ) -> ConsoleClient:
        """A new user added by the admin, who then chooses their own password."""
        created = self.admin().post(
            "/api/users",
            {
                "username": username,
                "role": role,
                "language": language,
                "display_name": name or username.title(),
            },
        )
        assert created.status_code == 201, created.text
        client = self.client()
        assert client.login(username, created.json()["one_time_password"]).status_code == 200
        changed = client.post(
            "/api/account",
            {
                "current_password": created.json()["one_time_password"],
                "new_password": f"{username}-password-1",
            },
        )
        assert changed.status_code == 200, changed.text
        client = self.client()
        assert client.login(username, f"{username}-password-1").status_code == 200
        return client


def console_env() -> dict[str, str]:
    return {"CONSOLE_ADMIN_USER": ADMIN, "CONSOLE_ADMIN_PASSWORD": ADMIN_PASSWORD}


@pytest.fixture(scope="module")
def fake_setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleSetup]:
    workdir = tmp_path_factory.mktemp("console")
    handoff_url = f"sqlite:///{workdir / 'handoff.db'}"
    tickets = HandoffStore(handoff_url)
    with (
        running_fake_rasa(TOKEN) as fake,
        running_console(
            workdir,
            fake.url,
            TOKEN,
            handoff_url,
            f"sqlite:///{workdir / 'tracker.db'}",
            {**console_env(), "CONSOLE_WAITING_NOTICE_MINUTES": "0.05"},
        ) as console,
    ):
        yield ConsoleSetup(console, tickets, fake)


def workdir_of(setup: ConsoleSetup) -> Path:
    return setup.console.workdir
