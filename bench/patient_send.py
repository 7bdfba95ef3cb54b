"""p50/p95 latency of `POST /webhooks/patients/send` (coordinator messages), 1 and 10
concurrent coordinators, each writing into its own conversation.

Starts the real action server and Rasa server (shipped credentials, RASA_AUTH_TOKEN set;
trained model required: `make train`); each conversation starts with one REST message, so
the messages are recorded in the tracker (the same path as for the widget, without the
socket.io emit). Prints a table.

    .venv/bin/python bench/patient_send.py [--messages 40]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.latency import percentile
from tests.support.servers import ROOT, running_bot

TOKEN = "bench-token"


def one_coordinator(url: str, count: int) -> list[float]:
    conversation = f"bench-{uuid.uuid4().hex[:10]}"
    timings = []
    with requests.Session() as session:
        session.post(
            f"{url}/webhooks/rest/webhook",
            json={"sender": conversation, "message": "hello"},
            timeout=60,
        ).raise_for_status()
        session.headers["Authorization"] = f"Bearer {TOKEN}"
        for index in range(count):
            body = {
                "conversation_id": conversation,
                "message_id": f"m-{index}",
                "text": "Hello, this is your coordinator.",
                "sender": {"role": "coordinator", "name": "Ayşe"},
            }
            started = time.perf_counter()
            answer = session.post(f"{url}/webhooks/patients/send", json=body, timeout=60)
            answer.raise_for_status()
            timings.append(time.perf_counter() - started)
    return timings


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=40)
    args = parser.parse_args()
    credentials = (ROOT / "credentials.yml").read_text()
    with (
        tempfile.TemporaryDirectory() as workdir,
        running_bot(
            Path(workdir), credentials, env_extra={"RASA_AUTH_TOKEN": TOKEN}, auth_token=TOKEN
        ) as bot,
    ):
        one_coordinator(bot.url, 3)  # warm-up
        print("| coordinators | messages | p50 ms | p95 ms |")
        print("|---|---|---|---|")
        for concurrent in (1, 10):
            with ThreadPoolExecutor(concurrent) as pool:
                runs = pool.map(
                    lambda _: one_coordinator(bot.url, args.messages), range(concurrent)
                )
                timings = [t for run in runs for t in run]
            print(
                f"| {concurrent} | {len(timings)} | {percentile(timings, 0.5) * 1000:.0f} "
                f"| {percentile(timings, 0.95) * 1000:.0f} |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
