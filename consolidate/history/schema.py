"""The history's tables, and the steps that bring an older store up to them (the schema carries its version).

Each step is one function run in its own transaction, and the ``schema_version`` table
records the last one applied, so a store written by an older version of the tool is
brought forward on open and one written by a newer version is refused (not half-read).
To change the schema: describe the new shape in the current tables below, append a
step that turns version N into N + 1, and never edit a step already released.

The keys follow DHIS2's data values: data element (``data_element`` = observations'
``field_code``), period, org unit (``org_unit`` = the unit's code), value. ``status`` is part
of the key: an accepted figure and a rejected one of the same cell are two rows, never one
row with a flag, so no query can mix them up by forgetting a filter.
"""

from __future__ import annotations

from typing import Callable

import sqlalchemy as sa

# The current shape, for queries. Migrations build their own copies (below), frozen as released.
metadata = sa.MetaData()


def _source_table(meta: sa.MetaData) -> sa.Table:
    """Where a unit's figures of one period came from: one row per (period, unit, file, sheet), so that the
    figures themselves carry a number, not the same five strings ~20 times over (a country's period is
    ~330,000 figures, read back in under a second)."""
    return sa.Table(
        "source", meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("period", sa.String(16), nullable=False),
        sa.Column("org_unit", sa.String(64), nullable=False),
        sa.Column("unit_name", sa.Text, nullable=False),
        sa.Column("file", sa.Text, nullable=False),
        sa.Column("sheet", sa.Text, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("run_time", sa.String(32), nullable=False),
        sa.Column("tool_version", sa.String(32), nullable=False),
        sa.Index("source_period_unit", "period", "org_unit"),
    )


def _observation_table(meta: sa.MetaData) -> sa.Table:
    return sa.Table(
        "observation", meta,
        sa.Column("period", sa.String(16), primary_key=True),
        sa.Column("org_unit", sa.String(64), primary_key=True),
        sa.Column("data_element", sa.String(128), primary_key=True),  # core.observations.field_code
        sa.Column("status", sa.String(16), primary_key=True),
        sa.Column("value_number", sa.Float(precision=53)),  # a figure (double precision on PostgreSQL too)
        sa.Column("value_text", sa.Text),  # the text a unit typed where a number belongs
        sa.Column("problem", sa.String(64)),  # the error that rejected it; NULL when accepted
        sa.Column("cell", sa.String(16), nullable=False),
        sa.Column("source", sa.Integer, nullable=False),  # source.id: unit name, file, sheet, digest, run
        sqlite_with_rowid=False,  # SQLite keeps the rows in key order: a period or a unit is read in one sweep
    )


source = _source_table(metadata)
observation = _observation_table(metadata)


def _period_table(meta: sa.MetaData) -> sa.Table:
    """One row per stored period: what ``periods()`` lists without scanning millions of figures."""
    return sa.Table(
        "period", meta,
        sa.Column("code", sa.String(16), primary_key=True),
        sa.Column("run_time", sa.String(32), nullable=False),  # the last run that recorded figures of this period
        sa.Column("tool_version", sa.String(32), nullable=False),
        sa.Column("units", sa.Integer, nullable=False),  # units with figures of this period
        sa.Column("accepted", sa.Integer, nullable=False),  # figures, by status, counted when recorded
        sa.Column("rejected", sa.Integer, nullable=False),
    )


period_table = _period_table(metadata)


def _aggregate_table(meta: sa.MetaData) -> sa.Table:
    """The district's own value of each indicator per period, as that period's last run computed it for
    Biểu mẫu 2: what the page's trends draw, without re-reading every unit's figures of every period."""
    return sa.Table(
        "aggregate", meta,
        sa.Column("period", sa.String(16), primary_key=True),
        sa.Column("data_element", sa.String(128), primary_key=True),
        sa.Column("value", sa.Float(precision=53), nullable=False),
        sa.Column("units", sa.Integer, nullable=False),  # how many units' figures it is over
    )


aggregate_table = _aggregate_table(metadata)

version_table = sa.Table("schema_version", metadata, sa.Column("version", sa.Integer, nullable=False))


# Migrations ---------------------------------------------------------------------------


def _v1(conn: sa.Connection) -> None:
    """Version 1 (the first release): the figures and their sources."""
    meta = sa.MetaData()
    _source_table(meta).create(conn)
    _observation_table(meta).create(conn)


def _v2(conn: sa.Connection) -> None:
    """Version 2: a table of stored periods, filled from the sources already there, so that listing the
    periods (and seeking a unit's figures period by period) never scans ten periods of a country; and the
    district values of each period (empty for the periods stored before: the trends compute those)."""
    _period_table(sa.MetaData()).create(conn)
    _aggregate_table(sa.MetaData()).create(conn)
    conn.execute(sa.text(
        "INSERT INTO period (code, run_time, tool_version, units, accepted, rejected) "
        "SELECT s.period, MAX(s.run_time), MAX(s.tool_version), COUNT(DISTINCT s.org_unit), "
        "(SELECT COUNT(*) FROM observation o WHERE o.period = s.period AND o.status = 'accepted'), "
        "(SELECT COUNT(*) FROM observation o WHERE o.period = s.period AND o.status = 'rejected') "
        "FROM source s GROUP BY s.period"))


MIGRATIONS: list[Callable[[sa.Connection], None]] = [_v1, _v2]  # step n brings version n - 1 to n
VERSION = len(MIGRATIONS)


class NewerSchema(Exception):
    """The store was written by a newer version of the tool; its ``version`` says which schema."""

    def __init__(self, version: int) -> None:
        super().__init__(version)
        self.version = version


def stored_version(conn: sa.Connection) -> int:
    """The schema version of the store on this connection, 0 for an empty database."""
    if not sa.inspect(conn).has_table("schema_version"):
        return 0
    return int(conn.execute(sa.select(sa.func.max(version_table.c.version))).scalar() or 0)


def migrate(engine: sa.Engine) -> int:
    """Bring the store up to ``VERSION``, one step per transaction; the version it had before.

    Several writers may open a new or older store at once: a district's server (its button) and
    a command-line run on one SQLite file, several districts on a province's PostgreSQL. Each step
    takes the writers' lock first (``lock_writers``) and checks the version again under it, so the
    second waits for the first's step and then skips it, instead of creating the tables twice
    ("table source already exists", issue 21). The first look takes no write lock: a store
    already current is read, never locked, and a read-only copy can still be read.
    """
    with engine.begin() as conn:
        lock_writers(conn, reading=True)
        found = stored_version(conn)
    if found > VERSION:
        raise NewerSchema(found)
    for number in range(found + 1, VERSION + 1):
        with engine.begin() as conn:
            lock_writers(conn)
            if stored_version(conn) >= number:  # another process got there first
                continue
            MIGRATIONS[number - 1](conn)
            if number == 1:
                sa.Table("schema_version", sa.MetaData(), sa.Column("version", sa.Integer, nullable=False)).create(conn)
                conn.execute(version_table.insert().values(version=1))
            else:
                conn.execute(version_table.update().values(version=number))
    return found


LOCK_KEY = 170_017  # any fixed number: the advisory lock of this tool's history (issue 17)


def lock_writers(conn: sa.Connection, reading: bool = False) -> None:
    """Serialise writers until the transaction ends; the first statement of its transaction.

    PostgreSQL: an advisory lock (a reader waits for a migration under way too). SQLite:
    ``BEGIN IMMEDIATE``, the file's write lock taken at once. Python's sqlite3 module opens a
    transaction only before an INSERT, UPDATE or DELETE, so without it a ``CREATE TABLE`` runs
    on its own and two first opens both create the tables; and a transaction that reads before
    it writes could not take the write lock while another holds it (SQLite's busy deadlock).
    ``reading``: the SQLite reader takes no lock (it sees what was committed).
    """
    if conn.dialect.name == "postgresql":
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(LOCK_KEY)))
    elif conn.dialect.name == "sqlite" and not reading:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
