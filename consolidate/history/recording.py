"""A run and its history: the figures it records, and what it reads back (the previous period, the trends).

The figures recorded are exactly the merged workbook's: a figure whose cell has an error is
stored as rejected, with the code of that error, and counts for nothing there, as it counts
for nothing in the workbook's totals; every other figure is accepted.
"""

from __future__ import annotations

import datetime as dt
from importlib import metadata
from pathlib import Path
from typing import Callable

from ..core import problems as P
from ..core.consolidation import aggregate
from ..core.cycles import no_cycle_collection
from ..core.observations import ACCEPTED, REJECTED, Observation, field_code
from ..core.periods import period_key, report_period
from ..core.records import Record, Source
from ..core.results import REPORTED, HistoryView, RunResult
from ..core.template import FORM2, FORM2_INDICATORS
from .store import HistoryStore, NoHistoryYet, open_store, store_label


def tool_version() -> str:
    try:
        return metadata.version("consolidate")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "0+unknown"


def observations_of(result: RunResult, period: str, run_time: str, version: str) -> list[Observation]:
    """Every figure the run merged, as the history keeps it: accepted, or rejected with its error's code."""
    c = result.consolidated
    names = {u.code: u.name for u in c.units}
    sha = {sub.name: sub.sha256 for sub in result.submissions}
    errors = c.errors
    new = tuple.__new__
    found = []

    def add(code: str, rec: Record) -> None:
        file, sheet, cell = rec.source
        if rec.source in errors:
            status = REJECTED
            problem = next(p.code for p in c.flags[rec.source] if p.severity == P.ERROR)
        else:
            status, problem = ACCEPTED, ""
        found.append(new(Observation, (period, code, names.get(code, rec.unit), rec.form, rec.item, rec.field,
                                       rec.value, status, problem, file, sheet, cell, sha.get(file, ""),
                                       run_time, version)))

    for code, fields in c.form1.items():
        for rec in fields.values():
            add(code, rec)
    for code, items in c.form2.items():
        for rates in items.values():
            for rec in rates.values():
                add(code, rec)
    return found


def prepare_recording(result: RunResult, target: str | Path, now: dt.datetime | None = None) -> Callable[[], int]:
    """Open (and migrate) the store at ``target`` now, so that whatever is wrong with it is known before the
    outputs are written (HistoryError); the function that then stores the run's figures under its period
    and returns how many. The CLI calls that one while the other core finishes the merged workbook."""
    view = result.history or HistoryView(report_period(result.settings), store_label(target))
    result.history = view
    run_time = (now or dt.datetime.now(dt.timezone.utc)).isoformat(timespec="seconds")
    version = tool_version()
    read = [code for code, st in result.status.items() if st.state == REPORTED]
    district = {field_code(FORM2, ind.key, "after"): (agg.value, agg.count) for ind in FORM2_INDICATORS
                if (agg := result.consolidated.form2_means[ind.key]["after"]).value is not None}
    store = open_store(target)
    store.engine.dispose()  # no connection held open across the fork of the workbook's writer

    def record() -> int:
        with no_cycle_collection(), store:  # ~330,000 figures for a country, none in a cycle
            view.recorded = store.record(view.period, read, observations_of(result, view.period, run_time, version),
                                         run_time, version, district)
        return view.recorded

    return record


def record_run(result: RunResult, target: str | Path, now: dt.datetime | None = None) -> int:
    """Store the run's figures under its period in the store at ``target``; how many. HistoryError if it cannot."""
    return prepare_recording(result, target, now)()


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
