"""The WhatsApp channel's settings, read once at start-up.

Each value comes from the channel's section in the credentials file when given there,
else from the environment. Without the required ones the channel stays mounted but
disabled (its webhook answers 503), so `make run` works with no environment at all.
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


def load_settings(
    credentials: Mapping[str, Any] | None, environ: Mapping[str, str]
) -> tuple[WhatsAppSettings | None, list[str]]:
    """(settings, []) when configured, else (None, names of the missing variables)."""
    values = {
        key: _value(credentials, key, environ, variable)
        for key, variable in {**REQUIRED, **OPTIONAL}.items()
    }
    missing = [variable for key, variable in REQUIRED.items() if not values[key]]
    if missing:
        return None, missing
    max_bytes = values["media_max_bytes"] or str(DEFAULT_MEDIA_MAX_BYTES)
    if not max_bytes.isdigit() or int(max_bytes) <= 0:
        raise InvalidSettings("WHATSAPP_MEDIA_MAX_BYTES must be a positive number of bytes")
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
            media_max_bytes=int(max_bytes),
        ),
        [],
    )


def _value(
    credentials: Mapping[str, Any] | None, key: str, environ: Mapping[str, str], variable: str
) -> str:
    given = (credentials or {}).get(key)
    if given is not None and str(given).strip():
        return str(given).strip()
    return environ.get(variable, "").strip()
