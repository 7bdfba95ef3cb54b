"""`python -m bot.coordinator users …` and the first admin, as `make run` creates it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from bot.cli import action_server_environment, coordinator_command, coordinator_environment
from bot.coordinator import auth
from bot.coordinator.store import ConsoleStore
from tests.support import servers
from tests.support.servers import ROOT


def run(db: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.coordinator", *args],
        cwd=ROOT,
        env=servers.test_environment(
            {
                "CONSOLE_DB_URL": f"sqlite:///{db}",
                "CONSOLE_ADMIN_USER": "",
                "CONSOLE_ADMIN_PASSWORD": "",
                **env,
            }
        ),
        capture_output=True,
        text=True,
        timeout=60,
    )


def one_time_password(output: str) -> str:
    match = re.search(r"password[^:]*: (\S+)$", output.strip())
    assert match, output
    return match.group(1)


def test_users_add_list_disable_enable_reset(tmp_path: Path) -> None:
    db = tmp_path / "console.db"
    added = run(
        db, "users", "add", "Zeynep", "--role", "admin", "--language", "tr", "--name", "Zeynep"
    )
    assert added.returncode == 0, added.stderr
    password = one_time_password(added.stdout)
    user = ConsoleStore(f"sqlite:///{db}").user("zeynep")
    assert (
        user is not None
        and user.role == "admin"
        and user.language == "tr"
        and user.must_change_password
    )
    assert auth.verify_password(user.password_hash, password)
    assert password not in db.read_bytes().decode("latin-1")  # only its argon2 hash is stored
    assert run(db, "users", "add", "zeynep").returncode == 1  # exists
    assert run(db, "users", "disable", "zeynep").returncode == 0
    assert "disabled" in run(db, "users", "list").stdout
    assert run(db, "users", "enable", "zeynep").returncode == 0
    reset = run(db, "users", "reset", "zeynep")
    assert reset.returncode == 0
    fresh = ConsoleStore(f"sqlite:///{db}").user("zeynep")
    assert fresh is not None and auth.verify_password(
        fresh.password_hash, one_time_password(reset.stdout)
    )
    assert not auth.verify_password(fresh.password_hash, password)
    assert run(db, "users", "reset", "nobody").returncode == 1
    assert run(db, "users", "add", "bad name!").returncode == 2


def test_first_start_prints_a_one_time_password_once(tmp_path: Path) -> None:
    db = tmp_path / "console.db"
    first = run(db, "bootstrap")
    assert "one-time password" in first.stdout
    admin = ConsoleStore(f"sqlite:///{db}").user("admin")
    assert admin is not None and admin.is_admin and admin.must_change_password
    assert run(db, "bootstrap").stdout == ""  # never again


def test_admin_from_the_environment_when_absent(tmp_path: Path) -> None:
    db = tmp_path / "console.db"
    result = run(
        db, "bootstrap", CONSOLE_ADMIN_USER="chief", CONSOLE_ADMIN_PASSWORD="a-strong-password"
    )
    assert result.stdout == ""
    chief = ConsoleStore(f"sqlite:///{db}").user("chief")
    assert chief is not None and chief.is_admin and not chief.must_change_password
    assert auth.verify_password(chief.password_hash, "a-strong-password")


def test_make_run_gives_the_token_to_the_console_and_binds_the_action_server_to_loopback() -> None:
    assert coordinator_command()[1:] == ["-m", "bot.coordinator", "serve"]
    env = coordinator_environment({"PATH": "/bin"}, 5005, "secret")
    assert env["RASA_AUTH_TOKEN"] == "secret" and env["RASA_URL"] == "http://127.0.0.1:5005"
    assert action_server_environment({})["ACTION_SERVER_HOST"] == "127.0.0.1"
