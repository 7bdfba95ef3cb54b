"""`python -m bot.coordinator serve` runs the console; `users add|disable|enable|reset|list`
manage its users from the terminal; `bootstrap` creates the first admin (used by make run)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import Sequence

from aiohttp import web

from bot.coordinator import auth
from bot.coordinator.config import UI_LANGUAGES, ConfigError, Settings
from bot.coordinator.store import ROLES, ConsoleStore


def _store() -> ConsoleStore:
    return ConsoleStore(Settings.from_environment().db_url)


def bootstrap_admin(store: ConsoleStore) -> str | None:
    """The first admin: from CONSOLE_ADMIN_USER/PASSWORD when set and absent; with no user
    at all, `admin` with a one-time password that is returned (to print once)."""
    username = (os.environ.get("CONSOLE_ADMIN_USER") or "").strip().lower()
    password = os.environ.get("CONSOLE_ADMIN_PASSWORD") or ""
    if username and password:
        if store.user(username) is None:
            store.add_user(username, username, auth.hash_password(password), "admin")
            store.audit(None, "user_add", target=username, role="admin", source="environment")
        return None
    if store.count_users() == 0:
        one_time = auth.one_time_password()
        store.add_user(
            username or "admin",
            username or "admin",
            auth.hash_password(one_time),
            "admin",
            must_change_password=True,
        )
        store.audit(
            None, "user_add", target=username or "admin", role="admin", source="first_start"
        )
        return one_time
    return None


def users_command(args: argparse.Namespace) -> int:
    store = _store()
    args.username = (args.username or "").strip().lower()
    if args.action == "list":
        for user in store.users():
            state = "active" if user.active else "disabled"
            print(f"{user.username}\t{user.role}\t{user.language}\t{state}\t{user.display_name}")
        return 0
    if not args.username or not auth.valid_username(args.username):
        print("a user name (a-z, 0-9, . _ -) is required", file=sys.stderr)
        return 2
    if args.action == "add":
        password = auth.one_time_password()
        try:
            store.add_user(
                args.username,
                args.name or args.username,
                auth.hash_password(password),
                args.role,
                args.language,
                must_change_password=True,
            )
        except KeyError:
            print(f"{args.username} exists already", file=sys.stderr)
            return 1
        store.audit(None, "user_add", target=args.username, role=args.role, source="cli")
        print(f"{args.username} added; one-time password (change at first sign-in): {password}")
        return 0
    if store.user(args.username) is None:
        print(f"no user {args.username}", file=sys.stderr)
        return 1
    if args.action in ("disable", "enable"):
        store.update_user(args.username, active=args.action == "enable")
        store.audit(None, f"user_{args.action}", target=args.username, source="cli")
        print(f"{args.username} {args.action}d")
        return 0
    password = auth.one_time_password()
    store.update_user(
        args.username, password_hash=auth.hash_password(password), must_change_password=True
    )
    store.audit(None, "user_reset", target=args.username, source="cli")
    print(f"{args.username}: new one-time password (change at first sign-in): {password}")
    return 0


def serve() -> int:
    from bot.coordinator.app import create_app

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)  # paths carry patient ids
    try:
        settings = Settings.from_environment()
    except ConfigError as error:
        print(f"coordinator console: {error}", file=sys.stderr)
        return 2
    one_time = bootstrap_admin(ConsoleStore(settings.db_url))
    if one_time:
        print(f"Console admin 'admin', one-time password: {one_time}", flush=True)
    web.run_app(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        access_log=None,
        print=None,
        shutdown_timeout=5,
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.coordinator")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="run the console (COORDINATOR_HOST:COORDINATOR_PORT)")
    commands.add_parser("bootstrap", help="create the first admin if there is none")
    users = commands.add_parser("users", help="manage console users")
    users.add_argument("action", choices=["add", "disable", "enable", "reset", "list"])
    users.add_argument("username", nargs="?")
    users.add_argument("--role", choices=ROLES, default="coordinator")
    users.add_argument("--language", choices=UI_LANGUAGES, default="en")
    users.add_argument("--name", help="the name patients see (default: the user name)")
    args = parser.parse_args(argv)
    if args.command == "serve":
        return serve()
    if args.command == "bootstrap":
        one_time = bootstrap_admin(_store())
        if one_time:
            print(f"Console admin 'admin', one-time password: {one_time}")
        return 0
    return users_command(args)


if __name__ == "__main__":
    sys.exit(main())
