"""Passwords (argon2id), session and CSRF tokens, and the sign-in rate limit. Pure logic."""

from __future__ import annotations

import hmac
import secrets
import string
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Callable, Deque

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
# a real hash to verify against when the user does not exist: same time either way
_DUMMY_HASH = _hasher.hash("not-a-password-" + secrets.token_hex(8))
MIN_PASSWORD_LENGTH = 10
USERNAME_CHARACTERS = frozenset(string.ascii_lowercase + string.digits + "._-")


class WeakPasswordError(ValueError):
    """The password is shorter than MIN_PASSWORD_LENGTH."""


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPasswordError(f"at least {MIN_PASSWORD_LENGTH} characters")
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def valid_username(username: object) -> bool:
    return (
        isinstance(username, str)
        and 1 <= len(username) <= 64
        and set(username) <= USERNAME_CHARACTERS
    )


def new_token() -> str:
    return secrets.token_urlsafe(32)


def one_time_password() -> str:
    return secrets.token_urlsafe(12)


def same_token(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode(), (given or "").encode())


@dataclass
class LoginRateLimit:
    """At most `attempts` failed sign-ins per `window` seconds per user name, and
    `address_attempts` per client address (a team behind one office NAT shares an address).
    Counted in this process: one console process per clinic."""

    attempts: int = 5
    address_attempts: int = 20
    window: float = 300.0
    clock: Callable[[], float] = time.monotonic
    _failures: dict[str, Deque[float]] = field(default_factory=lambda: defaultdict(deque))

    def _recent(self, key: str) -> Deque[float]:
        failures = self._failures[key]
        while failures and failures[0] < self.clock() - self.window:
            failures.popleft()
        if not failures:  # no memory kept for names and addresses that stopped failing
            del self._failures[key]
            return self._failures[key]
        return failures

    def blocked(self, username: str, address: str) -> bool:
        return (
            len(self._recent(f"u:{username}")) >= self.attempts
            or len(self._recent(f"a:{address}")) >= self.address_attempts
        )

    def failed(self, username: str, address: str) -> None:
        for key in (f"u:{username}", f"a:{address}"):
            self._recent(key).append(self.clock())

    def succeeded(self, username: str) -> None:
        self._failures.pop(f"u:{username}", None)
