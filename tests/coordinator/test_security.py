"""Every route of the console refuses what it must: no session, wrong role, missing or forged
CSRF token, wrong password, login floods; cookies, headers and sizes as documented."""

from __future__ import annotations

import time
from typing import Iterator

import pytest
import requests

from actions.handoff_store import HandoffStore
from tests.coordinator.conftest import (
    ADMIN,
    ADMIN_PASSWORD,
    TOKEN,
    ConsoleClient,
    ConsoleSetup,
    console_env,
)
from tests.support.fake_rasa import running_fake_rasa
from tests.support.servers import running_console

USER_API = [
    ("GET", "/api/me"),
    ("GET", "/api/tickets"),
    ("GET", "/api/conversations/patient-1"),
    ("POST", "/api/conversations/patient-1/takeover"),
    ("POST", "/api/conversations/patient-1/messages"),
    ("POST", "/api/conversations/patient-1/handback"),
    ("POST", "/api/tickets/t-1/close"),
    ("GET", "/api/events"),
    ("GET", "/api/attachments/1"),
    ("POST", "/api/account"),
    ("POST", "/api/logout"),
]
ADMIN_API = [
    ("GET", "/api/users"),
    ("POST", "/api/users"),
    ("POST", "/api/users/someone"),
    ("GET", "/api/audit"),
    ("GET", "/api/stats"),
    ("GET", "/api/privacy/patient-1/export"),
    ("POST", "/api/privacy/patient-1/delete"),
]
USER_PAGES = ["/", "/queue", "/conversations/patient-1", "/account"]
ADMIN_PAGES = ["/stats", "/users", "/audit", "/privacy"]
POSTS = [
    path for method, path in USER_API + ADMIN_API if method == "POST" and path != "/api/logout"
]


@pytest.fixture(scope="module")
def coordinator(fake_setup: ConsoleSetup) -> ConsoleClient:
    return fake_setup.user("ayse", language="tr", name="Ayşe")


@pytest.mark.parametrize(("method", "path"), USER_API + ADMIN_API)
def test_api_without_a_session_is_401(fake_setup: ConsoleSetup, method: str, path: str) -> None:
    response = requests.request(method, fake_setup.console.url + path, json={}, timeout=10)
    assert response.status_code == 401
    assert response.json() == {"error": "unauthorized"}


@pytest.mark.parametrize(("method", "path"), USER_API + ADMIN_API)
def test_api_with_a_forged_session_cookie_is_401(
    fake_setup: ConsoleSetup, method: str, path: str
) -> None:
    response = requests.request(
        method,
        fake_setup.console.url + path,
        json={},
        cookies={"hfs_console": "forged"},
        timeout=10,
    )
    assert response.status_code == 401


@pytest.mark.parametrize("path", USER_PAGES + ADMIN_PAGES)
def test_pages_without_a_session_redirect_to_login(fake_setup: ConsoleSetup, path: str) -> None:
    response = requests.get(fake_setup.console.url + path, allow_redirects=False, timeout=10)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


@pytest.mark.parametrize(("method", "path"), ADMIN_API)
def test_coordinator_on_admin_api_is_403(
    coordinator: ConsoleClient, method: str, path: str
) -> None:
    response = coordinator.get(path) if method == "GET" else coordinator.post(path, {})
    assert response.status_code == 403
    assert response.json() == {"error": "forbidden"}


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_coordinator_on_admin_pages_is_403(coordinator: ConsoleClient, path: str) -> None:
    assert coordinator.get(path).status_code == 403


@pytest.mark.parametrize("path", POSTS)
@pytest.mark.parametrize("csrf", ["", "forged-token"])
def test_state_changes_without_the_csrf_token_are_403(
    fake_setup: ConsoleSetup, path: str, csrf: str
) -> None:
    admin = fake_setup.admin()
    response = admin.post(
        path, {"text": "hello", "outcome": "answered", "username": "x1"}, csrf=csrf
    )
    assert response.status_code == 403
    assert response.json() == {"error": "csrf"}


def test_logout_without_csrf_is_refused_and_keeps_the_session(fake_setup: ConsoleSetup) -> None:
    admin = fake_setup.admin()
    assert admin.post("/api/logout", csrf="").status_code == 403
    assert admin.get("/api/me").status_code == 200
    assert admin.post("/api/logout").status_code == 200
    assert admin.get("/api/me").status_code == 401


def test_csrf_token_of_another_session_is_refused(fake_setup: ConsoleSetup) -> None:
    one, other = fake_setup.admin(), fake_setup.admin()
    assert one.post("/api/users", {"username": "x2"}, csrf=other.csrf).status_code == 403


def test_wrong_password_is_401(fake_setup: ConsoleSetup) -> None:
    response = fake_setup.client().login(ADMIN, "not-the-password")
    assert response.status_code == 401
    assert response.json() == {"error": "invalid_credentials"}
    assert "Set-Cookie" not in response.headers


def test_unknown_user_is_401_like_a_wrong_password(fake_setup: ConsoleSetup) -> None:
    assert fake_setup.client().login("nobody", "whatever-password").status_code == 401


def test_login_wants_json(fake_setup: ConsoleSetup) -> None:
    response = requests.post(
        fake_setup.console.url + "/api/login",
        data={"username": ADMIN, "password": ADMIN_PASSWORD},
        timeout=10,
    )
    assert response.status_code == 415


def test_session_cookie_is_httponly_and_samesite_lax(fake_setup: ConsoleSetup) -> None:
    response = fake_setup.client().login(ADMIN, ADMIN_PASSWORD)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain http on loopback, no trusted proxy
    # X-Forwarded-Proto from a client that is not a trusted proxy changes nothing
    forwarded = requests.post(
        fake_setup.console.url + "/api/login",
        json={"username": ADMIN, "password": ADMIN_PASSWORD},
        headers={"X-Forwarded-Proto": "https"},
        timeout=10,
    )
    assert "Secure" not in forwarded.headers["Set-Cookie"]


def test_security_headers_on_pages_and_api(fake_setup: ConsoleSetup) -> None:
    for path in ("/login", "/api/tickets"):
        headers = requests.get(fake_setup.console.url + path, timeout=10).headers
        assert "script-src 'self'" in headers["Content-Security-Policy"]
        assert "unsafe-inline" not in headers["Content-Security-Policy"]
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "no-referrer"


def test_oversized_bodies_are_refused(fake_setup: ConsoleSetup) -> None:
    admin = fake_setup.admin()
    response = admin.post("/api/conversations/patient-1/messages", {"text": "x" * 100_000})
    assert response.status_code == 413


def test_one_time_password_must_be_changed_first(fake_setup: ConsoleSetup) -> None:
    created = fake_setup.admin().post("/api/users", {"username": "newbie"}).json()
    newbie = fake_setup.client()
    assert newbie.login("newbie", created["one_time_password"]).json()["user"][
        "must_change_password"
    ]
    assert newbie.get("/api/tickets").json() == {"error": "password_change_required"}
    assert newbie.get("/queue").headers["Location"] == "/account"


def test_disabled_user_cannot_sign_in_and_loses_the_session(fake_setup: ConsoleSetup) -> None:
    victim = fake_setup.user("leaver")
    assert fake_setup.admin().post("/api/users/leaver", {"active": False}).status_code == 200
    assert victim.get("/api/tickets").status_code == 401
    assert fake_setup.client().login("leaver", "leaver-password-1").status_code == 401


@pytest.fixture(scope="module")
def strict_console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleSetup]:
    """Its own process: a login flood must not lock other tests out; short sessions."""
    workdir = tmp_path_factory.mktemp("strict")
    handoff = f"sqlite:///{workdir / 'handoff.db'}"
    env = {**console_env(), "CONSOLE_SESSION_HOURS": "0.001", "CONSOLE_SECURE_COOKIE": "1"}
    with (
        running_fake_rasa(TOKEN) as fake,
        running_console(
            workdir, fake.url, TOKEN, handoff, f"sqlite:///{workdir / 't.db'}", env
        ) as console,
    ):
        yield ConsoleSetup(console, HandoffStore(handoff), fake)


def test_login_flood_is_429_even_with_the_right_password(strict_console: ConsoleSetup) -> None:
    client = strict_console.client()
    statuses = [client.login(ADMIN, f"wrong-{i}").status_code for i in range(5)]
    assert statuses == [401] * 5
    assert client.login(ADMIN, "wrong-again").status_code == 429
    assert client.login(ADMIN, ADMIN_PASSWORD).status_code == 429


def test_login_flood_from_one_address_is_429_across_user_names(
    strict_console: ConsoleSetup,
) -> None:
    client = strict_console.client()
    statuses = [client.login(f"user{i}", "wrong-password").status_code for i in range(25)]
    assert 429 in statuses
    assert statuses[: statuses.index(429)] == [401] * statuses.index(429)


def test_secure_cookie_when_configured_and_sessions_expire(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    workdir = tmp_path_factory.mktemp("expiry")
    handoff = f"sqlite:///{workdir / 'handoff.db'}"
    env = {**console_env(), "CONSOLE_SESSION_HOURS": "0.0006", "CONSOLE_SECURE_COOKIE": "1"}
    with (
        running_fake_rasa(TOKEN) as fake,
        running_console(
            workdir, fake.url, TOKEN, handoff, f"sqlite:///{workdir / 't.db'}", env
        ) as console,
    ):
        client = ConsoleClient(console.url)
        response = client.login(ADMIN, ADMIN_PASSWORD)
        assert "Secure" in response.headers["Set-Cookie"]
        # requests keeps a Secure cookie off plain http: send it by hand
        token = (
            response.cookies.get("hfs_console")
            or response.headers["Set-Cookie"].split("=", 1)[1].split(";")[0]
        )
        assert (
            requests.get(
                console.url + "/api/me", cookies={"hfs_console": token}, timeout=10
            ).status_code
            == 200
        )
        time.sleep(2.5)  # CONSOLE_SESSION_HOURS=0.0006: about 2.2 s
        assert (
            requests.get(
                console.url + "/api/me", cookies={"hfs_console": token}, timeout=10
            ).status_code
            == 401
        )


@pytest.mark.parametrize("path", USER_PAGES[1:] + ADMIN_PAGES)
def test_every_page_renders_for_an_admin(fake_setup: ConsoleSetup, path: str) -> None:
    admin = fake_setup.admin()
    admin.post("/api/users", {"username": "pagecheck"})  # something in the audit log
    response = admin.get(path)
    assert response.status_code == 200, response.text[:500]
    assert "<title>" in response.text


@pytest.fixture(scope="module")
def proxied_console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleSetup]:
    """Behind a trusted reverse proxy (here: the test itself, on 127.0.0.1)."""
    workdir = tmp_path_factory.mktemp("proxied")
    handoff = f"sqlite:///{workdir / 'handoff.db'}"
    env = {**console_env(), "CONSOLE_TRUSTED_PROXIES": "127.0.0.1"}
    with (
        running_fake_rasa(TOKEN) as fake,
        running_console(
            workdir, fake.url, TOKEN, handoff, f"sqlite:///{workdir / 't.db'}", env
        ) as console,
    ):
        yield ConsoleSetup(console, HandoffStore(handoff), fake)


def test_cookie_is_secure_when_a_trusted_proxy_says_https(proxied_console: ConsoleSetup) -> None:
    def login(headers: dict[str, str]) -> str:
        response = requests.post(
            proxied_console.console.url + "/api/login",
            json={"username": ADMIN, "password": ADMIN_PASSWORD},
            headers=headers,
            timeout=10,
        )
        assert response.status_code == 200
        return response.headers["Set-Cookie"]

    assert "Secure" in login({"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"})
    assert "Secure" not in login({"X-Forwarded-Proto": "http", "X-Forwarded-For": "203.0.113.9"})


def test_behind_the_proxy_the_flood_limit_counts_the_real_client(
    proxied_console: ConsoleSetup,
) -> None:
    def attempt(address: str, username: str) -> int:
        return requests.post(
            proxied_console.console.url + "/api/login",
            json={"username": username, "password": "wrong-password"},
            headers={"X-Forwarded-For": address},
            timeout=10,
        ).status_code

    statuses = [attempt("198.51.100.7", f"name{i}") for i in range(21)]
    assert statuses[-1] == 429
    assert attempt("198.51.100.8", "someone") == 401  # another client is not locked out
