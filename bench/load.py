"""Load: the embedded default (`make run`'s topology) and the production topology (`make
run-prod`: HAProxy, two Rasa processes, two action servers, PostgreSQL, Redis) side by side.

Simulated patients hold multi-turn conversations in all six languages, two in three over REST,
one in three over socket.io (websocket); one in ten books a consultation. For each
configuration and 1, 10, 50 concurrent patients: msg/s, p50/p95/p99 latency, errors, CPU and
memory of the topology's processes. Afterwards, exactly-once against the tracker store (every
answered message stored once, each bot answer once) and the bookings against the handoff store
and a local fake clinic webhook (each delivered once). Then a fault run on the production
topology: SIGKILL one Rasa process, one action server and the delivery worker under load.

Loopback only; bounded in time (each level `--seconds`), stops by itself.

    .venv/bin/python bench/load.py            # both configurations, fault run (~6 min)
    .venv/bin/python bench/load.py --quick --only embedded
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import aiohttp
import socketio
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.chat import which_response
from tests.support.fake_webhook import FakeWebhook, running_fake_webhook
from tests.support.postgres import temporary_database
from tests.support.servers import (
    ROOT,
    free_port,
    running_bot,
    test_environment,
    wait_for,
)
from tests.test_run_prod import wait_for_rotation

CONVERSATIONS = {
    "en": ["hello", "What is hemifacial spasm?", "How long is the hospital stay?", "thank you"],
    "ar": ["مرحبا", "ما هي أعراض التشنج النصفي؟", "كم تكلفة العلاج؟", "شكرا"],
    "tr": ["merhaba", "ameliyattan sonra kac gun hastanede kalirim", "botoks nedir", "teşekkürler"],
    "ru": ["привет", "Какие побочные эффекты у ботокса?", "Сколько стоит лечение?", "спасибо"],
    "de": ["hallo", "Wie viel kostet die Behandlung?", "Was ist ein Hemispasmus?", "danke"],
    "fr": ["bonjour", "Comment se passe le diagnostic ?", "Combien coûte le traitement ?", "merci"],
}
BOOKING = [
    "I would like to book a consultation",
    "yes",
    "Maria Schmidt",
    "Germany",
    "maria.schmidt@example.com",
    '/affirm{"contact_language": "de"}',
    "my left eyelid twitches since last year",
    "next month",
    "yes",
]
WEBHOOK_SECRET = "bench-webhook-secret"
REPLY_TIMEOUT = 90.0  # a retried message may wait for a dead process's lock (TICKET_LOCK_LIFETIME)
# The patients here write with no pause, far above the per-sender limit (60/min, burst 30) that
# protects the real server: its polite "please wait" note would be an answer to a message that is
# rightly never stored (the exactly-once check then counts it lost). The limit has its own tests
# (tests/hostile/); here it is off in both configurations, which otherwise run as shipped.
NO_RATE_LIMIT = {"BOT_RATE_LIMIT": "0"}
QUIET = 0.25  # socket.io: the turn is over after this long without a reply
LATE_REPLY_WAIT = 10.0  # socket.io: how long a stored answer may take to arrive


@dataclass
class Patient:
    sender: str
    transport: str
    acked: list[str] = field(default_factory=list)  # messages that got an answer
    bot_replies: int = 0  # bot messages received (or found stored on a resend check)
    bookings: int = 0
    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    retries: int = 0
    recovered: int = 0  # answered per the tracker store after an error: not resent


@dataclass
class Target:
    name: str
    url: str
    db_url: str  # tracker store
    handoff_url: str
    pids: Any  # () -> list[int]: the topology's processes


_ENGINES: dict[str, sa.engine.Engine] = {}


def checking_engine(db_url: str) -> sa.engine.Engine:
    """One pooled engine per database for the patients' checks: a new connection per check
    made PostgreSQL start a backend process each time, CPU the measured topology needs."""
    engine = _ENGINES.get(db_url)
    if engine is None:
        pool = {} if db_url.startswith("sqlite") else {"pool_size": 10, "max_overflow": 50}
        engine = _ENGINES[db_url] = sa.create_engine(db_url, **pool)
    return engine


@contextmanager
def closing_checking_engines() -> Iterator[None]:
    """Closes the checks' connections before the topology and its database go."""
    try:
        yield
    finally:
        while _ENGINES:
            _ENGINES.popitem()[1].dispose()


def stored_turn(db_url: str, sender: str) -> tuple[str | None, int]:
    """The last stored user message of a conversation and how many bot events follow it.

    Two indexed queries (sender, type, id), whatever the conversation's length: the patients'
    checks share the machine with the topology they measure."""
    with checking_engine(db_url).connect() as connection:
        last = connection.execute(
            sa.text(
                "SELECT id, data FROM events WHERE sender_id = :s AND type_name = 'user' "
                "ORDER BY id DESC LIMIT 1"
            ),
            {"s": sender},
        ).first()
        if last is None:
            return None, 0
        bots = connection.execute(
            sa.text(
                "SELECT count(*) FROM events WHERE sender_id = :s AND type_name = 'bot' "
                "AND id > :id"
            ),
            {"s": sender, "id": last.id},
        ).scalar_one()
    return json.loads(last.data).get("text"), int(bots)


async def answered_meanwhile(target: Target, patient: Patient, text: str) -> int:
    """After an error: whether the message was handled anyway (then it is not resent)."""
    last, bots = await asyncio.to_thread(stored_turn, target.db_url, patient.sender)
    return bots if last == text and bots else 0


async def rest_turn(session: aiohttp.ClientSession, target: Target, patient: Patient, text: str):
    async with session.post(
        f"{target.url}/webhooks/rest/webhook",
        json={"sender": patient.sender, "message": text},
        timeout=aiohttp.ClientTimeout(total=REPLY_TIMEOUT),
    ) as response:
        if response.status != 200:
            raise RuntimeError(f"HTTP {response.status}")
        return await response.json()


class SocketPatient:
    def __init__(self, target: Target, patient: Patient) -> None:
        self.target, self.patient = target, patient
        self.client: socketio.AsyncClient | None = None
        self.replies: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.first_reply_at = 0.0

    async def connect(self) -> None:
        self.client = socketio.AsyncClient(reconnection=False)
        confirmed = asyncio.Event()
        self.client.on("bot_uttered", self.replies.put)
        self.client.on("session_confirm", lambda data: confirmed.set())
        await self.client.connect(self.target.url, transports=["websocket"], wait_timeout=30)
        await self.client.emit("session_request", {"session_id": self.patient.sender})
        await asyncio.wait_for(confirmed.wait(), 20)

    async def close(self) -> None:
        if self.client is not None:
            await self.client.disconnect()
            self.client = None

    async def drain(self, quiet: float = 1.5) -> int:
        """Replies that came after a turn's quiet period: counted before hanging up."""
        count = 0
        while self.client is not None and self.client.connected:
            try:
                await asyncio.wait_for(self.replies.get(), quiet)
                count += 1
            except asyncio.TimeoutError:
                break
        return count

    async def late_replies(self, missing: int) -> list[dict[str, Any]]:
        """Stored answers not received yet: under load one can come more than QUIET after the
        one before it (socket.io rooms go through Redis in production). Waited for, bounded; an
        answer still missing then counts as lost."""
        late: list[dict[str, Any]] = []
        deadline = time.monotonic() + LATE_REPLY_WAIT
        while len(late) < missing and time.monotonic() < deadline:
            try:
                late.append(await asyncio.wait_for(self.replies.get(), deadline - time.monotonic()))
            except asyncio.TimeoutError:
                break
        return late

    async def turn(self, text: str) -> list[dict[str, Any]]:
        if self.client is None or not self.client.connected:
            await self.close()
            await self.connect()
        assert self.client is not None
        await self.client.emit("user_uttered", {"message": text, "session_id": self.patient.sender})
        replies = [await asyncio.wait_for(self.replies.get(), REPLY_TIMEOUT)]
        self.first_reply_at = time.perf_counter()  # the latency ends here, not after QUIET
        while True:
            try:
                replies.append(await asyncio.wait_for(self.replies.get(), QUIET))
            except asyncio.TimeoutError:
                break
        # socket.io replies carry no reference to the message: a late reply to the previous
        # turn could pass for this one's. The turn counts as answered once it is stored.
        deadline = time.monotonic() + REPLY_TIMEOUT
        while time.monotonic() < deadline:
            last, bots = await asyncio.to_thread(
                stored_turn, self.target.db_url, self.patient.sender
            )
            if last == text:
                return replies + await self.late_replies(bots - len(replies))
            await asyncio.sleep(0.2)
        self.patient.bot_replies += len(replies)  # they belonged to an earlier turn
        raise RuntimeError("replies were not to this message")


async def converse(target: Target, patient: Patient, script: list[str], stop_at: float) -> None:
    socket = SocketPatient(target, patient) if patient.transport == "socket.io" else None
    async with aiohttp.ClientSession() as session:
        try:
            while time.monotonic() < stop_at:
                for text in script:
                    await one_turn(session, socket, target, patient, text)
                if script is BOOKING:
                    script = CONVERSATIONS["en"]
        finally:
            if socket is not None:
                patient.bot_replies += await socket.drain()
                await socket.close()


async def one_turn(session, socket, target: Target, patient: Patient, text: str) -> None:
    for attempt in range(5):
        started = time.perf_counter()
        try:
            replies = await (
                socket.turn(text) if socket else rest_turn(session, target, patient, text)
            )
        except Exception as error:
            patient.errors[f"{type(error).__name__} {str(error)[:60]}".strip()] += 1
            if socket is not None:
                await socket.close()
            await asyncio.sleep(1 + attempt)
            stored = await answered_meanwhile(target, patient, text)
            if stored:
                patient.recovered += 1
                patient.acked.append(text)
                patient.bot_replies += stored
                return
            patient.retries += 1
            continue
        answered = socket.first_reply_at if socket else time.perf_counter()
        patient.latencies.append(answered - started)  # to the (first) answer
        patient.acked.append(text)
        patient.bot_replies += len(replies)
        if any(
            which_response(r.get("text", "")) == ("utter_booking_submitted", "en") for r in replies
        ):
            patient.bookings += 1
        return
    patient.errors["gave up"] += 1


def cpu_of(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU seconds of the topology's processes, counting those that die or start meanwhile."""

    def __init__(self, pids: Any) -> None:
        self.pids = pids
        self.before = self.sample()
        self.seen = dict(self.before)

    def sample(self) -> dict[int, float]:
        return {pid: cpu for pid in self.pids() if (cpu := cpu_of(pid)) is not None}

    async def run(self, done: asyncio.Event) -> None:
        while not done.is_set():
            self.seen.update(self.sample())
            await asyncio.sleep(0.5)
        self.seen.update(self.sample())

    def used(self) -> float:
        return sum(cpu - self.before.get(pid, 0.0) for pid, cpu in self.seen.items())


def rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        try:
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        found += [int(c) for c in children]
        todo += [int(c) for c in children]
    return found


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def new_patients(run: str, count: int) -> list[tuple[Patient, list[str]]]:
    languages = list(CONVERSATIONS)
    patients = []
    for n in range(count):
        transport = "socket.io" if n % 3 == 2 else "REST"
        script = BOOKING if n % 10 == 4 else CONVERSATIONS[languages[n % len(languages)]]
        sender = f"load-{run}-{n}-{uuid.uuid4().hex[:8]}"
        patients.append((Patient(sender, transport), script))
    return patients


async def level(target: Target, run: str, count: int, seconds: float) -> dict[str, Any]:
    patients = new_patients(run, count)
    meter, done = CpuMeter(target.pids), asyncio.Event()
    sampler = asyncio.create_task(meter.run(done))
    started = time.monotonic()
    await asyncio.gather(
        *(converse(target, p, script, started + seconds) for p, script in patients)
    )
    elapsed = time.monotonic() - started
    done.set()
    await sampler
    latencies = [t for p, _ in patients for t in p.latencies]
    return {
        "configuration": target.name,
        "patients": count,
        "messages": sum(len(p.acked) for p, _ in patients),
        "msg/s": sum(len(p.acked) for p, _ in patients) / elapsed,
        "p50": percentile(latencies, 0.5),
        "p95": percentile(latencies, 0.95),
        "p99": percentile(latencies, 0.99),
        "errors": sum(sum(p.errors.values()) for p, _ in patients),
        "cpu": 100 * meter.used() / elapsed,
        "rss": rss_mb(target.pids()),
        "patients_list": [p for p, _ in patients],
    }


def verify(target: Target, patients: list[Patient], webhook: FakeWebhook) -> dict[str, int]:
    """Exactly-once against the tracker store; bookings against the handoff store + webhook."""
    engine = sa.create_engine(target.db_url)
    lost = duplicated = bot_lost = bot_duplicated = 0
    with engine.connect() as connection:
        for patient in patients:
            rows = connection.execute(
                sa.text(
                    "SELECT type_name, data FROM events WHERE sender_id = :s "
                    "AND type_name IN ('user', 'bot') ORDER BY id"
                ),
                {"s": patient.sender},
            ).all()
            stored = Counter(json.loads(d).get("text") for k, d in rows if k == "user")
            acked = Counter(patient.acked)
            lost += sum((acked - stored).values())
            if acked - stored or stored - acked:
                print(
                    f"  {patient.sender}: not stored {dict(acked - stored)}, extra "
                    f"{dict(stored - acked)}",
                    flush=True,
                )
            duplicated += sum((stored - acked).values())
            bots = sum(1 for k, _ in rows if k == "bot")
            bot_lost += max(0, bots - patient.bot_replies)
            bot_duplicated += max(0, patient.bot_replies - bots)
    engine.dispose()
    handoff = sa.create_engine(target.handoff_url)
    senders = {p.sender: p for p in patients}
    booked = sum(p.bookings for p in patients)
    with handoff.connect() as connection:
        tickets = [
            row
            for row in connection.execute(
                sa.text("SELECT id, sender_id FROM handoff_tickets WHERE kind = 'booking'")
            ).all()
            if row.sender_id in senders
        ]
    handoff.dispose()
    ids = {row.id for row in tickets}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not ids <= delivered_ids(webhook):
        time.sleep(0.5)
    delivered = Counter(
        a.body.get("id") or a.idempotency_key for a in webhook.attempts if a.answered == 200
    )
    return {
        "lost": lost,
        "duplicated": duplicated,
        "bot answers lost": bot_lost,
        "bot answers duplicated": bot_duplicated,
        "bookings acknowledged": booked,
        "bookings stored": len(tickets),
        "bookings delivered": len(ids & set(delivered)),
        "bookings delivered twice": sum(1 for i in ids if delivered[i] > 1),
    }


def delivered_ids(webhook: FakeWebhook) -> set[str]:
    return {a.body.get("id") or a.idempotency_key for a in webhook.attempts if a.answered == 200}


@contextmanager
def embedded(workdir: Path, webhook: FakeWebhook) -> Iterator[Target]:
    """`make run`'s topology: one Rasa process, one action server, SQLite, delivery worker."""
    handoff_url = f"sqlite:///{workdir / 'handoff.db'}"
    worker_env = worker_environment(webhook, {"HANDOFF_DB_URL": handoff_url, **NO_RATE_LIMIT})
    credentials = (ROOT / "credentials.yml").read_text(encoding="utf-8")  # as `make run`
    with running_bot(workdir, credentials, env_extra=worker_env) as bot:
        worker = subprocess.Popen(
            [sys.executable, "-m", "actions.delivery"], cwd=ROOT, env=test_environment(worker_env)
        )
        try:
            rasa_port = bot.url.rsplit(":", 1)[1]
            action_port = bot.action_url.rsplit(":", 1)[1]
            yield Target(
                "embedded (make run)",
                bot.url,
                f"sqlite:///{workdir / 'tracker.db'}",
                handoff_url,
                lambda: [*pids_with_port(rasa_port), *pids_with_port(action_port), worker.pid],
            )
        finally:
            worker.terminate()
            worker.wait(timeout=10)


def worker_environment(webhook: FakeWebhook, extra: dict[str, str]) -> dict[str, str]:
    return {
        "COORDINATOR_WEBHOOK_URL": webhook.url,
        "COORDINATOR_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "COORDINATOR_DELIVERY_INTERVAL": "0.5",
        **extra,
    }


def pids_with_port(port: str) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                argv = (proc / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"--port" in argv and port.encode() in argv:
                found.append(int(proc.name))
    return found


@contextmanager
def production(workdir: Path, webhook: FakeWebhook) -> Iterator[tuple[Target, int]]:
    """`make run-prod`'s runner (bot/prod.py) on free ports, on a fresh PostgreSQL database."""
    with temporary_database() as db_url:
        port = free_port()
        env = test_environment(
            worker_environment(
                webhook,
                {"DB_URL": db_url, "REDIS_URL": "redis://127.0.0.1:6379/4", **NO_RATE_LIMIT},
            )
        )
        log = workdir / "run-prod.log"
        command = [sys.executable, "-m", "bot.prod", "--port", str(port), "--host", "127.0.0.1"]
        command += ["--console-port", str(free_port())]
        with log.open("wb") as out:
            runner = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=out)
        try:
            wait_for(f"http://127.0.0.1:{port}/", runner, log, timeout=300)
            wait_for_rotation(f"http://127.0.0.1:{port}", timeout=120)
            target = Target(
                "production (make run-prod)",
                f"http://127.0.0.1:{port}",
                db_url,
                db_url,
                lambda: descendants(runner.pid),
            )
            yield target, runner.pid
        finally:
            runner.send_signal(signal.SIGTERM)
            try:
                runner.wait(timeout=30)
            except subprocess.TimeoutExpired:
                runner.kill()


async def healthy(session: aiohttp.ClientSession, pid: int, path: str) -> bool:
    argv = cmdline(pid).split()
    port = argv[argv.index("--port") + 1]
    try:
        async with session.get(
            f"http://127.0.0.1:{port}{path}", timeout=aiohttp.ClientTimeout(total=3)
        ) as response:
            return response.status == 200
    except (aiohttp.ClientError, asyncio.TimeoutError):
        return False


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def child(runner: int, marker: str) -> int | None:
    return next((pid for pid in descendants(runner) if marker in cmdline(pid)), None)


async def fault_run(target: Target, runner: int, count: int, seconds: float) -> dict[str, Any]:
    """Under load: SIGKILL one Rasa process, one action server, the delivery worker."""
    victims = {
        "rasa-1": child(runner, "rasa run"),
        "actions-1": child(runner, "actions.server"),
        "delivery worker": child(runner, "actions.delivery"),
    }

    async def kill_them() -> list[str]:
        notes = []
        for name, pid in victims.items():
            await asyncio.sleep(4)
            if pid is None:  # the run then fails: a fault run that kills nothing proves nothing
                notes.append(f"{name} NOT FOUND, not killed")
                continue
            os.kill(pid, signal.SIGKILL)
            notes.append(f"SIGKILL {name} (pid {pid}) at +{time.monotonic() - t0:.0f} s")
        return notes

    t0 = time.monotonic()
    original = set(descendants(runner))
    back: dict[str, str] = {}

    async def watch() -> None:
        """When each killed process is back and answering its health check."""
        markers = {"rasa-1": ("rasa run", "/"), "actions-1": ("actions.server", "/health")}
        markers["delivery worker"] = ("actions.delivery", "")
        async with aiohttp.ClientSession() as session:
            while len(back) < len(victims) and time.monotonic() < t0 + seconds + 180:
                await asyncio.sleep(1)
                for name, (marker, path) in markers.items():
                    new = [p for p in descendants(runner) if p not in original]
                    new = [p for p in new if marker in cmdline(p)]
                    if name in back or not new:
                        continue
                    if path and not await healthy(session, new[0], path):
                        continue
                    back[name] = f"back (healthy) at +{time.monotonic() - t0:.0f} s"

    killer = asyncio.create_task(kill_them())
    watcher = asyncio.create_task(watch())
    result = await level(target, "fault", count, seconds)
    result["kills"] = await killer
    await watcher
    result["restarted"] = back
    result["victims"] = list(victims)
    return result


def print_table(rows: list[dict[str, Any]]) -> None:
    print(
        "| configuration | patients | messages | msg/s | p50 ms | p95 ms | p99 ms | errors "
        "| CPU % | RSS MB |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['configuration']} | {r['patients']} | {r['messages']} | {r['msg/s']:.1f} "
            f"| {r['p50'] * 1000:.0f} | {r['p95'] * 1000:.0f} | {r['p99'] * 1000:.0f} "
            f"| {r['errors']} | {r['cpu']:.0f} | {r['rss']:.0f} |"
        )


def seen_during(patients: list[Patient]) -> str:
    errors: Counter[str] = Counter()
    for p in patients:
        errors.update(p.errors)
    return (
        f"errors seen by patients: {dict(errors) or 'none'}; resent: "
        f"{sum(p.retries for p in patients)}; found answered on the resend check: "
        f"{sum(p.recovered for p in patients)}; slowest answer: "
        f"{max((t for p in patients for t in p.latencies), default=0):.1f} s"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke test: 1 and 5 patients, 5 s")
    parser.add_argument("--only", choices=["embedded", "production"])
    parser.add_argument("--seconds", type=float, help="per level (default 20, quick 5)")
    parser.add_argument("--no-fault", action="store_true")
    args = parser.parse_args()
    levels = (1, 5) if args.quick else (1, 10, 50)
    seconds = args.seconds or (5.0 if args.quick else 20.0)
    rows: list[dict[str, Any]] = []
    checks: list[tuple[str, dict[str, int]]] = []
    fault: dict[str, Any] | None = None
    with tempfile.TemporaryDirectory() as tmp, ExitStack():
        for name in ("embedded", "production"):
            if args.only and args.only != name:
                continue
            workdir = Path(tmp) / name
            workdir.mkdir()
            with running_fake_webhook(secret=WEBHOOK_SECRET) as webhook:
                if name == "embedded":
                    context: Any = embedded(workdir, webhook)
                else:
                    context = production(workdir, webhook)
                with context as started, closing_checking_engines():
                    target, runner = started if name == "production" else (started, None)
                    asyncio.run(level(target, "warmup", 6, 3))
                    patients: list[Patient] = []
                    for count in levels:
                        row = asyncio.run(level(target, f"c{count}", count, seconds))
                        patients += row.pop("patients_list")
                        rows.append(row)
                        print_table(rows[-1:])
                        print("  " + seen_during(patients[-count:]), flush=True)
                    checks.append((target.name, verify(target, patients, webhook)))
                    if runner is not None and not args.no_fault and not args.quick:
                        fault = asyncio.run(fault_run(target, runner, 10, max(seconds, 40)))
                        fault_patients = fault.pop("patients_list")
                        fault["check"] = verify(target, fault_patients, webhook)
                        fault["seen"] = seen_during(fault_patients)
    print("\nLoad, side by side (other processes on this machine share its 2 cores):\n")
    print_table(rows)
    print()
    for name, check in checks:
        print(f"{name}: " + ", ".join(f"{k} {v}" for k, v in check.items()))
    if fault is not None:
        print("\nFault run (production, 10 patients): " + "; ".join(fault["kills"]))
        restarted = fault["restarted"]
        print("  " + "; ".join(f"{k}: {restarted.get(k, 'NOT back')}" for k in fault["victims"]))
        print_table([fault | {"configuration": "production under faults"}])
        print("  " + fault["seen"])
        print("  " + ", ".join(f"{k} {v}" for k, v in fault["check"].items()))
    failed = [c for _, c in checks + ([("fault", fault["check"])] if fault else [])]
    if fault is not None and (
        any("NOT FOUND" in k for k in fault["kills"])
        or any(k not in fault["restarted"] for k in fault["victims"])
    ):
        return 1
    bad = any(c["lost"] or c["duplicated"] or c["bot answers lost"] for c in failed) or any(
        c["bookings stored"] != c["bookings acknowledged"]
        or c["bookings delivered"] != c["bookings stored"]
        or c["bookings delivered twice"]
        for c in failed
    )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
