"""The run, step by step: discover → read → match units → validate → consolidate.

Files are only read here; writing is left to the writers, so a caller (the
CLI, a test) gets the whole result before anything touches the disk.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from . import problems as P
from .consolidation import Consolidated, consolidate
from .reader import Record, Submission, read_submission
from .registry import Registry, ReportSettings, Unit, default_registry, default_settings
from .validate import validate_records

WORKBOOK_SUFFIXES = {".xlsx", ".xlsm"}


@dataclass
class InboxFile:
    path: Path
    name: str  # relative to the inbox, as the clerk sees it
    size: int
    mtime: float


@dataclass
class RunResult:
    registry: Registry
    settings: ReportSettings
    files: list[InboxFile]
    submissions: list[Submission]
    problems: list[P.Problem]
    consolidated: Consolidated
    used: dict[str, str] = field(default_factory=dict)  # unit code → file name used

    @property
    def errors(self) -> list[P.Problem]:
        return [p for p in self.problems if p.severity == P.ERROR]

    @property
    def warnings(self) -> list[P.Problem]:
        return [p for p in self.problems if p.severity == P.WARNING]


def discover(inbox: Path) -> list[InboxFile]:
    """Every file under the inbox, in a stable order."""
    files = []
    for path in sorted(p for p in inbox.rglob("*") if p.is_file()):
        st = path.stat()
        files.append(InboxFile(path, path.relative_to(inbox).as_posix(), st.st_size, st.st_mtime))
    return files


def _match_units(sub: Submission, registry: Registry) -> dict[str, Unit]:
    """Typed unit name → registry unit for this submission; unknown names become problems."""
    matched: dict[str, Unit] = {}
    for cell in sub.units:
        unit = registry.match(cell.name)
        if unit is None or unit not in registry.reporting_units():
            close = registry.closest(cell.name)
            suggestion = f" (có phải: {', '.join(close)}?)" if close else ""
            sub.problems.append(
                P.UnitUnknown(
                    file=sub.name, sheet=cell.source.sheet, cell=cell.source.cell,
                    unit=cell.name, name=cell.name, suggestion=suggestion,
                )
            )
            continue
        matched[cell.name] = unit
    return matched


def run(inbox: Path, registry: Registry | None = None, settings: ReportSettings | None = None) -> RunResult:
    registry = registry or default_registry()
    settings = settings or default_settings()
    problems: list[P.Problem] = []

    # Discover
    files = discover(inbox)
    workbooks = []
    for f in files:
        if f.path.suffix.lower() in WORKBOOK_SUFFIXES and not f.path.name.startswith(("~$", ".")):
            workbooks.append(f)
        else:
            problems.append(P.FileSkipped(file=f.name, name=f.name))

    # Read and match units
    submissions: list[Submission] = []
    candidates: dict[str, list[tuple[InboxFile, Submission, list[Record]]]] = {}
    for f in workbooks:
        sub = read_submission(f.path, f.name)
        submissions.append(sub)
        matched = _match_units(sub, registry)
        per_unit: dict[str, list[Record]] = {}
        for rec in sub.records:
            unit = matched.get(rec.unit)
            if unit is not None:
                per_unit.setdefault(unit.code, []).append(dataclasses.replace(rec, unit=unit.name))
        for code, recs in per_unit.items():
            candidates.setdefault(code, []).append((f, sub, recs))
        problems.extend(sub.problems)

    # One submission per unit: the newest file wins, the others are logged
    records: list[Record] = []
    used: dict[str, str] = {}
    for code, cands in candidates.items():
        cands.sort(key=lambda c: (c[0].mtime, c[0].name))
        winner = cands[-1]
        used[code] = winner[0].name
        records.extend(winner[2])
        for f, sub, recs in cands[:-1]:
            problems.append(
                P.Superseded(file=f.name, unit=recs[0].unit, name=recs[0].unit, used=winner[0].name, file_name=f.name)
            )

    # Validate (problems already on a cell, e.g. an unreadable formula, are not repeated)
    located = {(p.file, p.sheet, p.cell) for p in problems if p.cell}
    already = {rec.source for rec in records if (rec.source.file, rec.source.sheet, rec.source.cell) in located}
    problems.extend(validate_records(records, already))

    # Completeness, then the merged tables
    for unit in registry.reporting_units():
        if unit.code not in used:
            problems.append(P.UnitNotReported(unit=unit.name, name=unit.name))
    consolidated = consolidate(registry, records, problems)
    return RunResult(registry, settings, files, submissions, problems, consolidated, used)
