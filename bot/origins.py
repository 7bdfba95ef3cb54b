"""Which web origins may talk to the bot: one setting, `BOT_CORS_ORIGINS`.

The clinic's website runs on another origin than the bot server. `BOT_CORS_ORIGINS` lists
the origins allowed to call the bot from a browser (REST CORS headers and the socket.io
channel's origin check), separated by commas or spaces. Unset, it is `*` (anyone): fine on
a developer's machine, never in production.
"""

from __future__ import annotations

import os
import re
from typing import Final
from urllib.parse import urlsplit

ORIGINS_VARIABLE: Final[str] = "BOT_CORS_ORIGINS"
ANY_ORIGIN: Final[str] = "*"
_SEPARATOR = re.compile(r"[\s,]+")


class InvalidOriginError(ValueError):
    """A configured origin is not `scheme://host[:port]`."""


def normalise_origin(value: str) -> str:
    """`https://Clinic.example/` -> `https://clinic.example`; raises for anything but an origin."""
    if value == ANY_ORIGIN:
        return value
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidOriginError(f"not an origin (scheme://host[:port]): {value!r}")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise InvalidOriginError(f"an origin has no path, query or user: {value!r}")
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname.lower()}{port}"


def parse_origins(value: str | None) -> tuple[str, ...]:
    """The origins in a `BOT_CORS_ORIGINS` value; empty or unset means any origin."""
    items = [item for item in _SEPARATOR.split(value or "") if item]
    if not items:
        return (ANY_ORIGIN,)
    return tuple(dict.fromkeys(normalise_origin(item) for item in items))


def configured_origins() -> tuple[str, ...]:
    """The allowed origins from the environment, read when a server starts."""
    return parse_origins(os.environ.get(ORIGINS_VARIABLE))


def origin_allowed(origin: str, allowed: tuple[str, ...]) -> bool:
    """Whether a browser's `Origin` header is one of the allowed origins."""
    if ANY_ORIGIN in allowed:
        return True
    try:
        return normalise_origin(origin) in allowed
    except InvalidOriginError:
        return False  # "null" (sandboxed iframes, file://) and junk
