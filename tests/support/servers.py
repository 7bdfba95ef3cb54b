"""Start the real action server and Rasa server on free loopback ports for tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Iterator, Sequence

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "models" / "hfs.tar.gz"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
            "RASA_TELEMETRY_ENABLED": "false",
        }
    )
    env.update(extra or {})
    return env


def wait_for(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"{url} exited with {process.returncode}:\n{log.read_text()[-4000:]}"
            )
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.3)
    raise RuntimeError(f"{url} not ready after {timeout} s:\n{log.read_text()[-4000:]}")


@dataclass(frozen=True)
class RunningBot:
    url: str
    action_url: str
    workdir: Path
    auth_token: str
    action_token: str = "test-action-token"

    def log(self, name: str) -> str:
        return (self.workdir / f"{name}.log").read_text(errors="replace")


def _start(
    command: Sequence[str], log_path: Path, env: dict[str, str]
) -> tuple[subprocess.Popen[bytes], IO[bytes]]:
    log = open(log_path, "wb")  # noqa: SIM115 - closed when the server stops
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    return process, log


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def _sqlite_tracker_store(db: Path) -> str:
    """The tracker store `endpoints.yml` configures, on a SQLite file of the test run."""
    return (
        "tracker_store:\n  type: bot.stores.recent_history.RecentHistorySQLTrackerStore\n"
        f"  dialect: sqlite\n  db: {db}\n"
    )


@contextmanager
def running_bot(
    workdir: Path,
    credentials: str,
    endpoints_extra: str = "",
    env_extra: dict[str, str] | None = None,
    auth_token: str = "test-token-please-change",
    cors_origins: Sequence[str] = ("*",),
    tracker_store: str | None = None,
    action_token: str = "test-action-token",
) -> Iterator[RunningBot]:
    """Action server + Rasa server (REST, socket.io, API with token) on free ports.

    `tracker_store` replaces the default `tracker_store:` block (SQLite in `workdir`).
    """
    if not MODEL.exists():
        raise RuntimeError(f"{MODEL} is missing: run `make train` (make test does)")
    # tickets go to a store of this test run, never to a file in the repository
    # the patient channels endpoint checks the same token as Rasa's HTTP API (as `make run`)
    env = test_environment(
        {
            "HANDOFF_DB_URL": f"sqlite:///{workdir / 'handoff.db'}",
            "RASA_AUTH_TOKEN": auth_token,
            **(env_extra or {}),
        }
    )
    from bot.cli import action_server_command, action_server_environment, limits_environment

    # the same limits and action-server token as `make run` (env_extra may override them)
    env = limits_environment({**env, "ACTION_SERVER_TOKEN": action_token})
    action_port, rasa_port = free_port(), free_port()
    (workdir / "endpoints.yml").write_text(
        f'action_endpoint:\n  url: "http://127.0.0.1:{action_port}/webhook"\n'
        + f"  token: {env['ACTION_SERVER_TOKEN']}\n  enable_selective_domain: true\n"
        + (tracker_store or _sqlite_tracker_store(workdir / "tracker.db"))
        + "nlg:\n  type: bot.nlg.PayloadSafeNaturalLanguageGenerator\n"
        + endpoints_extra
    )
    (workdir / "credentials.yml").write_text(credentials)
    actions, actions_log = _start(
        action_server_command(action_port), workdir / "actions.log", action_server_environment(env)
    )
    rasa, rasa_log = _start(
        [
            sys.executable,
            "-m",
            "rasa",
            "run",
            "--model",
            str(MODEL),
            "--endpoints",
            str(workdir / "endpoints.yml"),
            "--credentials",
            str(workdir / "credentials.yml"),
            "--port",
            str(rasa_port),
            "--interface",
            "127.0.0.1",
            "--enable-api",
            "--auth-token",
            auth_token,
            "--cors",
            *cors_origins,
        ],
        workdir / "rasa.log",
        env,
    )
    try:
        wait_for(f"http://127.0.0.1:{action_port}/health", actions, workdir / "actions.log")
        wait_for(f"http://127.0.0.1:{rasa_port}/", rasa, workdir / "rasa.log")
        yield RunningBot(
            f"http://127.0.0.1:{rasa_port}",
            f"http://127.0.0.1:{action_port}",
            workdir,
            auth_token,
            env["ACTION_SERVER_TOKEN"],
        )
    finally:
        _stop(rasa)
        _stop(actions)
        rasa_log.close()
        actions_log.close()


@dataclass(frozen=True)
class RunningConsole:
    url: str
    workdir: Path
    db_url: str
    env: dict[str, str]

    def log(self) -> str:
        return (self.workdir / "console.log").read_text(errors="replace")


@contextmanager
def running_console(
    workdir: Path,
    rasa_url: str,
    auth_token: str,
    handoff_db_url: str,
    tracker_db_url: str,
    env_extra: dict[str, str] | None = None,
) -> Iterator[RunningConsole]:
    """The coordinator console as a real process on a free port, started with the same
    command `make run` uses (bot.cli.coordinator_command)."""
    from bot.cli import coordinator_command

    port = free_port()
    db_url = f"sqlite:///{workdir / 'console.db'}"
    env = test_environment(
        {
            "COORDINATOR_HOST": "127.0.0.1",
            "COORDINATOR_PORT": str(port),
            "CONSOLE_DB_URL": db_url,
            "HANDOFF_DB_URL": handoff_db_url,
            "TRACKER_DB_URL": tracker_db_url,
            "RASA_URL": rasa_url,
            "RASA_AUTH_TOKEN": auth_token,
            "CONSOLE_RETRY_SECONDS": "1",
            "CONSOLE_POLL_SECONDS": "0.2",
            **(env_extra or {}),
        }
    )
    process, log = _start(coordinator_command(), workdir / "console.log", env)
    try:
        wait_for(f"http://127.0.0.1:{port}/health", process, workdir / "console.log", 30)
        yield RunningConsole(f"http://127.0.0.1:{port}", workdir, db_url, env)
    finally:
        _stop(process)
        log.close()
