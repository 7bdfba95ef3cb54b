"""The action server: rasa_sdk's app, never open (`python -m actions.server --port 5055`).

- Every call to `/webhook` and `/actions` needs the shared token `ACTION_SERVER_TOKEN`, as
  Rasa sends it (`action_endpoint: token:` becomes the query parameter `?token=`); without
  it: 401. `/health` stays open for probes. Without a token configured it does not start.
- Binds to `ACTION_SERVER_HOST` (default 127.0.0.1, loopback).
- Bodies up to `ACTION_SERVER_MAX_BODY_BYTES` (default 20 MB: a tracker with its events),
  requests that do not arrive within `ACTION_SERVER_REQUEST_TIMEOUT` seconds (default 30)
  are dropped; errors answer a short JSON body, never the exception or the request.
"""

from __future__ import annotations

import argparse
import hmac
import logging
import os
import sys
from typing import Optional, Sequence

from rasa_sdk.endpoint import create_app
from sanic import Sanic, response
from sanic.exceptions import SanicException
from sanic.request import Request
from sanic.response import HTTPResponse

logger = logging.getLogger(__name__)

TOKEN_VARIABLE = "ACTION_SERVER_TOKEN"
OPEN_PATHS = frozenset({"/health"})
DEFAULT_MAX_BODY_BYTES = 20 * 1024 * 1024
DEFAULT_REQUEST_TIMEOUT = 30.0


def token_matches(given: Optional[str], token: str) -> bool:
    return bool(given) and hmac.compare_digest(str(given).encode(), token.encode())


def action_app(token: str, package: str = "actions") -> Sanic:
    """rasa_sdk's Sanic app with the token check and plain error bodies."""
    if not token:
        raise ValueError(f"{TOKEN_VARIABLE} is empty")
    app = create_app(package, cors_origins=[])

    @app.middleware("request")
    async def require_token(request: Request) -> Optional[HTTPResponse]:
        if request.path in OPEN_PATHS:
            return None
        if not token_matches(request.args.get("token"), token):
            return response.json({"error": "unauthorized"}, status=401)
        return None

    async def plain_errors(request: Request, exception: Exception) -> HTTPResponse:
        if isinstance(exception, SanicException) and exception.status_code < 500:
            return response.json({"error": str(exception)}, status=exception.status_code)
        logger.error("Action call failed: %s", type(exception).__name__)
        logger.debug("Action call failed.", exc_info=exception)
        return response.json({"error": "the action failed"}, status=500)

    app.error_handler.add(Exception, plain_errors)  # replaces rasa_sdk's echoing handler
    app.config.REQUEST_MAX_SIZE = _int("ACTION_SERVER_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES)
    app.config.REQUEST_TIMEOUT = float(
        os.environ.get("ACTION_SERVER_REQUEST_TIMEOUT") or DEFAULT_REQUEST_TIMEOUT
    )
    return app


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value and value.isdigit() else default


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="actions.server")
    parser.add_argument("--port", type=int, default=5055)
    parser.add_argument("--actions", default="actions")
    args = parser.parse_args(argv)
    token = os.environ.get(TOKEN_VARIABLE, "")
    if not token:
        print(f"{TOKEN_VARIABLE} is not set: the action server never runs open.", file=sys.stderr)
        return 2
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"))
    host = os.environ.get("ACTION_SERVER_HOST") or "127.0.0.1"
    app = action_app(token, args.actions)
    logger.info("Action server on %s:%d (token required).", host, args.port)
    app.run(host, args.port, workers=1, access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
