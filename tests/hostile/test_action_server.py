"""The action server as `make run` starts it (bot.cli's command and environment): on
loopback only, never without a token."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import requests

from bot.cli import action_server_command, action_server_environment, limits_environment
from tests.support.servers import ROOT, free_port, wait_for
from tests.support.servers import test_environment as server_environment


def listening_addresses(port: int) -> set[str]:
    """The local addresses with a socket listening on `port` (from /proc/net/tcp{,6})."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:  # 0A = LISTEN
                found.add(address)
    return found


def test_make_run_generates_an_action_server_token_and_keeps_a_given_one() -> None:
    generated = limits_environment({})["ACTION_SERVER_TOKEN"]
    assert len(generated) >= 32 and generated != limits_environment({})["ACTION_SERVER_TOKEN"]
    assert limits_environment({"ACTION_SERVER_TOKEN": "mine"})["ACTION_SERVER_TOKEN"] == "mine"
    env = limits_environment({"SANIC_REQUEST_MAX_SIZE": "5"})
    assert env["SANIC_REQUEST_MAX_SIZE"] == "5" and env["SANIC_REQUEST_TIMEOUT"] == "20"


def test_the_action_server_listens_on_loopback_and_checks_the_token(tmp_path: Path) -> None:
    port = free_port()
    env = action_server_environment(limits_environment(server_environment()))
    log = tmp_path / "actions.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            action_server_command(port), cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
        try:
            wait_for(f"http://127.0.0.1:{port}/health", process, log, 60)
            assert listening_addresses(port) == {"0100007F"}  # 127.0.0.1, nothing else
            url = f"http://127.0.0.1:{port}/webhook"
            assert requests.post(url, json={}, timeout=10).status_code == 401
            given = {"token": env["ACTION_SERVER_TOKEN"]}
            assert requests.post(url, json={}, params=given, timeout=10).status_code != 401
        finally:
            process.terminate()
            process.wait(timeout=15)


def test_the_action_server_does_not_start_without_a_token() -> None:
    env = {**server_environment(), "ACTION_SERVER_TOKEN": ""}
    started = time.monotonic()
    result = subprocess.run(
        action_server_command(free_port()), cwd=ROOT, env=env, capture_output=True, timeout=120
    )
    assert result.returncode == 2 and b"ACTION_SERVER_TOKEN" in result.stderr
    assert time.monotonic() - started < 120
