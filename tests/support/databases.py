"""Real databases for tests: a SQLite file and a throw-away schema in the local PostgreSQL."""

from __future__ import annotations

import uuid
from typing import Iterator

from sqlalchemy import create_engine, text

POSTGRES_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/test"


def postgres_schema_url() -> Iterator[str]:
    """A fresh schema in the real PostgreSQL, dropped afterwards."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = create_engine(POSTGRES_URL, future=True)
    with engine.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()
