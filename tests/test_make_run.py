"""`make run` as a newcomer starts it (`python -m bot.cli run`), on other ports than the
defaults: the welcome text names the bot and the console, a medical question is answered
(through the action server on the chosen port), Rasa's API and the action server refuse
callers without their tokens, the console signs in its first admin, and SIGTERM stops all."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest
import requests

from tests.support.chat import which_response
from tests.support.servers import ROOT, free_port, test_environment

ADMIN, PASSWORD = "admin", "a-long-admin-password"


class MakeRun:
    def __init__(self, process: subprocess.Popen[str], rasa: int, actions: int, console: int):
        self.process = process
        self.rasa = f"http://127.0.0.1:{rasa}"
        self.actions = f"http://127.0.0.1:{actions}"
        self.console = f"http://127.0.0.1:{console}"
        self.output: list[str] = []

    def wait_for_welcome(self, timeout: float = 240) -> str:
        deadline = time.monotonic() + timeout
        assert self.process.stdout is not None
        os.set_blocking(self.process.stdout.fileno(), False)
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if line:
                self.output.append(line)
                if line.startswith("Stop with Ctrl-C."):
                    return "".join(self.output)
            elif self.process.poll() is not None:
                break
            else:
                time.sleep(0.2)
        raise AssertionError("no welcome text:\n" + "".join(self.output)[-4000:])


@pytest.fixture(scope="module")
def make_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MakeRun]:
    workdir: Path = tmp_path_factory.mktemp("make-run")
    endpoints = (ROOT / "endpoints.yml").read_text(encoding="utf-8")
    endpoints = endpoints.replace("db: rasa_tracker.db", f"db: {workdir / 'tracker.db'}")
    assert str(workdir) in endpoints, "endpoints.yml no longer names rasa_tracker.db"
    (workdir / "endpoints.yml").write_text(endpoints, encoding="utf-8")
    rasa, actions, console = free_port(), free_port(), free_port()
    env = test_environment(
        {
            "RASA_PORT": str(rasa),
            "ACTION_PORT": str(actions),
            "COORDINATOR_PORT": str(console),
            "HANDOFF_DB_URL": f"sqlite:///{workdir / 'handoff.db'}",
            "CONSOLE_DB_URL": f"sqlite:///{workdir / 'console.db'}",
            "TRACKER_DB_URL": f"sqlite:///{workdir / 'tracker.db'}",
            "CONSOLE_ADMIN_USER": ADMIN,
            "CONSOLE_ADMIN_PASSWORD": PASSWORD,
        }
    )
    for name in ("RASA_AUTH_TOKEN", "ACTION_SERVER_TOKEN", "COORDINATOR_WEBHOOK_URL"):
        env.pop(name, None)  # as on a fresh machine: make run generates the tokens
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run", "--endpoints", str(workdir / "endpoints.yml")],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    running = MakeRun(process, rasa, actions, console)
    try:
        yield running
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def test_make_run_serves_the_bot_and_the_console_with_their_tokens(make_run: MakeRun) -> None:
    welcome = make_run.wait_for_welcome()
    assert f"http://localhost:{make_run.rasa.rsplit(':', 1)[1]}/widget/demo.html" in welcome
    assert f"console:   http://localhost:{make_run.console.rsplit(':', 1)[1]}" in welcome
    assert "(coordinators; running)" in welcome

    answer = requests.post(
        f"{make_run.rasa}/webhooks/rest/webhook",
        json={"sender": "newcomer", "message": "What is hemifacial spasm?"},
        timeout=60,
    ).json()
    assert ("utter_what_is_hfs", "en") in [which_response(m.get("text", "")) for m in answer]

    assert (
        requests.get(f"{make_run.rasa}/conversations/newcomer/tracker", timeout=10).status_code
        == 401
    )
    assert requests.post(f"{make_run.actions}/webhook", json={}, timeout=10).status_code == 401
    # the patient channels endpoint is on (401 without the token, not 503 "disabled")
    unauthorised = requests.post(f"{make_run.rasa}/webhooks/patients/send", json={}, timeout=10)
    assert unauthorised.status_code == 401, unauthorised.text

    session = requests.Session()
    login = session.post(
        f"{make_run.console}/api/login", json={"username": ADMIN, "password": PASSWORD}, timeout=10
    )
    assert login.status_code == 200 and login.json()["csrf_token"]
    assert session.get(f"{make_run.console}/api/tickets", timeout=10).status_code == 200


def test_sigterm_stops_everything_make_run_started(make_run: MakeRun) -> None:
    make_run.wait_for_welcome() if not make_run.output else None
    make_run.process.send_signal(signal.SIGTERM)
    assert make_run.process.wait(timeout=40) == 0
    for url in (make_run.rasa, make_run.actions + "/health", make_run.console + "/health"):
        with pytest.raises(requests.ConnectionError):
            requests.get(url, timeout=3)
