"""The history store: every period's figures in one database, SQLite beside the outputs or a province's PostgreSQL.

One code path (SQLAlchemy Core) serves both. Recording a period replaces that period's
figures for the units the run read, in one transaction: a re-run leaves no duplicates, and
the other units and periods are untouched. What cannot be opened or written is a
``HistoryError`` with a Vietnamese reason, which the run turns into one line of its log
(``address``: how the store is reached and named, and those reasons).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable, Iterator, NamedTuple

import sqlalchemy as sa

from ..core.cycles import no_cycle_collection
from ..core.formats import HISTORY_NAME
from ..core.observations import ACCEPTED, REJECTED, HistoryError, Observation, field_code
from ..core.periods import period_key, previous_period
from .address import db_reason, engine_for, store_label
from .schema import NewerSchema, aggregate_table, lock_writers, migrate, observation, period_table, source

STORE_NAME = HISTORY_NAME  # the default store, beside the outputs; no run ever deletes it
_DELETE_CHUNK = 500  # unit codes per DELETE … IN (…): well under every driver's parameter limit


def open_store(url: str | Path, create: bool = True) -> HistoryStore:
    """The store at a path (an SQLite file) or a URL (``sqlite:///…``, ``postgresql://…``), migrated
    forward; ``create=False`` refuses a file that does not exist yet (reading an empty history says nothing)."""
    label = store_label(url)
    engine = engine_for(url, create)
    try:
        migrate(engine)
    except (sa.exc.SQLAlchemyError, NewerSchema, OSError) as exc:
        engine.dispose()
        raise HistoryError(label, db_reason(exc, engine.dialect.name == "sqlite")) from None
    return HistoryStore(engine, label)


def _insert_many(conn: sa.Connection, table: sa.Table, rows: list[tuple]) -> None:
    """Insert rows (tuples in the table's column order): PostgreSQL's COPY, else one driver-level
    executemany of Core's own INSERT.

    ``conn.execute(table.insert(), dicts)`` builds each row's parameters in Python: for a country's
    ~330,000 figures that took as long again as SQLite's own insert. The statement is still compiled
    by SQLAlchemy for the dialect; only the rows go to the driver as they are (tuples for a
    positional paramstyle, SQLite's ``?``; dicts for a named one).
    """
    if conn.dialect.driver == "psycopg":
        _copy_rows(conn, table, rows)
        return
    columns = [c.name for c in table.columns]
    compiled = table.insert().compile(dialect=conn.dialect)
    if conn.dialect.positional:
        order = [columns.index(name) for name in compiled.positiontup]
        params: list = rows if order == list(range(len(columns))) else [tuple(r[i] for i in order) for r in rows]
    else:
        params = [dict(zip(columns, r)) for r in rows]
    conn.exec_driver_sql(str(compiled), params)


def _copy_rows(conn: sa.Connection, table: sa.Table, rows: list[tuple]) -> None:
    """``COPY table (columns) FROM STDIN`` through psycopg's own connection, inside the transaction of
    ``conn``: a country's period in a fraction of executemany's time (9.7 s with named parameters). The
    values are adapted as psycopg adapts a query's parameters, so what is stored is the same. A driver
    error becomes SQLAlchemy's (``DBAPIError``), as it would from ``conn.execute``."""
    quote = conn.dialect.identifier_preparer
    statement = (f"COPY {quote.format_table(table)} ({', '.join(quote.quote(c.name) for c in table.columns)}) "
                 "FROM STDIN")
    dbapi = conn.dialect.loaded_dbapi
    try:
        with conn.connection.driver_connection.cursor() as cursor, cursor.copy(statement) as copy:
            write = copy.write_row
            for row in rows:
                write(row)
    except dbapi.Error as exc:
        raise sa.exc.DBAPIError.instance(statement, None, exc, dbapi.Error) from None


def driver_rows(conn: sa.Connection, query: sa.Select) -> list[tuple]:
    """A query's rows as the driver returns them (plain tuples): SQLAlchemy compiles the statement for the
    dialect, but a country's ~330,000 rows skip the Row objects (a third of the time to read a period).
    Only for columns whose driver values need no conversion (text, integers, double precision)."""
    compiled = query.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    params = compiled.params
    if conn.dialect.positional:
        return conn.exec_driver_sql(str(compiled), tuple(params[name] for name in compiled.positiontup)).cursor.fetchall()
    return conn.exec_driver_sql(str(compiled), params).cursor.fetchall()


def _in_stored_periods() -> sa.ColumnElement[bool]:
    """``period IN (the stored periods)``: with it a unit's figures are a few seeks on the primary key
    (period, unit, …), one per period, without an index of their own."""
    return observation.c.period.in_(sa.select(period_table.c.code))


def _parts(code: str) -> tuple[str, str, str]:
    """(form, item, field) of a data element: the inverse of core.observations.field_code."""
    form, _, rest = code.partition(".")
    item, _, field = rest.rpartition(".")
    return form, item, field


def stored_value(value: object) -> tuple[float | None, str | None]:
    """(value_number, value_text) of a figure: a number (an int too, not a bool), else its text; None for a blank."""
    if value.__class__ is float or value is None:
        return value, None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value), None
    return None, str(value)


def observation_rows(period: str, observations: list[Observation], first_id: int) -> tuple[list[tuple], list[tuple]]:
    """The source rows (ids from ``first_id``) and the figures' rows of ``observations``, as ``FigureRows.build`` gives them."""
    sources: dict[tuple, tuple] = {}  # (unit, file, sheet) → its source row; one run, one name and digest a file
    elements: dict[tuple, str] = {}
    rows = []
    append = rows.append
    for o in observations:  # ~330,000 for a country: plain tuple indexing, no per-row helper calls
        key = (o[1], o[9], o[10])
        src = sources.get(key)
        if src is None:
            src = sources[key] = (first_id + len(sources), period, o[1], o[2], o[9], o[10], o[12], o[13], o[14])
        element = elements.get(o[3:6])
        if element is None:
            element = elements[o[3:6]] = field_code(o[3], o[4], o[5])
        value = o[6]
        if value.__class__ is float or value is None:
            number, text = value, None
        else:
            number, text = stored_value(value)
        append((period, o[1], element, o[7], number, text, o[8] or None, o[11], src[0]))
    return list(sources.values()), rows


class FigureRows(NamedTuple):
    """A run's figures as the tables' rows, built by the caller in one pass over its own records (the run's
    recording: no ``Observation`` in between): ``build(first id)``, called inside the recording transaction,
    gives the source rows, numbered from that id, and the figures' rows, in the column order of
    ``schema.source`` and ``schema.observation``; ``units`` are the units in them."""

    units: set[str]
    build: Callable[[int], tuple[list[tuple], list[tuple]]]


class HistoryStore:
    """Every stored period's figures: recorded by runs, read back by the run (previous period,
    trends), the ``history`` command and the exports."""

    def __init__(self, engine: sa.Engine, label: str) -> None:
        self.engine, self.label = engine, label
        self.local = engine.dialect.name == "sqlite"  # a file: what fails is never a server
        self._pending: tuple[sa.Connection, sa.RootTransaction] | None = None  # record(publish=False)'s

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the connections (on Windows an SQLite file stays locked while one is open), rolling
        back figures recorded and not published."""
        self.discard()
        self.engine.dispose()

    # Writing -------------------------------------------------------------------------

    def record(self, period: str, units: Iterable[str], observations: Iterable[Observation] | FigureRows,
               run_time: str, tool_version: str, aggregates: dict[str, tuple[float, int]] | None = None,
               publish: bool = True) -> int:
        """Replace ``period``'s figures of ``units`` (the units the run read) by ``observations``, in one
        transaction; the number of figures stored. Other units and periods keep theirs. ``aggregates``
        (data element → the district's value and how many units it is over) replace the period's.
        ``observations`` may also be ``FigureRows``: the figures already as the tables' rows.
        ``publish=False`` leaves the transaction open, holding the writers' lock: ``publish()`` commits
        it, ``close()`` without that rolls it back (a run keeps its figures only if its outputs land)."""
        if isinstance(observations, FigureRows):
            units, rows_of = set(units) | observations.units, observations.build
        else:
            found = list(observations)
            units = set(units) | {o.unit_code for o in found}
            rows_of = lambda first_id: observation_rows(period, found, first_id)  # noqa: E731
        codes = sorted(units)
        self.discard()
        conn = self.engine.connect()
        try:
            transaction = conn.begin()
            lock_writers(conn)  # also makes the ids below this writer's alone
            for start in range(0, len(codes), _DELETE_CHUNK):
                chunk = codes[start:start + _DELETE_CHUNK]
                conn.execute(observation.delete().where(observation.c.period == period, observation.c.org_unit.in_(chunk)))
                conn.execute(source.delete().where(source.c.period == period, source.c.org_unit.in_(chunk)))
            next_id = int(conn.execute(sa.select(sa.func.max(source.c.id))).scalar() or 0) + 1
            sources, rows = rows_of(next_id)
            if rows:
                _insert_many(conn, source, sources)
                _insert_many(conn, observation, rows)
                c = observation.c
                counts = dict(conn.execute(sa.select(c.status, sa.func.count()).where(c.period == period)
                                           .group_by(c.status)).all())
                units_now = conn.execute(sa.select(sa.func.count(sa.distinct(source.c.org_unit)))
                                         .where(source.c.period == period)).scalar()
                conn.execute(period_table.delete().where(period_table.c.code == period))
                conn.execute(period_table.insert().values(
                    code=period, run_time=run_time, tool_version=tool_version, units=units_now,
                    accepted=counts.get(ACCEPTED, 0), rejected=counts.get(REJECTED, 0)))
            if aggregates is not None:
                conn.execute(aggregate_table.delete().where(aggregate_table.c.period == period))
                if aggregates:
                    _insert_many(conn, aggregate_table, [(period, element, float(value), int(count))
                                                         for element, (value, count) in aggregates.items()])
        except BaseException as exc:
            conn.close()  # rolls the transaction back
            if isinstance(exc, sa.exc.SQLAlchemyError):
                raise HistoryError(self.label, db_reason(exc, self.local)) from None
            raise
        self._pending = (conn, transaction)
        if publish:
            self.publish()
        return len(rows)

    def publish(self) -> None:
        """Commit what ``record(publish=False)`` stored (nothing to do otherwise); HistoryError if refused."""
        if self._pending is None:
            return
        conn, transaction = self._pending
        self._pending = None
        try:
            transaction.commit()
        except sa.exc.SQLAlchemyError as exc:
            raise HistoryError(self.label, db_reason(exc, self.local)) from None
        finally:
            conn.close()

    def discard(self) -> None:
        """Roll back what ``record(publish=False)`` stored and did not publish (nothing to do otherwise)."""
        if self._pending is None:
            return
        conn, _ = self._pending
        self._pending = None
        try:
            conn.close()  # rolls the transaction back
        except sa.exc.SQLAlchemyError:
            pass  # a connection lost meanwhile: the server rolled it back itself

    # Reading -------------------------------------------------------------------------

    def periods(self) -> list[str]:
        """The stored periods, oldest first (2024 before 2024S1 before 2024Q3 before 202408)."""
        rows = self._read(sa.select(period_table.c.code))
        return sorted((r[0] for r in rows), key=period_key)

    def previous_period(self, period: str) -> str | None:
        """The stored period that ``period``'s figures are compared with (core.periods.previous_period)."""
        return previous_period(period, self.periods())

    def observations(self, period: str | None = None, unit: str | None = None,
                     status: str | None = None) -> list[Observation]:
        """The stored figures, by period (oldest first), unit and field; None = all."""
        if status not in (None, ACCEPTED, REJECTED):
            raise ValueError(f"status must be {ACCEPTED!r}, {REJECTED!r} or None, not {status!r}")
        c, s = observation.c, source.c
        # the unit and the period come with the source row: fewer strings for the driver to decode per figure
        query = sa.select(c.data_element, c.value_number, c.value_text, c.status, c.problem, c.cell, c.source)
        sources = sa.select(s.id, s.period, s.org_unit, s.unit_name, s.file, s.sheet, s.sha256, s.run_time, s.tool_version)
        if period is not None:
            query, sources = query.where(c.period == period), sources.where(s.period == period)
        if unit is not None:
            query, sources = query.where(_in_stored_periods(), c.org_unit == unit), sources.where(s.org_unit == unit)
        if status is not None:
            query = query.where(c.status == status)
        query = query.order_by(c.period, c.org_unit, c.data_element, c.status)
        with no_cycle_collection():  # ~330,000 tuples, none in a cycle: the collector took 60 % of the time
            try:
                with self.engine.connect() as conn:
                    where = {ident: rest for ident, *rest in driver_rows(conn, sources)}
                    rows = driver_rows(conn, query)
            except sa.exc.SQLAlchemyError as exc:
                raise HistoryError(self.label, db_reason(exc, self.local)) from None
            parts = {element: _parts(element) for element in {r[0] for r in rows}}
            new = tuple.__new__  # no per-row Python constructor, one comprehension
            found = [new(Observation, (p, code, name, form, item, field, text if number is None else number, status_,
                                       problem or "", file, sheet, cell, sha, run_time, version))
                     for element, number, text, status_, problem, cell, ident in rows
                     for p, code, name, file, sheet, sha, run_time, version in (where[ident],)
                     for form, item, field in (parts[element],)]
        if period is None and found and found[0].period != found[-1].period:
            found.sort(key=lambda o: period_key(o.period))  # stable: within a period the SQL order stays
        return found

    def series(self, unit: str) -> list[Observation]:
        """One unit's accepted figures over every stored period, oldest first."""
        return self.observations(unit=unit, status=ACCEPTED)

    def units(self) -> list[tuple[str, str, list[str]]]:
        """Each stored unit: its code, its latest name, and the periods it has figures for (oldest first)."""
        s = source.c
        rows = self._read(sa.select(s.org_unit, s.period, sa.func.max(s.unit_name)).group_by(s.org_unit, s.period))
        by_unit: dict[str, tuple[str, list[str]]] = {}
        for code, period, name in rows:
            by_unit.setdefault(code, (name, []))[1].append(period)
        return [(code, name, sorted(periods, key=period_key)) for code, (name, periods) in sorted(by_unit.items())]

    def period_counts(self) -> list[dict]:
        """Each stored period with its units, accepted and rejected figures, and the last run that recorded it."""
        t = period_table.c
        rows = {r[0]: r for r in self._read(sa.select(t.code, t.units, t.accepted, t.rejected, t.run_time))}
        return [{"period": p, "units": rows[p][1], "accepted": rows[p][2], "rejected": rows[p][3], "run_time": rows[p][4]}
                for p in sorted(rows, key=period_key)]

    def values(self, period: str | None = None, form: str | None = None, fields: Iterable[str] | None = None,
               exclude_period: str | None = None, periods: Iterable[str] | None = None) -> list[tuple]:
        """(period, unit code, form, item, field, value) of the accepted numeric figures, nothing else: what the
        run compares with (the previous period) and draws (the district value over the periods), cheaper
        to read than whole observations."""
        c = observation.c
        query = sa.select(c.period, c.org_unit, c.data_element, c.value_number).where(
            c.status == ACCEPTED, c.value_number.is_not(None))
        if period is not None:
            query = query.where(c.period == period)
        if form is not None:
            query = query.where(c.data_element.startswith(form + "."))
        if periods is not None:
            query = query.where(c.period.in_(list(periods)))
        if exclude_period is not None:
            query = query.where(c.period != exclude_period)
        wanted = None if fields is None else set(fields)
        parts: dict[str, tuple[str, str, str]] = {}
        found = []
        for p, code, element, value in self._read(query):
            form_item_field = parts.get(element) or parts.setdefault(element, _parts(element))
            if wanted is None or form_item_field[2] in wanted:
                found.append((p, code, *form_item_field, value))
        return found

    def aggregates(self, exclude_period: str | None = None) -> dict[str, dict[str, float]]:
        """period → data element → the district value its last run recorded."""
        a = aggregate_table.c
        query = sa.select(a.period, a.data_element, a.value)
        if exclude_period is not None:
            query = query.where(a.period != exclude_period)
        found: dict[str, dict[str, float]] = {}
        for period, element, value in self._read(query):
            found.setdefault(period, {})[element] = value
        return found

    def _read(self, query: sa.Executable) -> Iterator[tuple]:
        try:
            with self.engine.connect() as conn:
                return iter(driver_rows(conn, query))
        except sa.exc.SQLAlchemyError as exc:
            raise HistoryError(self.label, db_reason(exc, self.local)) from None
