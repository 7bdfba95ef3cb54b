"""p50/p95 latency of one message over the REST channel, 1 and 10 concurrent patients.

Starts the real action server and Rasa server on free ports (trained model required:
`make train`), warms up, then each simulated patient sends a mix of questions in all six
languages in its own conversation. Prints a table. Also reports the Rasa server's
resident memory (RSS) after the run and the time from start to ready.

    .venv/bin/python bench/latency.py [--messages 60]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.conftest import DEFAULT_CREDENTIALS
from tests.support.servers import running_bot

MESSAGES = [
    "What is hemifacial spasm?",
    "ما هي أعراض التشنج النصفي؟",
    "ameliyattan sonra kac gun hastanede kalirim",
    "Какие побочные эффекты у ботокса?",
    "Wie viel kostet die Behandlung?",
    "Comment se passe le diagnostic ?",
]


def one_patient(url: str, count: int) -> list[float]:
    sender = f"bench-{uuid.uuid4().hex[:10]}"
    timings = []
    with requests.Session() as session:
        for index in range(count):
            started = time.perf_counter()
            response = session.post(
                f"{url}/webhooks/rest/webhook",
                json={"sender": sender, "message": MESSAGES[index % len(MESSAGES)]},
                timeout=60,
            )
            response.raise_for_status()
            timings.append(time.perf_counter() - started)
    return timings


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def rasa_pid(port: str) -> int | None:
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmdline = (proc / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if (
                b"run" in cmdline
                and port.encode() in cmdline
                and any(b"rasa" in c for c in cmdline)
            ):
                return int(proc.name)
    return None


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=60, help="messages per patient")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        started = time.monotonic()
        with running_bot(Path(tmp), DEFAULT_CREDENTIALS) as bot:
            ready = time.monotonic() - started
            one_patient(bot.url, 6)  # warm-up
            for patients in (1, 10):
                with ThreadPoolExecutor(patients) as pool:
                    results = pool.map(
                        lambda _: one_patient(bot.url, args.messages), range(patients)
                    )
                    timings = [t for result in results for t in result]
                rows.append(
                    (patients, len(timings), statistics.median(timings), percentile(timings, 0.95))
                )
            pid = rasa_pid(bot.url.rsplit(":", 1)[1])
            memory = rss_mb(pid) if pid else float("nan")
    print("| concurrent patients | messages | p50 (ms) | p95 (ms) |")
    print("|---|---|---|---|")
    for patients, count, p50, p95 in rows:
        print(f"| {patients} | {count} | {p50 * 1000:.0f} | {p95 * 1000:.0f} |")
    print()
    print(
        f"start to ready (action server + Rasa): {ready:.1f} s; "
        f"Rasa server RSS after the run: {memory:.0f} MB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
