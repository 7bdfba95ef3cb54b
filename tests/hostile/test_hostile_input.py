"""Hostile input against the real running servers (Rasa with the shipped channels, the
action server, the console): no 5xx, no stack trace, nothing stored corrupted, and other
patients keep being served while it happens (their latency is printed per attack)."""

from __future__ import annotations

import json
import random
import socket
import statistics
import string
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlsplit

import pytest
import requests
import socketio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, text

from bot.channels.limits import LIMIT_TEXTS
from tests.hostile.conftest import BODY_TIMEOUT, RATE_BURST
from tests.support.servers import RunningBot, RunningConsole
from tests.support.whatsapp import envelope, messages_value, new_message_id, sign
from tests.support.whatsapp import text as whatsapp_text

TOO_LONG = {t.too_long for t in LIMIT_TEXTS.values()}
TOO_FAST = {t.too_fast for t in LIMIT_TEXTS.values()}
TRACE_MARKERS = ("Traceback", 'File "', "Exception occurred", "site-packages")
INJECTIONS = [
    "Robert'); DROP TABLE handoff_tickets;--",
    "<script>alert(1)</script><img src=x onerror=alert(1)>",
    "{{7*7}} {slot} ${x} {patient_name} %s %(name)s",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


def rest(bot: RunningBot, body: Any, **kwargs: Any) -> requests.Response:
    data = body if isinstance(body, bytes | str) else json.dumps(body)
    kwargs.setdefault("headers", {"Content-Type": "application/json"})
    return requests.post(f"{bot.url}/webhooks/rest/webhook", data=data, timeout=120, **kwargs)


def assert_clean(response: requests.Response) -> None:
    assert response.status_code < 500, (response.status_code, response.text[:300])
    assert not any(marker in response.text for marker in TRACE_MARKERS), response.text[:300]


def texts(response: requests.Response) -> list[str]:
    return [m.get("text", "") for m in response.json()]


def tracker(bot: RunningBot, sender: str) -> dict[str, Any]:
    response = requests.get(
        f"{bot.url}/conversations/{sender}/tracker", params={"token": bot.auth_token}, timeout=30
    )
    assert response.status_code == 200
    return dict(response.json())


def user_texts(bot: RunningBot, sender: str) -> list[str]:
    return [e["text"] for e in tracker(bot, sender)["events"] if e["event"] == "user"]


# --- other patients' latency ------------------------------------------------------------


@dataclass
class OtherPatients:
    """Patients asking ordinary questions the whole time, a new request 0.05 s after each
    answer, from 60 patients in turn (each far below the rate limit)."""

    bot: RunningBot
    phase: str = "baseline"
    samples: list[tuple[str, float, int, int]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        n = 0
        while not self._stop.is_set():
            sender, n = f"other-{n % 60}", n + 1
            phase, started = self.phase, time.perf_counter()
            try:
                response = rest(self.bot, {"sender": sender, "message": "hello"})
                status, answers = response.status_code, len(response.json())
            except requests.RequestException:
                status, answers = 0, 0
            self.samples.append((phase, time.perf_counter() - started, status, answers))
            self._stop.wait(0.05)

    def stop(self) -> None:
        self._stop.set()

    def table(self) -> str:
        rows = [
            "| attack | requests | p50 ms | p95 ms | max ms | failed |",
            "|---|---|---|---|---|---|",
        ]
        for phase in dict.fromkeys(p for p, *_ in self.samples):
            latencies = sorted(s[1] * 1000 for s in self.samples if s[0] == phase)
            failed = sum(1 for s in self.samples if s[0] == phase and (s[2] != 200 or not s[3]))
            p95 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.95))]
            rows.append(
                f"| {phase} | {len(latencies)} | {statistics.median(latencies):.0f} | "
                f"{p95:.0f} | {latencies[-1]:.0f} | {failed} |"
            )
        return "\n".join(rows)


@pytest.fixture(scope="module")
def others(hostile_bot: RunningBot) -> Iterator[OtherPatients]:
    probe = OtherPatients(hostile_bot)
    thread = threading.Thread(target=probe.run, daemon=True)
    thread.start()
    time.sleep(3)  # a baseline first
    yield probe
    probe.phase = "after the attacks"
    time.sleep(3)
    probe.stop()
    thread.join(timeout=60)
    table = probe.table()
    print("\nOther patients' latency during the attacks (REST 'hello', back to back):")
    print(table)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "hostile_latency.md").write_text(table + "\n")
    assert all(s[2] == 200 and s[3] for s in probe.samples), "another patient was not served"


@pytest.fixture
def attack(others: OtherPatients, request: pytest.FixtureRequest) -> Iterator[None]:
    others.phase = request.node.originalname.removeprefix("test_").replace("_", " ")
    yield
    others.phase = "between attacks"


# --- REST ---------------------------------------------------------------------------


def test_a_3_mb_message_is_refused_quickly_and_nobody_waits(
    hostile_bot: RunningBot, attack: None
) -> None:
    started = time.perf_counter()
    response = rest(hostile_bot, {"sender": "big", "message": "x " * 1_500_000})
    assert response.status_code == 413
    assert_clean(response)
    assert time.perf_counter() - started < 10


@pytest.mark.parametrize("shape", ["words", "one-word", "emoji"])
def test_a_long_message_is_cut_and_answered_with_a_note(
    hostile_bot: RunningBot, attack: None, shape: str
) -> None:
    message = {"words": "my face twitches " * 50_000, "one-word": "a" * 900_000}.get(
        shape, "😀👍🏽🙏" * 10_000
    )
    sender = f"long-{shape}"
    response = rest(hostile_bot, {"sender": sender, "message": message[:900_000]})
    assert response.status_code == 200
    answers = texts(response)
    assert answers[-1] in TOO_LONG and len(answers) >= 2  # the answer, then the note
    [stored] = user_texts(hostile_bot, sender)
    assert 0 < len(stored) <= 2000 and message.startswith(stored)


def test_the_streaming_rest_answer_carries_the_note_too(
    hostile_bot: RunningBot, attack: None
) -> None:
    response = requests.post(
        f"{hostile_bot.url}/webhooks/rest/webhook?stream=true",
        json={"sender": "stream", "message": "hello " * 1000},
        timeout=60,
    )
    assert response.status_code == 200
    streamed = [json.loads(line)["text"] for line in response.text.splitlines() if line.strip()]
    assert streamed[-1] in TOO_LONG and len(streamed) >= 2
    assert 0 < len(user_texts(hostile_bot, "stream")[0]) <= 2000


def test_maximal_messages_one_after_the_other(hostile_bot: RunningBot, attack: None) -> None:
    """The worst shapes at the cut's length: what one patient can cost the others."""
    rng = random.Random(7)
    words = " ".join(
        "".join(rng.choices(string.ascii_lowercase, k=rng.randint(2, 9))) for _ in range(600)
    )
    for i, message in enumerate([words[:2000], "😀👍🏽🙏🤯" * 400, "a" * 2000] * 4):
        response = rest(hostile_bot, {"sender": f"maximal-{i}", "message": message})
        assert response.status_code == 200 and texts(response)


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"sender": "a", "message": ' + b"[" * 50_000 + b"]" * 50_000 + b"}",
        b"{not json",
        b'{"sender": "a", "message": "\xff\xfe bad utf-8"}',
        b"",
        b"[]",
        b"42",
        b'{"sender": 42, "message": "hi"}',
        b'{"sender": "a", "message": null}',
        b'{"sender": "a", "message": {"text": "hi"}}',
        b'{"sender": "a", "message": "hi", "metadata": "x"}',
        b'{"sender": "a\\u0000b", "message": "hi"}',
        b'{"sender": "' + b"s" * 5000 + b'", "message": "hi"}',
    ],
    ids=[
        "nested-array",
        "nested-message",
        "invalid-json",
        "invalid-utf8",
        "empty",
        "array",
        "number",
        "sender-int",
        "message-null",
        "message-object",
        "metadata-string",
        "sender-nul",
        "sender-huge",
    ],
)
def test_malformed_bodies_get_a_400(hostile_bot: RunningBot, attack: None, body: bytes) -> None:
    response = rest(hostile_bot, body)
    assert response.status_code == 400
    assert_clean(response)
    assert "error" in response.json()


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"]
)
def test_wrong_content_types_are_answered_cleanly(
    hostile_bot: RunningBot, attack: None, content_type: str
) -> None:
    response = rest(hostile_bot, "sender=a&message=hi", headers={"Content-Type": content_type})
    assert response.status_code == 400
    assert_clean(response)


def test_control_characters_and_emoji_floods_are_stored_clean(
    hostile_bot: RunningBot, attack: None
) -> None:
    sender = "controls"
    message = "hello\x00\x01\x1b[31m\u202e\ud800 " + "🤯" * 1500
    response = rest(hostile_bot, json.dumps({"sender": sender, "message": message}))
    assert response.status_code == 200 and texts(response)
    [stored] = user_texts(hostile_bot, sender)
    assert stored.startswith("hello[31m\u202e\ufffd ") and "\x00" not in stored


@pytest.mark.parametrize("injection", INJECTIONS)
def test_injection_strings_are_stored_verbatim_never_executed(
    hostile_bot: RunningBot, attack: None, injection: str
) -> None:
    sender = f"inject-{uuid.uuid4().hex[:8]}"
    response = rest(hostile_bot, {"sender": sender, "message": injection})
    assert response.status_code == 200
    assert all("49" not in t for t in texts(response))
    assert user_texts(hostile_bot, sender) == [injection]


def test_injection_strings_in_every_booking_field_are_stored_verbatim(
    hostile_bot: RunningBot, attack: None
) -> None:
    sender = f"book-{uuid.uuid4().hex[:8]}"
    name = "Robert'); DROP TABLE handoff_tickets;--"
    symptoms = "twitching <script>alert(1)</script> {{7*7}} {slot} ${x} {patient_name} %s"
    replies: list[str] = []
    for message in [
        "I would like to book a consultation",
        "yes",
        "{{7*7}} <b>",  # refused as a name: asked again
        name,
        "Germany'; DELETE FROM events;--",  # not a country: asked again
        "Germany",
        "robert+{{x}}@example.com",
        '/affirm{"contact_language": "en"}',
        symptoms,
        "next month",
    ]:
        response = rest(hostile_bot, {"sender": sender, "message": message})
        assert response.status_code == 200
        replies += texts(response)
    summary = replies[-1]
    assert name in summary and symptoms in summary and "49" not in summary
    time.sleep(1.5)  # an 11th message within a second would exceed the burst of 10
    confirmed = rest(hostile_bot, {"sender": sender, "message": "yes"})
    assert confirmed.status_code == 200
    assert not any("faster than I can answer" in t for t in texts(confirmed)), texts(confirmed)
    engine = create_engine(f"sqlite:///{hostile_bot.workdir / 'handoff.db'}")
    with engine.connect() as connection:
        [row] = connection.execute(
            text("SELECT form_data FROM handoff_tickets WHERE sender_id = :s"), {"s": sender}
        ).all()
        tickets = connection.execute(text("SELECT count(*) FROM handoff_tickets")).scalar()
    stored = json.loads(row[0]) if isinstance(row[0], str) else dict(row[0])
    assert stored["patient_name"] == name and stored["symptoms"] == symptoms
    assert stored["contact"] == "robert+{{x}}@example.com"
    assert tickets >= 1  # the table is still there


def test_a_flood_from_one_sender_is_answered_politely_not_processed(
    hostile_bot: RunningBot, attack: None
) -> None:
    sender = "flood"

    def send(i: int) -> requests.Response:
        return rest(hostile_bot, {"sender": sender, "message": f"hello {i}"})

    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(send, range(60)))
    assert all(r.status_code == 200 and texts(r) for r in responses)  # nothing silent
    refused = [r for r in responses if texts(r) == [texts(r)[0]] and texts(r)[0] in TOO_FAST]
    processed = len(responses) - len(refused)
    assert len(refused) >= 60 - RATE_BURST - 10
    assert len(user_texts(hostile_bot, sender)) == processed


# --- slow bodies ------------------------------------------------------------------------


def trickle(url: str, path: str, seconds: float) -> tuple[float, bytes]:
    """Sends headers for a 10 kB body and then one byte every 0.3 s; returns when the server
    answers or closes (elapsed seconds, what it sent)."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=seconds + 10) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            "Content-Type: application/json\r\nContent-Length: 10000\r\n\r\n{".encode()
        )
        started, received = time.perf_counter(), b""
        sock.settimeout(0.3)
        while time.perf_counter() - started < seconds:
            try:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                received += chunk
                if b"\r\n\r\n" in received:
                    break
            except TimeoutError:
                try:
                    sock.sendall(b" ")
                except OSError:
                    break
        return time.perf_counter() - started, received


def test_slow_bodies_time_out_and_the_server_keeps_serving(
    hostile_bot: RunningBot, attack: None
) -> None:
    with ThreadPoolExecutor(10) as pool:
        results = list(
            pool.map(lambda _: trickle(hostile_bot.url, "/webhooks/rest/webhook", 30), range(10))
        )
    for elapsed, received in results:
        assert elapsed < BODY_TIMEOUT + 5, elapsed
        assert received == b"" or received.startswith(b"HTTP/1.1 408"), received[:100]


# --- widget files and socket.io ----------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/widget/../credentials.yml",
        "/widget/..%2fcredentials.yml",
        "/widget/%2e%2e/%2e%2e/credentials.yml",
        "/widget/..%252fcredentials.yml",
        "/widget/....//credentials.yml",
        "/widget/%c0%ae%c0%ae/credentials.yml",
        "/widget/widget.js%00.yml",
        "/widget//etc/passwd",
        "/widget/..\\credentials.yml",
    ],
)
def test_path_traversal_on_the_widget_files_finds_nothing(
    hostile_bot: RunningBot, attack: None, path: str
) -> None:
    with socket.create_connection(
        (urlsplit(hostile_bot.url).hostname, urlsplit(hostile_bot.url).port)
    ) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    status = int(answer.split(b" ", 2)[1])
    assert status in {400, 404}, answer[:200]
    assert b"WhatsAppInput" not in answer and b"root:" not in answer


@pytest.mark.parametrize(
    "session_id",
    ["../../credentials", "a" * 5000, {"$ne": None}, ["x"], "x\u0000y", "<script>", 42],
)
async def test_forged_socketio_session_ids_get_a_fresh_one(
    hostile_bot: RunningBot, attack: None, session_id: Any
) -> None:
    client = socketio.AsyncClient(reconnection=False)
    confirmed: list[Any] = []
    client.on("session_confirm", confirmed.append)
    await client.connect(hostile_bot.url, transports=["websocket"])
    try:
        await client.emit("session_request", {"session_id": session_id})
        await client.sleep(1)
        assert len(confirmed) == 1 and confirmed[0] != session_id
        ack = await client.call(
            "user_uttered", {"message": "hello", "session_id": session_id}, timeout=30
        )
        assert ack == {"status": "ignored"}
        ack = await client.call(
            "user_uttered", {"message": "x" * 100_000, "session_id": confirmed[0]}, timeout=60
        )
        assert ack == {"status": "ok"}
    finally:
        await client.disconnect()
    assert 0 < len(user_texts(hostile_bot, confirmed[0])[0]) <= 2000


# --- WhatsApp and Twilio ----------------------------------------------------------------


def test_whatsapp_webhook_refuses_forged_and_malformed_deliveries(
    hostile_bot: RunningBot, attack: None
) -> None:
    url = f"{hostile_bot.url}/webhooks/whatsapp/webhook"
    body = json.dumps(envelope(messages_value("491700000001", "P", whatsapp_text("hi")))).encode()
    for data, signature in [
        (body, "sha256=" + "0" * 64),
        (body, None),
        (b"[" * 100_000, sign(b"[" * 100_000)),
        (b"\xff\xfe", sign(b"\xff\xfe")),
        (b'{"object": []}', sign(b'{"object": []}')),
    ]:
        headers = {"Content-Type": "application/json"}
        if signature:
            headers["X-Hub-Signature-256"] = signature
        response = requests.post(url, data=data, headers=headers, timeout=30)
        assert_clean(response)
        assert response.status_code in {200, 400, 401, 403}


def test_a_long_whatsapp_text_is_cut_with_a_note(
    hostile_bot: RunningBot, attack: None, graph: Any
) -> None:
    wa_id = "491700000002"
    message = whatsapp_text("Guten Tag, mein Gesicht zuckt seit Jahren. " * 500, new_message_id())
    body = json.dumps(envelope(messages_value(wa_id, "P", message))).encode()
    response = requests.post(
        f"{hostile_bot.url}/webhooks/whatsapp/webhook",
        data=body,
        headers={"Content-Type": "application/json", "X-Hub-Signature-256": sign(body)},
        timeout=30,
    )
    assert response.status_code == 200
    graph.wait_until(
        lambda: any(
            m.get("text", {}).get("body") == LIMIT_TEXTS["de"].too_long
            for m in graph.sent_to(wa_id)
        )
    )
    [stored] = user_texts(hostile_bot, wa_id)
    assert len(stored) <= 2000


def test_twilio_webhook_refuses_unsigned_and_garbage_forms(
    hostile_bot: RunningBot, attack: None
) -> None:
    url = f"{hostile_bot.url}/webhooks/twilio/webhook"
    for data, content_type in [
        ("From=whatsapp%3A%2B1&Body=hi", "application/x-www-form-urlencoded"),
        (b"\xff\xfe%%%&&==", "application/x-www-form-urlencoded"),
        ("{}", "application/json"),
    ]:
        response = requests.post(
            url,
            data=data,
            headers={"Content-Type": content_type, "X-Twilio-Signature": "forged"},
            timeout=30,
        )
        assert_clean(response)
        assert response.status_code == 403


def test_the_patient_channels_endpoint_refuses_strangers(
    hostile_bot: RunningBot, attack: None
) -> None:
    url = f"{hostile_bot.url}/webhooks/patients/send"
    for headers, data in [
        ({}, "{}"),
        ({"Authorization": "Bearer wrong"}, "{}"),
        ({"Authorization": f"Bearer {hostile_bot.auth_token}"}, "[" * 100_000),
        ({"Authorization": f"Bearer {hostile_bot.auth_token}"}, b"\xff"),
    ]:
        response = requests.post(url, data=data, headers=headers, timeout=30)
        assert_clean(response)
        assert response.status_code in {400, 401, 403}


# --- the action server ------------------------------------------------------------------


@pytest.mark.parametrize("token", [None, "", "wrong", "test-action-token-x"])
def test_the_action_server_refuses_calls_without_the_token(
    hostile_bot: RunningBot, attack: None, token: str | None
) -> None:
    params = {} if token is None else {"token": token}
    forged = {"next_action": "action_submit_booking", "tracker": {"sender_id": "x"}}
    response = requests.post(
        f"{hostile_bot.action_url}/webhook", json=forged, params=params, timeout=10
    )
    assert response.status_code == 401
    assert requests.get(f"{hostile_bot.action_url}/actions", timeout=10).status_code == 401
    assert requests.get(f"{hostile_bot.action_url}/health", timeout=10).status_code == 200


def test_the_action_server_answers_garbage_with_the_token_cleanly(
    hostile_bot: RunningBot, attack: None
) -> None:
    params = {"token": hostile_bot.action_token}
    for data in [b"{bad", b"[" * 100_000, b'{"next_action": "nope"}']:
        response = requests.post(
            f"{hostile_bot.action_url}/webhook", data=data, params=params, timeout=10
        )
        assert response.status_code in {400, 404, 500}
        assert (
            not any(m in response.text for m in TRACE_MARKERS)
            and "request_body" not in response.text
        )


# --- the console --------------------------------------------------------------------------


def test_the_console_refuses_hostile_logins_cleanly(
    hostile_console: RunningConsole, attack: None
) -> None:
    url = f"{hostile_console.url}/api/login"
    for data, content_type in [
        (b"x" * 200_000, "application/json"),
        (b"[" * 50_000, "application/json"),
        (b"\xff\xfe", "application/json"),
        (b'{"username": "admin", "password": "x"}', "text/plain"),
        (json.dumps({"username": "' OR 1=1 --", "password": "x"}), "application/json"),
        (json.dumps({"username": {"$ne": 1}, "password": ["x"]}), "application/json"),
        (json.dumps({"username": "admin", "password": "x" * 5000}), "application/json"),
    ]:
        response = requests.post(url, data=data, headers={"Content-Type": content_type}, timeout=30)
        assert_clean(response)
        assert response.status_code in {400, 401, 413, 415, 429}


def test_the_console_refuses_hostile_messages_cleanly(
    hostile_console: RunningConsole, attack: None
) -> None:
    from tests.coordinator.conftest import ADMIN, ADMIN_PASSWORD

    session = requests.Session()
    login = session.post(
        f"{hostile_console.url}/api/login",
        json={"username": ADMIN, "password": ADMIN_PASSWORD},
        timeout=30,
    )
    assert login.status_code == 200
    csrf = login.json()["csrf_token"]
    url = f"{hostile_console.url}/api/conversations/..%2f..%2fetc/messages"
    for data in [b"[" * 50_000, b"{bad", json.dumps({"text": "{{7*7}}" * 10_000})]:
        response = session.post(
            url,
            data=data,
            headers={"Content-Type": "application/json", "X-CSRF-Token": csrf},
            timeout=30,
        )
        assert_clean(response)
        assert 400 <= response.status_code < 500


# --- afterwards: nothing stored is corrupted ------------------------------------------


def test_the_stores_are_readable_after_the_attacks(
    hostile_bot: RunningBot, others: OtherPatients
) -> None:
    for sender in ["big", "controls", "flood", "long-words", "other-0"]:
        events = tracker(hostile_bot, sender)["events"]
        assert isinstance(events, list)
    engine = create_engine(f"sqlite:///{hostile_bot.workdir / 'handoff.db'}")
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA integrity_check")).scalar() == "ok"
    engine = create_engine(f"sqlite:///{hostile_bot.workdir / 'tracker.db'}")
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA integrity_check")).scalar() == "ok"


# --- fuzzing the running servers ----------------------------------------------------------

LIVE = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
json_bodies = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(
        st.sampled_from(["sender", "message", "metadata", "x"]), children, max_size=4
    ),
    max_leaves=20,
).map(lambda value: json.dumps(value).encode()) | st.binary(max_size=200)


@LIVE
@given(body=json_bodies)
def test_fuzzed_rest_bodies_get_an_answer_or_a_400(hostile_bot: RunningBot, body: bytes) -> None:
    response = rest(hostile_bot, body)
    assert_clean(response)
    assert response.status_code in {200, 400}


@LIVE
@given(body=json_bodies)
def test_fuzzed_console_bodies_get_a_4xx(hostile_console: RunningConsole, body: bytes) -> None:
    response = requests.post(
        f"{hostile_console.url}/api/login",
        data=body,
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert_clean(response)
    assert response.status_code in {400, 401, 429}
