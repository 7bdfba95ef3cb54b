"""The console's settings, read once from the environment at start-up."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Mapping

DEFAULT_PORT = 8000
DEFAULT_HOST = "127.0.0.1"
DEFAULT_RASA_URL = "http://127.0.0.1:5005"
UI_LANGUAGES = ("en", "tr", "ar", "ru")


class ConfigError(ValueError):
    """A setting has a value the console cannot work with."""


@dataclass(frozen=True)
class Settings:
    host: str
    port: int
    db_url: str
    handoff_db_url: str
    tracker_db_url: str
    event_broker_db_url: str | None
    whatsapp_db_url: str | None
    rasa_url: str
    rasa_token: str
    secure_cookie: bool
    trusted_proxies: frozenset[str]
    session_hours: float
    waiting_notice_minutes: float
    translator: str | None
    retry_seconds: float
    poll_seconds: float

    @classmethod
    def from_environment(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        try:
            return cls(
                host=env.get("COORDINATOR_HOST") or DEFAULT_HOST,
                port=int(env.get("COORDINATOR_PORT") or DEFAULT_PORT),
                db_url=env.get("CONSOLE_DB_URL") or "sqlite:///console.db",
                handoff_db_url=env.get("HANDOFF_DB_URL") or "sqlite:///handoff.db",
                tracker_db_url=env.get("TRACKER_DB_URL") or "sqlite:///rasa_tracker.db",
                event_broker_db_url=env.get("EVENT_BROKER_DB_URL") or None,
                whatsapp_db_url=env.get("WHATSAPP_DATABASE_URL") or None,
                rasa_url=(env.get("RASA_URL") or DEFAULT_RASA_URL).rstrip("/"),
                rasa_token=env.get("RASA_AUTH_TOKEN") or "",
                secure_cookie=env.get("CONSOLE_SECURE_COOKIE") == "1",
                trusted_proxies=frozenset(
                    part for part in (env.get("CONSOLE_TRUSTED_PROXIES") or "").split(",") if part
                ),
                session_hours=float(env.get("CONSOLE_SESSION_HOURS") or 12),
                waiting_notice_minutes=float(env.get("CONSOLE_WAITING_NOTICE_MINUTES") or 5),
                translator=env.get("CONSOLE_TRANSLATOR") or None,
                retry_seconds=float(env.get("CONSOLE_RETRY_SECONDS") or 10),
                poll_seconds=float(env.get("CONSOLE_POLL_SECONDS") or 0.25),
            )
        except ValueError as error:
            raise ConfigError(str(error)) from error
