"""Shared by the history and export tests: a history store of each kind, an SQLite file or a fresh database
on the PostgreSQL server that .ci/run starts (CONSOLIDATE_TEST_POSTGRES: a role that may create databases)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

POSTGRES = os.environ.get("CONSOLIDATE_TEST_POSTGRES", "")
NO_POSTGRES = ("no PostgreSQL server: set CONSOLIDATE_TEST_POSTGRES to a URL whose role may create databases "
               "(.ci/run installs and starts one when it runs as root with apt-get)")
KINDS = ["sqlite", "postgresql"]


@contextmanager
def history_store(kind: str, folder: Path) -> Iterator[str]:
    """Where a history goes: an SQLite file (a space and Vietnamese letters in its path), or a database of its
    own on the PostgreSQL server, dropped afterwards. Skips, saying why, where there is no server."""
    if kind == "sqlite":
        yield str(folder / "lich su" / "lịch-sử.sqlite")
        return
    if not POSTGRES:
        pytest.skip(NO_POSTGRES)
    admin = sa.create_engine(sa.make_url(POSTGRES).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    name = f"consolidate_test_{secrets.token_hex(6)}"
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        pytest.skip(f"PostgreSQL at {sa.make_url(POSTGRES).render_as_string()} did not answer: {exc.orig}")
    try:
        yield sa.make_url(POSTGRES).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
