"""The run in numbers, for the terminal and for scripts (``--json``)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from . import problems as P
from .results import MISSING, REPORTED, UNUSABLE, RunResult


def summarize(result: RunResult, outputs: dict[str, Path]) -> dict:
    """Plain data only (str, int, list, dict), so it serialises as JSON as it is."""
    names = {state: [result.registry_name(c) for c, s in result.status.items() if s.state == state]
             for state in (REPORTED, MISSING, UNUSABLE)}
    for state in (MISSING, UNUSABLE):
        names[state] = _by_district(result, state)
    by_code = Counter((p.code, p.severity) for p in result.problems)
    districts = _districts(result)
    return {
        "files": len(result.files),
        "files_read": len(result.submissions),
        "units_expected": len(result.status),
        "units_reported": len(names[REPORTED]),  # units, not districts: the count out of units_expected
        "units_missing": names[MISSING],
        "units_unusable": names[UNUSABLE],
        # a province over districts: how many districts' workbooks brought figures; None in a district's own run
        "districts_expected": None if districts is None else len(districts),
        "districts_reported": None if districts is None else sum(districts.values()),
        "districts_missing": None if districts is None else [name for name, sent in districts.items() if not sent],
        "errors": len(result.errors),
        "warnings": len(result.warnings),
        "notes": len(result.notes),
        "by_code": [
            {"code": code, "severity": severity, "label": P.SEVERITY_LABELS[severity], "count": n}
            for (code, severity), n in sorted(by_code.items(), key=lambda kv: (-_rank(kv[0][1]), kv[0][0]))
        ],
        "outputs": {kind: str(path) for kind, path in outputs.items()},
        "history": None if result.history is None else {
            "period": result.history.period, "store": result.history.store, "recorded": result.history.recorded,
            "previous_period": result.history.previous_period},
        "problems": [p.as_row() for p in result.problems],
    }


def _by_district(result: RunResult, state: str) -> list[str]:
    """The units in ``state``, a district whose every unit is in it named once as the district.

    A province deals with districts: when a district's merged workbook is missing, the province clerk
    chases the district, not its thirteen communes (as the log's one "group-not-reported" entry says).
    """
    codes = {c for c, s in result.status.items() if s.state == state}
    names: list[str] = []
    for group, members in result.registry.groups():
        if group is not None and all(u.code in codes for u in members):
            names.append(group.name)
        else:
            names.extend(u.name for u in members if u.code in codes)
    return names


def _districts(result: RunResult) -> dict[str, bool] | None:
    """Each district of a province by name, and whether any of its units reported (its merged workbook came and
    was usable); None where the units hang straight under the root (a district, or a two-tier province)."""
    groups = [(group, members) for group, members in result.registry.groups() if group is not None]
    if not groups:
        return None
    return {group.name: any(result.status[u.code].state == REPORTED for u in members if u.code in result.status)
            for group, members in groups}


def _rank(severity: str) -> int:
    return {P.ERROR: 3, P.WARNING: 2, P.INFO: 1}[severity]
