"""The WhatsApp channels' settings (Cloud API and Twilio), read once at start-up.

Each value comes from the channel's section in the credentials file when given there,
else from the environment. Without the required ones a channel stays mounted but
disabled (its webhook answers 503), so `make run` works with no environment at all.
Both channels share `WHATSAPP_DATABASE_URL` (processed message ids, menus) and the limits
for files attached to a patient's request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Mapping

REQUIRED: Final[dict[str, str]] = {
    "verify_token": "WHATSAPP_VERIFY_TOKEN",
    "app_secret": "WHATSAPP_APP_SECRET",
    "access_token": "WHATSAPP_ACCESS_TOKEN",
    "phone_number_id": "WHATSAPP_PHONE_NUMBER_ID",
    "api_base_url": "WHATSAPP_API_BASE_URL",
}
OPTIONAL: Final[dict[str, str]] = {
    "database_url": "WHATSAPP_DATABASE_URL",
    "media_max_bytes": "WHATSAPP_MEDIA_MAX_BYTES",
}
DEFAULT_MEDIA_MAX_BYTES: Final = 16 * 1024 * 1024
# Files attached to a patient's request: scans and reports as PDF or photos.
MEDIA_TYPES: Final = frozenset({"application/pdf", "image/jpeg", "image/png"})


TWILIO_REQUIRED: Final[dict[str, str]] = {
    "account_sid": "TWILIO_ACCOUNT_SID",
    "auth_token": "TWILIO_AUTH_TOKEN",
    "twilio_number": "TWILIO_WHATSAPP_NUMBER",
}
TWILIO_OPTIONAL: Final[dict[str, str]] = {
    "webhook_url": "TWILIO_WEBHOOK_URL",  # the public URL Twilio calls (behind a proxy)
    "api_base_url": "TWILIO_API_BASE_URL",  # tests point it at a fake Twilio API
    "database_url": "WHATSAPP_DATABASE_URL",
    "media_max_bytes": "WHATSAPP_MEDIA_MAX_BYTES",
}


class InvalidSettings(ValueError):
    """A setting is present but unusable (the message names the variable)."""


@dataclass(frozen=True)
class WhatsAppSettings:
    verify_token: str
    app_secret: str
    access_token: str
    phone_number_id: str
    api_base_url: str
    database_url: str | None = None
    media_max_bytes: int = DEFAULT_MEDIA_MAX_BYTES
    media_types: frozenset[str] = MEDIA_TYPES


@dataclass(frozen=True)
class TwilioSettings:
    account_sid: str
    auth_token: str
    twilio_number: str
    webhook_url: str | None = None
    api_base_url: str | None = None
    database_url: str | None = None
    media_max_bytes: int = DEFAULT_MEDIA_MAX_BYTES
    media_types: frozenset[str] = MEDIA_TYPES


def load_settings(
    credentials: Mapping[str, Any] | None, environ: Mapping[str, str]
) -> tuple[WhatsAppSettings | None, list[str]]:
    """(settings, []) when configured, else (None, names of the missing variables)."""
    values, missing = _values(credentials, environ, REQUIRED, OPTIONAL)
    if missing:
        return None, missing
    max_bytes = _media_max_bytes(values["media_max_bytes"])
    if not values["api_base_url"].startswith(("https://", "http://")):
        raise InvalidSettings(
            "WHATSAPP_API_BASE_URL must be a URL such as https://graph.facebook.com/v23.0"
        )
    return (
        WhatsAppSettings(
            verify_token=values["verify_token"],
            app_secret=values["app_secret"],
            access_token=values["access_token"],
            phone_number_id=values["phone_number_id"],
            api_base_url=values["api_base_url"].rstrip("/"),
            database_url=values["database_url"] or None,
            media_max_bytes=max_bytes,
        ),
        [],
    )


def load_twilio_settings(
    credentials: Mapping[str, Any] | None, environ: Mapping[str, str]
) -> tuple[TwilioSettings | None, list[str]]:
    """The same for Twilio's WhatsApp."""
    values, missing = _values(credentials, environ, TWILIO_REQUIRED, TWILIO_OPTIONAL)
    if missing:
        return None, missing
    return (
        TwilioSettings(
            account_sid=values["account_sid"],
            auth_token=values["auth_token"],
            twilio_number=values["twilio_number"],
            webhook_url=values["webhook_url"] or None,
            api_base_url=(values["api_base_url"] or "").rstrip("/") or None,
            database_url=values["database_url"] or None,
            media_max_bytes=_media_max_bytes(values["media_max_bytes"]),
        ),
        [],
    )


def _values(
    credentials: Mapping[str, Any] | None,
    environ: Mapping[str, str],
    required: Mapping[str, str],
    optional: Mapping[str, str],
) -> tuple[dict[str, str], list[str]]:
    values = {
        key: _value(credentials, key, environ, variable)
        for key, variable in {**required, **optional}.items()
    }
    return values, [variable for key, variable in required.items() if not values[key]]


def _media_max_bytes(value: str) -> int:
    max_bytes = value or str(DEFAULT_MEDIA_MAX_BYTES)
    if not max_bytes.isdigit() or int(max_bytes) <= 0:
        raise InvalidSettings("WHATSAPP_MEDIA_MAX_BYTES must be a positive number of bytes")
    return int(max_bytes)


def _value(
    credentials: Mapping[str, Any] | None, key: str, environ: Mapping[str, str], variable: str
) -> str:
    given = (credentials or {}).get(key)
    if given is not None and str(given).strip():
        return str(given).strip()
    return environ.get(variable, "").strip()
