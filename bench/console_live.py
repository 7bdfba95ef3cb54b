"""Time from a patient's message to the coordinator console's live update (SSE), p50/p95.

Starts the real action server, Rasa server and console on free ports, signs in, takes over
one REST conversation and opens `GET /api/events` as the console's pages do; then the patient
sends messages and each one is timed from the patient's POST to the SSE `message` event (the
bot is paused, so Rasa only runs NLU and stores the event). Also: ticket → SSE.

    .venv/bin/python bench/console_live.py [--messages 30] [--poll 0.25]
"""

from __future__ import annotations

import argparse
import json
import queue
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.conftest import DEFAULT_CREDENTIALS
from tests.support.chat import RestChat
from tests.support.servers import running_bot, running_console

ADMIN, PASSWORD = "bench-admin", "bench-password-123"


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=30)
    parser.add_argument("--poll", type=float, default=0.25, help="CONSOLE_POLL_SECONDS")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        with (
            running_bot(workdir, DEFAULT_CREDENTIALS) as bot,
            running_console(
                workdir,
                bot.url,
                bot.auth_token,
                f"sqlite:///{workdir / 'handoff.db'}",
                f"sqlite:///{workdir / 'tracker.db'}",
                {
                    "CONSOLE_ADMIN_USER": ADMIN,
                    "CONSOLE_ADMIN_PASSWORD": PASSWORD,
                    "CONSOLE_POLL_SECONDS": str(args.poll),
                },
            ) as console,
        ):
            http = requests.Session()
            csrf = http.post(
                f"{console.url}/api/login", json={"username": ADMIN, "password": PASSWORD}
            ).json()["csrf_token"]
            events: queue.Queue[tuple[float, str, dict[str, str]]] = queue.Queue()
            stream = http.get(f"{console.url}/api/events", stream=True, timeout=600)

            def read() -> None:
                kind = ""
                try:
                    for line in stream.iter_lines(decode_unicode=True):
                        if line.startswith("event: "):
                            kind = line[7:]
                        elif line.startswith("data: "):
                            events.put((time.perf_counter(), kind, json.loads(line[6:])))
                except (requests.RequestException, AttributeError, ValueError):
                    return  # the stream was closed at the end

            threading.Thread(target=read, daemon=True).start()

            def wait(kind: str, sender: str, **match: str) -> float:
                while True:
                    at, got, data = events.get(timeout=30)
                    same = got == kind and data.get("conversation_id") == sender
                    if same and all(data.get(k) == v for k, v in match.items()):
                        return at

            chat = RestChat(bot.url)
            chat.send("I want to talk to a real person", {"language": "en"})
            started = time.perf_counter()
            chat.send("yes")
            ticket_ms = (wait("ticket", chat.sender) - started) * 1000
            http.post(
                f"{console.url}/api/conversations/{chat.sender}/takeover",
                headers={"X-CSRF-Token": csrf},
                json={},
            )
            time.sleep(1.5)
            while not events.empty():
                events.get_nowait()
            timings = []
            for index in range(args.messages):
                time.sleep(
                    random.uniform(0, args.poll)
                )  # patients do not write in step with the poll
                sent = time.perf_counter()
                chat.send(f"question number {index}: how long is the hospital stay?")
                timings.append((wait("message", chat.sender, event="user") - sent) * 1000)
            stream.close()
    print(f"poll interval {args.poll:.2f} s, {args.messages} patient messages (bot paused)")
    print("| measurement | p50 ms | p95 ms | max ms |")
    print("|---|---|---|---|")
    print(
        f"| patient message → console SSE | {statistics.median(timings):.0f} | "
        f"{percentile(timings, 0.95):.0f} | {max(timings):.0f} |"
    )
    print(f"| ticket created → console SSE (from the patient's 'yes') | {ticket_ms:.0f} | | |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
