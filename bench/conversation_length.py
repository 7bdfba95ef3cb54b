"""Per-message latency by turn in one long conversation, per tracker store.

Starts the real action server and Rasa server on free loopback ports (trained model required:
`make train`), once per tracker store, and holds one conversation of `--turns` REST messages
(questions in all six languages, in turn). Prints the median and p95 latency per turn bucket:
with Rasa's `SQLTrackerStore` the cost grows with the conversation, with ours
(`bot.stores.recent_history.RecentHistorySQLTrackerStore`, endpoints.yml) it should not.
Bounded: at most `--turns` messages per store and `--max-seconds` in all.

    .venv/bin/python bench/conversation_length.py [--turns 300] [--stores plain recent]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.latency import MESSAGES, percentile, rasa_pid
from tests.conftest import DEFAULT_CREDENTIALS
from tests.support.servers import running_bot

STORES = {
    "plain": "SQL",
    "recent": "bot.stores.recent_history.RecentHistorySQLTrackerStore",
}
NAMES = {"plain": "Rasa's SQLTrackerStore", "recent": "RecentHistorySQLTrackerStore"}
BUCKETS = ((1, 20), (21, 100), (101, 200), (201, 300))


def tracker_store_block(store: str, db: Path) -> str:
    return f"tracker_store:\n  type: {STORES[store]}\n  dialect: sqlite\n  db: {db}\n"


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of the processes so far (not disturbed by other load)."""
    ticks = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def action_server_pid(port: str) -> int | None:
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmdline = (proc / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            # `python -m actions.server` (bot/cli.py), rasa_sdk behind the token check
            if b"actions.server" in cmdline and port.encode() in cmdline:
                return int(proc.name)
    return None


def one_long_conversation(
    url: str, turns: int, deadline: float, pids: list[int]
) -> tuple[list[float], list[float]]:
    """Wall-clock latency and server CPU time (Rasa + action server) of each message."""
    sender = f"long-{uuid.uuid4().hex[:10]}"
    timings: list[float] = []
    cpu: list[float] = []
    with requests.Session() as session:
        for turn in range(turns):
            if time.monotonic() > deadline:
                break
            cpu_before = cpu_seconds(pids)
            started = time.perf_counter()
            response = session.post(
                f"{url}/webhooks/rest/webhook",
                json={"sender": sender, "message": MESSAGES[turn % len(MESSAGES)]},
                timeout=60,
            )
            response.raise_for_status()
            timings.append(time.perf_counter() - started)
            cpu.append(cpu_seconds(pids) - cpu_before)
    return timings, cpu


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=300)
    parser.add_argument("--stores", nargs="+", choices=sorted(STORES), default=["plain", "recent"])
    parser.add_argument("--max-seconds", type=float, default=900)
    args = parser.parse_args()
    deadline = time.monotonic() + args.max_seconds
    results: dict[str, tuple[list[float], list[float]]] = {}
    for store in args.stores:
        with tempfile.TemporaryDirectory() as tmp:
            workdir = Path(tmp)
            block = tracker_store_block(store, workdir / "tracker.db")
            with running_bot(workdir, DEFAULT_CREDENTIALS, tracker_store=block) as bot:
                found = [
                    rasa_pid(bot.url.rsplit(":", 1)[1]),
                    action_server_pid(bot.action_url.rsplit(":", 1)[1]),
                ]
                if None in found:  # the CPU column would leave a process out
                    raise SystemExit(f"Rasa or action server process not found: {found}")
                pids = [pid for pid in found if pid is not None]
                one_long_conversation(bot.url, 3, deadline, pids)  # warm-up, its own conversation
                results[store] = one_long_conversation(bot.url, args.turns, deadline, pids)
    print(
        f"One conversation of {args.turns} REST messages: latency median / p95 (ms), and the"
        " CPU time the Rasa and action server processes spent per message (mean, ms)"
    )
    print()
    header = " | ".join(f"{NAMES[s]}: latency | {NAMES[s]}: CPU" for s in results)
    print(f"| turns | {header} |")
    print("|---|" + "---|---|" * len(results))
    for low, high in BUCKETS:
        cells = []
        for timings, cpu in results.values():
            bucket, cpu_bucket = timings[low - 1 : high], cpu[low - 1 : high]
            if not bucket:
                cells += ["not reached", ""]
                continue
            cells.append(
                f"{statistics.median(bucket) * 1000:.0f} / {percentile(bucket, 0.95) * 1000:.0f}"
            )
            cells.append(f"{statistics.mean(cpu_bucket) * 1000:.0f}")
        print(f"| {low}–{high} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
