"""Entry points: `python -m bot.cli run|shell` start the action server and Rasa together
(`run` also the coordinator console on COORDINATOR_HOST:COORDINATOR_PORT, 127.0.0.1:8000).

All run in the foreground; Ctrl-C (SIGINT) or SIGTERM stops every process started here.
Rasa's HTTP API is always protected by a token: RASA_AUTH_TOKEN, or one generated here and
given only to Rasa and the console (never printed). The action server listens on loopback
and checks a token on every call: ACTION_SERVER_TOKEN, or one generated here (never printed).
Rasa's request size and timeout come from SANIC_REQUEST_MAX_SIZE / SANIC_REQUEST_TIMEOUT
(Sanic reads them; defaults set here in `limits_environment`, docs/security.md).
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from bot.origins import InvalidOriginError, configured_origins

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL = ROOT / "models" / "hfs.tar.gz"


@dataclass(frozen=True)
class Ports:
    rasa: int
    actions: int


def quiet_environment() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
    env.setdefault("PYTHONPATH", str(ROOT))
    return env


def action_server_command(port: int) -> list[str]:
    """rasa_sdk's app behind the token check (actions/server.py)."""
    return [sys.executable, "-m", "actions.server", "--actions", "actions", "--port", str(port)]


def action_server_environment(env: dict[str, str]) -> dict[str, str]:
    """Loopback unless ACTION_SERVER_HOST says otherwise; the token is in `env` already."""
    return {**env, "ACTION_SERVER_HOST": env.get("ACTION_SERVER_HOST") or "127.0.0.1"}


# Rasa's Sanic reads SANIC_* variables: a body above 1 MB gets a 413 before any JSON parsing
# (Sanic's default is 100 MB); a body that has not arrived after 20 s is dropped (slow bodies).
RASA_SANIC_LIMITS = {"SANIC_REQUEST_MAX_SIZE": str(1024 * 1024), "SANIC_REQUEST_TIMEOUT": "20"}


def limits_environment(env: dict[str, str]) -> dict[str, str]:
    """The request-size/time limits for Rasa and the action server's token (generated when
    ACTION_SERVER_TOKEN is not set: the action server never runs open)."""
    return {
        **RASA_SANIC_LIMITS,
        **env,
        "ACTION_SERVER_TOKEN": env.get("ACTION_SERVER_TOKEN") or secrets.token_urlsafe(32),
    }


def coordinator_command() -> list[str]:
    return [sys.executable, "-m", "bot.coordinator", "serve"]


def coordinator_environment(env: dict[str, str], rasa_port: int, auth_token: str) -> dict[str, str]:
    """The console reaches Rasa on loopback with the internal token."""
    return {
        **env,
        "RASA_URL": env.get("RASA_URL") or f"http://127.0.0.1:{rasa_port}",
        "RASA_AUTH_TOKEN": auth_token,
    }


def coordinator_port() -> int:
    return int(os.environ.get("COORDINATOR_PORT") or 8000)


def delivery_worker_command() -> list[str]:
    return [sys.executable, "-m", "actions.delivery"]


def rasa_server_command(
    port: int, model: Path, endpoints: Path, credentials: Path, auth_token: str | None
) -> list[str]:
    command = [
        sys.executable,
        "-m",
        "rasa",
        "run",
        "--model",
        str(model),
        "--endpoints",
        str(endpoints),
        "--credentials",
        str(credentials),
        "--port",
        str(port),
        "--cors",
        *configured_origins(),  # BOT_CORS_ORIGINS: the widget channel reads it too
    ]
    if auth_token:  # the HTTP API (trackers, pause/resume) only ever with a token
        command += ["--enable-api", "--auth-token", auth_token]
    return command


def answers(url: str, timeout: float) -> bool:
    """Whether a health or readiness URL answers 200 within `timeout` seconds."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def wait_until_ready(url: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if answers(url, timeout=2):
            return True
        time.sleep(0.3)
    return False


def stop_all(processes: Sequence[subprocess.Popen[bytes]], grace: float = 10.0) -> None:
    """SIGTERM to every process, SIGKILL to those still running `grace` seconds later (one
    deadline for all, not one per process)."""
    for process in processes:
        if process.poll() is None:
            process.terminate()
    deadline = time.monotonic() + grace
    for process in processes:
        try:
            process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def serve(args: argparse.Namespace, foreground: list[str] | None = None) -> int:
    if not args.model.exists():
        print(f"No trained model at {args.model}: run `make train` first.", file=sys.stderr)
        return 2
    env = limits_environment(quiet_environment())
    env["ACTION_PORT"] = str(args.action_port)  # endpoints.yml's action_endpoint reads it
    # the internal token: only Rasa and the console get it, it is never printed
    auth_token = env.get("RASA_AUTH_TOKEN") or secrets.token_urlsafe(32)
    processes = [
        subprocess.Popen(
            action_server_command(args.action_port),
            cwd=ROOT,
            env=action_server_environment(env),
        )
    ]
    if env.get("COORDINATOR_WEBHOOK_URL"):  # tickets then also go to the clinic's webhook
        processes.append(subprocess.Popen(delivery_worker_command(), cwd=ROOT, env=env))
    rasa_command = foreground or rasa_server_command(
        args.port, args.model, args.endpoints, args.credentials, auth_token
    )
    one_time_password = None if foreground else first_admin()
    stop_requested = False

    def request_stop(signum: int, frame: object) -> None:
        nonlocal stop_requested
        stop_requested = True

    signal.signal(signal.SIGTERM, request_stop)
    try:
        if not wait_until_ready(f"http://127.0.0.1:{args.action_port}/health", 60):
            print("The action server did not start.", file=sys.stderr)
            return 1
        # the patient channels endpoint inside Rasa checks the same token (from its env)
        rasa_env = {**env, "RASA_AUTH_TOKEN": auth_token}
        processes.append(subprocess.Popen(rasa_command, cwd=ROOT, env=rasa_env))
        if foreground is None:
            console_env = coordinator_environment(env, args.port, auth_token)
            processes.append(subprocess.Popen(coordinator_command(), cwd=ROOT, env=console_env))
        if foreground is None and wait_until_ready(f"http://127.0.0.1:{args.port}/", 120):
            console_ready = wait_until_ready(console_health_url(), 30)
            print_welcome(args.port, console_ready, one_time_password)
        while not stop_requested and all(p.poll() is None for p in processes):
            time.sleep(0.5)
        return next((p.returncode for p in processes if p.returncode), 0)
    except KeyboardInterrupt:
        return 0
    finally:
        stop_all(processes)


def first_admin() -> str | None:
    """CONSOLE_ADMIN_USER/PASSWORD when set and absent; else, on the very first start, an
    `admin` with a one-time password (returned, printed once in the welcome text)."""
    from bot.coordinator.__main__ import bootstrap_admin
    from bot.coordinator.config import Settings
    from bot.coordinator.store import ConsoleStore

    return bootstrap_admin(ConsoleStore(Settings.from_environment().db_url))


def console_health_url() -> str:
    return f"http://127.0.0.1:{coordinator_port()}/health"


def print_welcome(port: int, console_ready: bool = False, one_time: str | None = None) -> None:
    base = f"http://localhost:{port}"
    console = [
        f"  console:   http://localhost:{coordinator_port()} (coordinators; "
        + ("running)" if console_ready else "not answering yet, see its log above)")
    ]
    if one_time:
        console.append(f"             first sign-in: admin / {one_time} (one-time, change it then)")
    print(
        "\n".join(
            [
                "",
                "The assistant is running. Talk to it:",
                f"  REST:      curl -s {base}/webhooks/rest/webhook "
                + """-d '{"sender": "me", "message": "hello"}'""",
                f"  socket.io: {base}/socket.io (Rasa's protocol: user_uttered / bot_uttered)",
                f"  widget:    {base}/widget/demo.html (demo clinic page with the chat widget)",
                *console,
                "  terminal:  make shell",
                "Stop with Ctrl-C.",
                "",
            ]
        ),
        flush=True,
    )


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bot")
    parser.add_argument("command", choices=["run", "shell"])
    parser.add_argument("--port", type=int, default=int(os.environ.get("RASA_PORT", "5005")))
    parser.add_argument(
        "--action-port", type=int, default=int(os.environ.get("ACTION_PORT", "5055"))
    )
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--endpoints", type=Path, default=ROOT / "endpoints.yml")
    parser.add_argument("--credentials", type=Path, default=ROOT / "credentials.yml")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        configured_origins()
    except InvalidOriginError as error:
        print(f"BOT_CORS_ORIGINS: {error}", file=sys.stderr)
        return 2
    if args.command == "shell":
        shell = [
            sys.executable,
            "-m",
            "rasa",
            "shell",
            "--model",
            str(args.model),
            "--endpoints",
            str(args.endpoints),
        ]
        return serve(args, foreground=shell)
    return serve(args)


if __name__ == "__main__":
    sys.exit(main())
