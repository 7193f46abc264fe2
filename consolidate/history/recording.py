"""A run and its history: the figures it records, and what it reads back (the previous period, the trends).

The figures recorded are exactly the merged workbook's: a figure left out of its totals (its
cell has an error, or it is tied by a broken rule such as Tổng số = its parts) is stored as
rejected, with the code of that error or rule, and counts for nothing there either; every
other figure is accepted.
"""

from __future__ import annotations

import datetime as dt
from importlib import metadata
from pathlib import Path
from typing import Callable, Iterable

from ..core.consolidation import aggregate
from ..core.cycles import no_cycle_collection
from ..core.observations import ACCEPTED, REJECTED, field_code
from ..core.periods import period_key, report_period
from ..core.records import Record, Source
from ..core.results import REPORTED, HistoryView, RunResult
from ..core.template import FORM2, FORM2_INDICATORS
from .address import NoHistoryYet, store_label
from .store import FigureRows, HistoryStore, open_store, stored_value


def tool_version() -> str:
    try:
        return metadata.version("consolidate")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "0+unknown"


def figure_rows(result: RunResult, period: str, run_time: str, version: str) -> FigureRows:
    """What ``HistoryStore.record`` stores for the run, built straight from its records in one pass: the
    units with figures, and the function giving the source rows (ids from the one it is given) and the
    figures' rows. The rows ``record`` would build from the run's ``Observation`` tuples, without the
    ~330,000 intermediate tuples of a country (the figure's unit, name, file, sheet, digest, run and
    version go to its source row once)."""
    c = result.consolidated
    names = {u.code: u.name for u in c.units}
    sha = {sub.name: sub.sha256 for sub in result.submissions}
    units = {code for code, fields in c.form1.items() if fields}
    units.update(code for code, items in c.form2.items() if any(items.values()))

    def build(first_id: int) -> tuple[list[tuple], list[tuple]]:
        excluded = c.excluded
        sources: dict[tuple, tuple] = {}  # (unit, file, sheet) → its source row
        elements: dict[tuple, str] = {}
        rows: list[tuple] = []
        append = rows.append

        def add(code: str, records: Iterable[Record]) -> None:
            last_file = last_sheet = ident = None
            for rec in records:  # ~330,000 for a country: plain tuple indexing
                where = rec[6]
                file, sheet, cell = where
                if file is not last_file or sheet is not last_sheet:  # a unit's figures: one or two sheets
                    src = sources.get((code, file, sheet))
                    if src is None:
                        src = sources[(code, file, sheet)] = (first_id + len(sources), period, code,
                                                              names.get(code, rec[1]), file, sheet, sha.get(file, ""),
                                                              run_time, version)
                    last_file, last_sheet, ident = file, sheet, src[0]
                key = (rec[0], rec[2], rec[3])
                element = elements.get(key)
                if element is None:
                    element = elements[key] = field_code(*key)
                value = rec[4]
                if value.__class__ is float or value is None:
                    number, text = value, None
                else:
                    number, text = stored_value(value)
                left_out = excluded.get(where)
                if left_out is not None:
                    append((period, code, element, REJECTED, number, text, left_out.code or None, cell, ident))
                else:
                    append((period, code, element, ACCEPTED, number, text, None, cell, ident))

        for code, fields in c.form1.items():
            add(code, fields.values())
        for code, items in c.form2.items():
            for rates in items.values():
                add(code, rates.values())
        return list(sources.values()), rows

    return FigureRows(units, build)


class Recording:
    """A run's figures on their way into the store, in two steps, so that the store holds only what the
    outputs show (issue 21): ``write()`` stores them in a transaction it leaves open (while the other
    core finishes the merged workbook), ``publish()`` commits it once the output set is in place, and
    ``discard()`` rolls it back when the set was refused (the previous outputs, and figures, stay)."""

    def __init__(self, store: HistoryStore, write: Callable[[], int]) -> None:
        self.store, self._write = store, write

    def write(self) -> int:
        """Store the figures, not yet committed; how many. HistoryError if the store refuses them."""
        with no_cycle_collection():  # ~330,000 figures for a country, none in a cycle
            return self._write()

    def publish(self) -> None:
        """Commit what ``write`` stored (nothing when it was not called); HistoryError if the store refuses."""
        try:
            self.store.publish()
        finally:
            self.store.close()

    def discard(self) -> None:
        """Roll back what ``write`` stored, and let the store go."""
        self.store.close()


def prepare_recording(result: RunResult, target: str | Path, now: dt.datetime | None = None) -> Recording:
    """Open (and migrate) the store at ``target`` now, so that whatever is wrong with it is known before the
    outputs are written (HistoryError); the ``Recording`` that then stores the run's figures under its period.
    The CLI writes them while the other core finishes the merged workbook, and commits them with the outputs."""
    view = result.history or HistoryView(report_period(result.settings), store_label(target))
    result.history = view
    run_time = (now or dt.datetime.now(dt.timezone.utc)).isoformat(timespec="seconds")
    version = tool_version()
    read = [code for code, st in result.status.items() if st.state == REPORTED]
    district = {field_code(FORM2, ind.key, "after"): (agg.value, agg.count) for ind in FORM2_INDICATORS
                if (agg := result.consolidated.form2_means[ind.key]["after"]).value is not None}
    store = open_store(target)
    store.engine.dispose()  # no connection held open across the fork of the workbook's writer

    def write() -> int:
        view.recorded = store.record(view.period, read, figure_rows(result, view.period, run_time, version),
                                     run_time, version, district, publish=False)
        return view.recorded

    return Recording(store, write)


def record_run(result: RunResult, target: str | Path, now: dt.datetime | None = None) -> int:
    """Store the run's figures under its period in the store at ``target``; how many. HistoryError if it cannot."""
    recording = prepare_recording(result, target, now)
    try:
        count = recording.write()
    except BaseException:
        recording.discard()
        raise
    recording.publish()
    return count


def read_past(target: str | Path, period: str) -> tuple[HistoryView, list[Record]]:
    """What the store holds before this run: the previous period's accepted figures (as records, for the
    "big change since last period" check) and the other periods' district values. An empty view when
    the store does not exist yet; HistoryError when it exists and cannot be read."""
    view = HistoryView(period, store_label(target))
    try:
        store = open_store(target, create=False)
    except NoHistoryYet:  # the first run: nothing to compare with, nothing wrong
        return view, []
    with no_cycle_collection(), store:  # the previous period: ~330,000 records for a country, none in a cycle
        return _past(store, view)


def _past(store: HistoryStore, view: HistoryView) -> tuple[HistoryView, list[Record]]:
    view.previous_period = store.previous_period(view.period)
    records = []
    if view.previous_period is not None:
        where, new = Source("", "", ""), tuple.__new__
        previous = view.previous
        for _, code, form, item, field, value in store.values(period=view.previous_period):
            previous[(code, form, item, field)] = value
            records.append(new(Record, (form, "", item, field, value, value, where, code)))
    # the district values each period's run recorded; computed from the figures only for periods stored without them
    stored = store.aggregates(exclude_period=view.period)
    missing = [p for p in store.periods() if p != view.period and p not in stored]
    pairs: dict[tuple[str, str], dict[str, list]] = {}  # (period, indicator) → unit → [after, weight]
    if missing:
        for period, code, _, item, field, value in store.values(form=FORM2, fields=("after", "weight_after"),
                                                                periods=missing):
            pairs.setdefault((period, item), {}).setdefault(code, [None, None])[field == "weight_after"] = value
    for ind in FORM2_INDICATORS:
        element = field_code(FORM2, ind.key, "after")
        series = [(period, values[element]) for period, values in stored.items() if element in values]
        for (period, item), units in pairs.items():
            if item == ind.key:
                agg = aggregate([(after, weight) for after, weight in units.values() if after is not None])
                if agg.value is not None:
                    series.append((period, agg.value))
        view.trends[ind.key] = sorted(series, key=lambda pv: period_key(pv[0]))
    return view, records


def add_current(view: HistoryView, result: RunResult) -> None:
    """This run's district value of each indicator, as the last point of its trend."""
    for ind in FORM2_INDICATORS:
        agg = result.consolidated.form2_means[ind.key]["after"]
        series = [pv for pv in view.trends.get(ind.key, []) if pv[0] != view.period]
        if agg.value is not None:
            series.append((view.period, agg.value))
        view.trends[ind.key] = sorted(series, key=lambda pv: period_key(pv[0]))
