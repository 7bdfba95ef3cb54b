"""A throw-away PostgreSQL database on the local server (127.0.0.1:5432, trust auth)."""

from __future__ import annotations

import uuid
from contextlib import contextmanager
from typing import Iterator

import sqlalchemy as sa

HOST = "127.0.0.1:5432"
USERS = ("postgres", "root")


def _admin_engine() -> sa.engine.Engine:
    errors = []
    for user in USERS:
        engine = sa.create_engine(f"postgresql://{user}@{HOST}/test", isolation_level="AUTOCOMMIT")
        try:
            with engine.connect():
                return engine
        except sa.exc.OperationalError as error:
            errors.append(f"{user}: {error.orig}")
            engine.dispose()
    raise RuntimeError(f"PostgreSQL at {HOST} is not reachable: {errors}")


@contextmanager
def temporary_database() -> Iterator[str]:
    """Creates an empty database, yields its URL, drops it afterwards."""
    admin = _admin_engine()
    name = f"whatsapp_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"
                ),
                {"name": name},
            )
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()
