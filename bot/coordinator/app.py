"""The console's web app (aiohttp): pages, JSON API, Server-Sent Events.

Middlewares, outermost first: JSON errors and security headers; the session (cookie →
user); roles (coordinator/admin) and the forced password change; CSRF on every
state-changing request. Handlers are marked `@public` or `@admin`; everything else needs a
signed-in user. Logs carry request ids and status codes only, never personal data.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import traceback
from datetime import timedelta
from pathlib import Path
from typing import Any, Awaitable, Callable, Optional
from urllib.parse import quote

import aiohttp
import jinja2
from aiohttp import web

from actions.handoff_store import OUTCOMES, HandoffStore
from bot.coordinator import auth, content, privacy, stats
from bot.coordinator.config import UI_LANGUAGES, Settings
from bot.coordinator.live import Hub, TrackerEventsReader, poll_forever
from bot.coordinator.rasa_client import RasaClient
from bot.coordinator.service import Console, ConsoleError
from bot.coordinator.store import ROLES, ConsoleStore, Session, User
from bot.coordinator.translation import load_translator
from bot.languages import RTL_LANGUAGES

logger = logging.getLogger(__name__)
HERE = content.HERE
COOKIE = "hfs_console"
MAX_BODY = 64 * 1024
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; "
    "object-src 'none'"
)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

SETTINGS = web.AppKey("settings", Settings)
STORE = web.AppKey("store", ConsoleStore)
TICKETS = web.AppKey("tickets", HandoffStore)
HUB = web.AppKey("hub", Hub)
CONSOLE = web.AppKey("console", Console)
LIMIT = web.AppKey("limit", auth.LoginRateLimit)
PLACES = web.AppKey("places", privacy.Places)
JINJA = web.AppKey("jinja", jinja2.Environment)
VIEWS = web.AppKey("views", dict)
HTTP = web.AppKey("http", aiohttp.ClientSession)
TASKS = web.AppKey("tasks", list)


def public(handler: Handler) -> Handler:
    handler.access = "public"  # type: ignore[attr-defined]
    return handler


def admin(handler: Handler) -> Handler:
    handler.access = "admin"  # type: ignore[attr-defined]
    return handler


def _access(request: web.Request) -> str:
    if request.path.startswith("/static/"):
        return "public"
    handler = request.match_info.handler
    return getattr(handler, "access", "user")


def is_api(request: web.Request) -> bool:
    return request.path.startswith("/api/")


def json_error(status: int, error: str, **extra: Any) -> web.Response:
    return web.json_response({"error": error, **extra}, status=status)


def client_address(request: web.Request, settings: Settings) -> str:
    remote = request.remote or "?"
    forwarded = request.headers.get("X-Forwarded-For")
    if forwarded and remote in settings.trusted_proxies:
        return forwarded.split(",")[0].strip()
    return remote


def is_https(request: web.Request, settings: Settings) -> bool:
    if settings.secure_cookie or request.secure:
        return True
    return (
        request.remote in settings.trusted_proxies
        and request.headers.get("X-Forwarded-Proto") == "https"
    )


# ---- middlewares ------------------------------------------------------------------------
def _origin(error: BaseException) -> str:
    """file:line of the innermost frame of our own code, for the log."""
    frames = traceback.extract_tb(error.__traceback__)
    ours = [f for f in frames if "/bot/" in f.filename or "/actions/" in f.filename] or frames
    return f"{Path(ours[-1].filename).name}:{ours[-1].lineno}" if ours else "?"


@web.middleware
async def errors_and_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    started = time.monotonic()
    try:
        response = await handler(request)
    except ConsoleError as error:
        response = json_error(error.status, error.error, **error.extra)
    except web.HTTPException as error:
        if is_api(request) and error.status >= 400:
            response = json_error(error.status, error.reason.lower().replace(" ", "_"))
        else:
            response = error
    except Exception as error:  # one boundary: no stack trace to the client
        # the type and where only: exception messages can carry patient data (SQL, payloads)
        logger.error(
            "unhandled %s on %s at %s",
            type(error).__name__,
            request.match_info.route.name or "route",
            _origin(error),
        )
        response = json_error(500, "internal_error")
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if not request.path.startswith("/static/"):
        headers.setdefault("Cache-Control", "no-store")
    logger.info(
        "%s %s %s %.0fms",
        request.method,
        request.match_info.route.name or "-",
        response.status,
        (time.monotonic() - started) * 1000,
    )
    return response


@web.middleware
async def sessions(request: web.Request, handler: Handler) -> web.StreamResponse:
    access = _access(request)
    token = request.cookies.get(COOKIE)
    store = request.app[STORE]
    session = await asyncio.to_thread(store.session, token) if token else None
    user = await asyncio.to_thread(store.user, session.username) if session else None
    if user is not None and not user.active:
        user = None
    request["session"], request["user"] = (session, user) if user else (None, None)
    if access == "public":
        return await handler(request)
    if user is None:
        if is_api(request):
            return json_error(401, "unauthorized")
        raise web.HTTPFound("/login?next=" + quote(request.path_qs, safe="/?=&"))
    if access == "admin" and not user.is_admin:
        if is_api(request):
            return json_error(403, "forbidden")
        raise web.HTTPForbidden(text="403: administrators only")
    assert session is not None
    if request.method not in SAFE_METHODS and not await _csrf_ok(request, session):
        return json_error(403, "csrf")
    if user.must_change_password and request.path not in (
        "/api/account",
        "/api/logout",
        "/account",
    ):
        if is_api(request):
            return json_error(403, "password_change_required")
        raise web.HTTPFound("/account")
    return await handler(request)


async def _csrf_ok(request: web.Request, session: Session) -> bool:
    given = request.headers.get("X-CSRF-Token")
    if given is None and request.content_type == "application/x-www-form-urlencoded":
        given = str((await request.post()).get("csrf_token") or "") or None
    return auth.same_token(session.csrf_token, given)


# ---- helpers ----------------------------------------------------------------------------
def current_user(request: web.Request) -> User:
    user = request["user"]
    assert isinstance(user, User)
    return user


async def json_body(request: web.Request) -> dict[str, Any]:
    if request.content_type != "application/json":
        raise ConsoleError(415, "expected_json")
    try:
        body = await request.json()
    except (ValueError, RecursionError) as error:  # bad JSON or UTF-8, absurd nesting
        raise ConsoleError(400, "invalid_json") from error
    if not isinstance(body, dict):
        raise ConsoleError(400, "expected_object")
    return body


def labels(language: str) -> Callable[[str], str]:
    table = content.ui_labels()

    def t(key: str) -> str:
        entry = table.get(key)
        return (entry.get(language) or entry["en"]) if entry else key

    return t


def render(request: web.Request, template: str, **context: Any) -> web.Response:
    user: Optional[User] = request.get("user")
    session: Optional[Session] = request.get("session")
    language = user.language if user else _browser_language(request)
    html = (
        request.app[JINJA]
        .get_template(template)
        .render(
            t=labels(language),
            lang=language,
            dir="rtl" if language in RTL_LANGUAGES else "ltr",
            user=user,
            csrf_token=session.csrf_token if session else "",
            page=template.removesuffix(".html"),
            **context,
        )
    )
    return web.Response(text=html, content_type="text/html", charset="utf-8")


def _browser_language(request: web.Request) -> str:
    wanted = request.query.get("lang") or request.headers.get("Accept-Language", "en")[:2]
    return wanted if wanted in UI_LANGUAGES else "en"


def _conversation_id(request: web.Request) -> str:
    conversation_id = request.match_info["conversation_id"]
    if not conversation_id or len(conversation_id) > 255:
        raise ConsoleError(400, "invalid_conversation_id")
    return conversation_id


def _audit_view(request: web.Request, conversation_id: str) -> None:
    """A data view is audited once per user and conversation every 10 minutes."""
    user = current_user(request)
    views: dict[tuple[str, str], float] = request.app[VIEWS]
    key = (user.username, conversation_id)
    if time.monotonic() - views.get(key, -1e9) > 600:
        views[key] = time.monotonic()
        request.app[STORE].audit(user.username, "view", conversation_id)


# ---- API: sign-in -------------------------------------------------------------------------
@public
async def api_login(request: web.Request) -> web.Response:
    body = await json_body(request)
    username, password = body.get("username"), body.get("password")
    if not isinstance(username, str) or not isinstance(password, str) or len(password) > 1024:
        raise ConsoleError(400, "username_and_password_required")
    settings, store, limit = request.app[SETTINGS], request.app[STORE], request.app[LIMIT]
    address = client_address(request, settings)
    username = username.strip().lower()
    if limit.blocked(username, address):
        return json_error(429, "too_many_attempts")
    user = await asyncio.to_thread(store.user, username) if auth.valid_username(username) else None
    ok = await asyncio.to_thread(
        auth.verify_password, user.password_hash if user and user.active else None, password
    )
    if not ok or user is None:
        limit.failed(username, address)
        store.audit(username if user else None, "login_failed")
        return json_error(401, "invalid_credentials")
    limit.succeeded(username)
    token, csrf = auth.new_token(), auth.new_token()
    lifetime = timedelta(hours=settings.session_hours)
    store.create_session(token, user.username, csrf, lifetime)
    store.audit(user.username, "login")
    response = web.json_response({"csrf_token": csrf, "user": user.public()})
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(lifetime.total_seconds()),
        httponly=True,
        samesite="Lax",
        secure=is_https(request, settings),
        path="/",
    )
    return response


async def api_logout(request: web.Request) -> web.Response:
    token = request.cookies.get(COOKIE, "")
    request.app[STORE].delete_session(token)
    request.app[STORE].audit(current_user(request).username, "logout")
    response = web.json_response({"status": "signed_out"})
    response.del_cookie(COOKIE, path="/")
    return response


async def api_me(request: web.Request) -> web.Response:
    return web.json_response(
        {"user": current_user(request).public(), "csrf_token": request["session"].csrf_token}
    )


async def api_account(request: web.Request) -> web.Response:
    """Own language and password (the one-time password must be replaced first)."""
    body = await json_body(request)
    user, store = current_user(request), request.app[STORE]
    changes: dict[str, Any] = {}
    if "language" in body:
        if body["language"] not in UI_LANGUAGES:
            raise ConsoleError(400, "invalid_language")
        changes["language"] = body["language"]
    if "new_password" in body:
        current = body.get("current_password")
        if not isinstance(current, str) or not auth.verify_password(user.password_hash, current):
            raise ConsoleError(401, "invalid_credentials")
        try:
            changes["password_hash"] = auth.hash_password(str(body["new_password"]))
        except auth.WeakPasswordError as error:
            raise ConsoleError(400, "weak_password", detail=str(error)) from error
        changes["must_change_password"] = False
    if not changes:
        raise ConsoleError(400, "nothing_to_change")
    store.update_user(user.username, **changes)
    store.audit(user.username, "account_change", fields=sorted(changes))
    response = web.json_response({"status": "saved", "signed_out": "password_hash" in changes})
    if "password_hash" in changes:
        response.del_cookie(COOKIE, path="/")  # sessions ended: sign in with the new one
    return response


# ---- API: queue and conversations ---------------------------------------------------------
async def api_tickets(request: web.Request) -> web.Response:
    return web.json_response({"tickets": await request.app[CONSOLE].queue()})


async def api_conversation(request: web.Request) -> web.Response:
    conversation_id = _conversation_id(request)
    console, user = request.app[CONSOLE], current_user(request)
    conversation = await console.conversation(conversation_id, user)
    _audit_view(request, conversation_id)
    conversation["replies"] = console.replies_for(user)
    conversation["templates"] = console.templates_for(user)
    conversation["outcomes"] = list(OUTCOMES)
    return web.json_response(conversation)


async def api_takeover(request: web.Request) -> web.Response:
    result = await request.app[CONSOLE].takeover(_conversation_id(request), current_user(request))
    return web.json_response(result)


async def api_messages(request: web.Request) -> web.Response:
    body = await json_body(request)
    status, result = await request.app[CONSOLE].send_message(
        _conversation_id(request), current_user(request), body
    )
    return web.json_response(result, status=status)


async def api_handback(request: web.Request) -> web.Response:
    result = await request.app[CONSOLE].handback(_conversation_id(request), current_user(request))
    return web.json_response(result)


async def api_close(request: web.Request) -> web.Response:
    body = await json_body(request)
    ticket = await request.app[CONSOLE].close_ticket(
        request.match_info["ticket_id"], current_user(request), body.get("outcome")
    )
    return web.json_response({"ticket": ticket})


async def api_attachment(request: web.Request) -> web.Response:
    found = await asyncio.to_thread(
        request.app[CONSOLE].attachments.content, request.match_info["attachment_id"]
    )
    if found is None:
        raise ConsoleError(404, "unknown_attachment")
    attachment, conversation_id, data = found
    request.app[STORE].audit(
        current_user(request).username, "attachment_download", conversation_id, attachment.ticket_id
    )
    filename = "".join(c for c in attachment.filename if c.isalnum() or c in "._-") or "file"
    return web.Response(
        body=data,
        content_type="application/octet-stream",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


async def api_events(request: web.Request) -> web.StreamResponse:
    """Server-Sent Events: `ticket`, `message`, `hold`, `outbox` (ids only), `reset`."""
    hub, store = request.app[HUB], request.app[STORE]
    token = request.cookies.get(COOKIE, "")
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-store",
            "X-Accel-Buffering": "no",
        }
    )
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    await response.prepare(request)
    queue = hub.subscribe()
    try:
        await response.write(b"retry: 2000\nevent: hello\ndata: {}\n\n")
        while True:
            try:
                event = await asyncio.wait_for(queue.get(), timeout=15)
                await response.write(event.encode())
            except asyncio.TimeoutError:
                if await asyncio.to_thread(store.session, token) is None:
                    break  # the session expired or was ended: the page signs in again
                await response.write(b": keep-alive\n\n")
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        hub.unsubscribe(queue)
    return response


# ---- API: administration ------------------------------------------------------------------
@admin
async def api_users(request: web.Request) -> web.Response:
    return web.json_response({"users": [u.public() for u in request.app[STORE].users()]})


@admin
async def api_add_user(request: web.Request) -> web.Response:
    body = await json_body(request)
    username = str(body.get("username") or "").strip().lower()
    role = body.get("role") or "coordinator"
    language = body.get("language") or "en"
    display_name = str(body.get("display_name") or username).strip()[:64]
    if not auth.valid_username(username):
        raise ConsoleError(400, "invalid_username")
    if role not in ROLES or language not in UI_LANGUAGES:
        raise ConsoleError(400, "invalid_role_or_language")
    password = auth.one_time_password()
    try:
        request.app[STORE].add_user(
            username, display_name, auth.hash_password(password), role, language, True
        )
    except KeyError as error:
        raise ConsoleError(409, "user_exists") from error
    request.app[STORE].audit(current_user(request).username, "user_add", target=username, role=role)
    return web.json_response({"username": username, "one_time_password": password}, status=201)


@admin
async def api_update_user(request: web.Request) -> web.Response:
    body = await json_body(request)
    username = request.match_info["username"]
    store, actor = request.app[STORE], current_user(request)
    if store.user(username) is None:
        raise ConsoleError(404, "unknown_user")
    changes: dict[str, Any] = {}
    result: dict[str, Any] = {"username": username}
    if "active" in body:
        if username == actor.username and body["active"] is False:
            raise ConsoleError(400, "cannot_disable_yourself")
        changes["active"] = bool(body["active"])
    if "role" in body:
        if body["role"] not in ROLES or (username == actor.username and body["role"] != "admin"):
            raise ConsoleError(400, "invalid_role")
        changes["role"] = body["role"]
    if "display_name" in body:
        changes["display_name"] = str(body["display_name"]).strip()[:64] or username
    if body.get("reset_password"):
        password = auth.one_time_password()
        changes["password_hash"] = auth.hash_password(password)
        changes["must_change_password"] = True
        result["one_time_password"] = password
    if not changes:
        raise ConsoleError(400, "nothing_to_change")
    store.update_user(username, **changes)
    store.audit(actor.username, "user_change", target=username, fields=sorted(changes))
    return web.json_response(result)


@admin
async def api_audit(request: web.Request) -> web.Response:
    return web.json_response({"entries": request.app[STORE].audit_entries(500)})


def _stats(request: web.Request) -> stats.Stats:
    events, languages = stats.read_tracker(request.app[PLACES].tracker)
    tickets = request.app[TICKETS].list(limit=100_000)
    return stats.compute(events, languages, tickets, request.app[STORE].all_sent())


@admin
async def api_stats(request: web.Request) -> web.Response:
    result = await asyncio.to_thread(_stats, request)
    return web.json_response(
        {
            "conversations": result.conversations,
            "messages": result.messages,
            "per_day_language": result.per_day_language,
            "topics": result.topics,
            "fallback_rate": result.fallback_rate,
            "handoff_rate": result.handoff_rate,
            "median_first_reply_minutes": result.median_first_reply,
            "bookings_per_day": result.bookings_per_day,
        }
    )


@admin
async def api_export(request: web.Request) -> web.Response:
    conversation_id = _conversation_id(request)
    data = await asyncio.to_thread(privacy.export_zip, request.app[PLACES], conversation_id)
    request.app[STORE].audit(
        current_user(request).username,
        "export",
        conversation_id,
        subject=privacy.conversation_digest(conversation_id),
    )
    return web.Response(
        body=data,
        content_type="application/zip",
        headers={"Content-Disposition": 'attachment; filename="patient-data.zip"'},
    )


@admin
async def api_delete(request: web.Request) -> web.Response:
    conversation_id = _conversation_id(request)
    counts = await asyncio.to_thread(
        privacy.delete_everywhere, request.app[PLACES], conversation_id
    )
    # after the deletion: the entry names the subject by digest only
    request.app[STORE].audit(
        current_user(request).username,
        "delete",
        subject=privacy.conversation_digest(conversation_id),
        counts=counts,
    )
    return web.json_response({"status": "deleted", "deleted": counts})


# ---- pages --------------------------------------------------------------------------------
@public
async def page_login(request: web.Request) -> web.Response:
    return render(request, "login.html")


async def page_root(request: web.Request) -> web.Response:
    raise web.HTTPFound("/queue")


async def page_queue(request: web.Request) -> web.Response:
    return render(request, "queue.html")


async def page_conversation(request: web.Request) -> web.Response:
    return render(
        request,
        "conversation.html",
        conversation_id=_conversation_id(request),
        outcomes=OUTCOMES,
    )


async def page_account(request: web.Request) -> web.Response:
    return render(request, "account.html", languages=UI_LANGUAGES)


def first_reply_bars(median_label: str, result: stats.Stats) -> list[tuple[str, float]]:
    """The median, then the latest ten tickets; nothing (a dash) before the first reply."""
    if result.median_first_reply is None:
        return []
    latest = result.first_reply_minutes[-10:]
    return [(median_label, round(result.median_first_reply, 1))] + [
        (f"#{i + 1}", round(minutes, 1)) for i, minutes in enumerate(latest)
    ]


@admin
async def page_stats(request: web.Request) -> web.Response:
    result = await asyncio.to_thread(_stats, request)
    t = labels(current_user(request).language)
    topics = content.topics()
    language = current_user(request).language
    charts = {
        "per_day": stats.stacked_days_chart(t("conversations_per_day"), result.per_day_language),
        "topics": stats.bar_chart(
            t("top_topics"),
            [((topics.get(i) or {}).get(language, i), n) for i, n in result.topics],
        ),
        "rates": stats.bar_chart(
            t("rates"),
            [
                (t("fallback_rate"), round(result.fallback_rate * 100, 1)),
                (t("handoff_rate"), round(result.handoff_rate * 100, 1)),
            ],
            unit=" %",
        ),
        "first_reply": stats.bar_chart(
            t("first_reply"),
            first_reply_bars(t("median"), result),
        ),
        "bookings": stats.bar_chart(t("bookings"), list(result.bookings_per_day.items())[-14:]),
    }
    return render(request, "stats.html", charts=charts, stats=result)


@admin
async def page_users(request: web.Request) -> web.Response:
    return render(
        request, "users.html", users=request.app[STORE].users(), roles=ROLES, languages=UI_LANGUAGES
    )


@admin
async def page_audit(request: web.Request) -> web.Response:
    return render(request, "audit.html", entries=request.app[STORE].audit_entries(500))


@admin
async def page_privacy(request: web.Request) -> web.Response:
    return render(request, "privacy.html")


@public
async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


# ---- the app ------------------------------------------------------------------------------
async def _every(seconds: float, job: Callable[[], Awaitable[Any]], name: str) -> None:
    while True:
        await asyncio.sleep(seconds)
        try:
            await job()
        except Exception:  # a failed round must not stop the loop
            logger.exception("%s failed", name)


async def _start_background(app: web.Application) -> None:
    settings = app[SETTINGS]
    http = aiohttp.ClientSession()
    app[HTTP] = http
    rasa = RasaClient(settings.rasa_url, settings.rasa_token, http)
    console = Console(
        settings, app[STORE], app[TICKETS], rasa, app[HUB], load_translator(settings.translator)
    )
    app[CONSOLE] = console
    reader = TrackerEventsReader(settings.tracker_db_url)
    app[TASKS] = [
        asyncio.create_task(poll_forever(app[HUB], reader, app[TICKETS], settings.poll_seconds)),
        asyncio.create_task(_every(settings.retry_seconds, console.retry_due, "outbox retry")),
        asyncio.create_task(
            _every(
                min(30.0, max(settings.waiting_notice_minutes * 15, 1.0)),
                console.send_waiting_notices,
                "waiting notices",
            )
        ),
    ]


async def _stop_background(app: web.Application) -> None:
    for task in app[TASKS]:
        task.cancel()
    for task in app[TASKS]:
        with contextlib.suppress(asyncio.CancelledError):
            await task
    await app[HTTP].close()


def create_app(settings: Settings) -> web.Application:
    content.load_all()
    app = web.Application(middlewares=[errors_and_headers, sessions], client_max_size=MAX_BODY)
    app[SETTINGS] = settings
    app[STORE] = ConsoleStore(settings.db_url)
    app[TICKETS] = HandoffStore(settings.handoff_db_url)
    app[HUB] = Hub()
    app[LIMIT] = auth.LoginRateLimit()
    app[VIEWS] = {}
    app[PLACES] = privacy.Places.from_urls(
        settings.tracker_db_url,
        app[TICKETS],
        app[STORE],
        settings.event_broker_db_url,
        settings.whatsapp_db_url,
    )
    app[JINJA] = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    app.on_startup.append(_start_background)  # type: ignore[arg-type]
    app.on_cleanup.append(_stop_background)  # type: ignore[arg-type]
    r = app.router
    r.add_post("/api/login", api_login, name="login")
    r.add_post("/api/logout", api_logout, name="logout")
    r.add_get("/api/me", api_me, name="me")
    r.add_post("/api/account", api_account, name="account")
    r.add_get("/api/tickets", api_tickets, name="tickets")
    r.add_post("/api/tickets/{ticket_id}/close", api_close, name="close")
    r.add_get("/api/conversations/{conversation_id}", api_conversation, name="conversation")
    r.add_post("/api/conversations/{conversation_id}/takeover", api_takeover, name="takeover")
    r.add_post("/api/conversations/{conversation_id}/messages", api_messages, name="messages")
    r.add_post("/api/conversations/{conversation_id}/handback", api_handback, name="handback")
    r.add_get("/api/attachments/{attachment_id}", api_attachment, name="attachment")
    r.add_get("/api/events", api_events, name="events")
    r.add_get("/api/users", api_users, name="users")
    r.add_post("/api/users", api_add_user, name="user_add")
    r.add_post("/api/users/{username}", api_update_user, name="user_change")
    r.add_get("/api/audit", api_audit, name="audit")
    r.add_get("/api/stats", api_stats, name="stats")
    r.add_get("/api/privacy/{conversation_id}/export", api_export, name="export")
    r.add_post("/api/privacy/{conversation_id}/delete", api_delete, name="delete")
    r.add_get("/health", health, name="health")
    r.add_get("/", page_root, name="root")
    r.add_get("/login", page_login, name="page_login")
    r.add_get("/queue", page_queue, name="page_queue")
    r.add_get("/conversations/{conversation_id}", page_conversation, name="page_conversation")
    r.add_get("/account", page_account, name="page_account")
    r.add_get("/stats", page_stats, name="page_stats")
    r.add_get("/users", page_users, name="page_users")
    r.add_get("/audit", page_audit, name="page_audit")
    r.add_get("/privacy", page_privacy, name="page_privacy")
    r.add_static("/static", HERE / "static", name="static")
    return app
