"""What one file decides alone, where it was read: its units matched to the registry, its period checked.

Runs in the reading workers (read.pool's ``prepare``), so it may use what read knows
(legacy encodings of unit names) and nothing of the writers.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache
from pathlib import Path

from ..core import problems as P
from ..core.records import Record, Submission
from ..core.registry import Registry, ReportSettings, Unit
from ..core.template import template_stamp
from .legacy import ENCODING_NAMES, decode, looks_legacy
from .reader import read_submission


def match_units(sub: Submission, registry: Registry) -> dict[str, Unit]:
    """Typed unit name → registry unit for this submission; unknown names become problems.

    A district's workbook names many units; names that several districts share
    ("Cấp huyện") are resolved within the district the other names point to.
    """
    first = {cell.name: registry.match(cell.name) for cell in sub.units}
    parents = Counter(u.parent for u in first.values() if u is not None and registry.reports(u))
    within = parents.most_common(1)[0][0] if parents else None

    matched: dict[str, Unit] = {}
    for cell in sub.units:
        if cell.name in matched:
            continue
        unit = registry.match(cell.name, within)
        if unit is not None and registry.reports(unit):  # nearly every name: known as typed
            matched[cell.name] = unit
            continue
        where = dict(file=sub.name, sheet=cell.source.sheet, cell=cell.source.cell)
        if unit is None:
            unit = registry.match_loosely(cell.name, within)
            if unit is not None:
                sub.problems.append(P.UnitNameInterpreted(**where, unit=unit.name, typed=cell.name, name=unit.name))
        if unit is None and looks_legacy(cell.name):
            for encoding in ENCODING_NAMES:
                name = decode(cell.name, encoding)
                unit = registry.match(name, within) or registry.match_loosely(name, within)
                if unit is not None:
                    sub.problems.append(P.LegacyEncoding(**where, unit=unit.name, what=f"tên đơn vị “{cell.name}”",
                                                         encoding=ENCODING_NAMES[encoding]))
                    break
        same_name = [u for u in registry.named(cell.name) if registry.reports(u)]
        if unit is None and len(same_name) > 1:
            districts = ", ".join(f"{u.name} – {registry.unit(u.parent).name}" for u in same_name)
            sub.problems.append(P.UnitAmbiguous(file=sub.name, sheet=cell.source.sheet, cell=cell.source.cell,
                                                unit=cell.name, name=cell.name, where=districts))
            continue
        if unit is None or not registry.reports(unit):
            close = registry.closest(cell.name, within=within)
            suggestion = f" (có phải: {', '.join(close)}?)" if close else ""
            sub.problems.append(P.UnitUnknown(**where, unit=cell.name, name=cell.name, suggestion=suggestion))
            continue
        matched[cell.name] = unit
    return matched


def _repeated_rows(sub: Submission, matched: dict[str, Unit]) -> set:
    """Cells of a unit's second and later Biểu mẫu 1 rows in one file: logged, and only the first row used."""
    rows: dict[str, list] = {}
    for cell in sub.units:
        unit = matched.get(cell.name)
        if unit is not None and cell.source.sheet:
            rows.setdefault(unit.code, []).append(cell)
    skip = set()
    for cells in rows.values():
        if len(cells) < 2:
            continue
        first = cells[0]
        name = matched[first.name].name
        sub.problems.append(P.UnitRepeated(file=sub.name, sheet=first.source.sheet, cell=cells[1].source.cell,
                                           unit=name, name=name, cells=", ".join(c.source.cell for c in cells)))
        later = {(c.source.sheet, _row_of(c.source.cell)) for c in cells[1:]}
        skip |= {r.source for r in sub.records if (r.source.sheet, _row_of(r.source.cell)) in later}
    return skip


def _row_of(cell: str) -> str:
    return cell.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")


# Periods ---------------------------------------------------------------------

_DATE = re.compile(r"(\d{1,2})\s*/\s*(\d{1,2})(?:\s*/\s*(\d{4}))?")


@lru_cache(maxsize=256)
def _dates(text: str) -> tuple[tuple[int, int, int | None], ...]:
    """Cached: every file of a round carries the same few header texts."""
    return tuple((int(d), int(m), int(y) if y else None) for d, m, y in _DATE.findall(text))


def _period_problem(sub: Submission, settings: ReportSettings) -> P.Problem | None:
    """A submission whose Biểu mẫu 2 headers carry other dates is for another period."""
    expected = {"before": settings.period_before, "after": settings.period_after}
    for key, header in sub.periods.items():
        found, wanted = _dates(header), _dates(expected[key])
        if not found or not wanted:
            continue
        same = len(found) == len(wanted) and all(
            (d, m) == (wd, wm) and (y is None or wy is None or y == wy)
            for (d, m, y), (wd, wm, wy) in zip(found, wanted)
        )
        if not same:
            spans = list(_DATE.finditer(header))
            return P.PeriodMismatch(file=sub.name, found=header[spans[0].start() : spans[-1].end()], expected=expected[key])
    return None



def prepare(sub: Submission, registry: Registry, settings: ReportSettings) -> None:
    """What one file decides alone, done where it was read (a reading worker, on the other core):
    its units matched, its period checked, its rows renamed to the registry's units."""
    matched = match_units(sub, registry)
    sub.matched = {name: unit.code for name, unit in matched.items()}
    sender = registry.sender(sub.matched.values())
    sub.sender = sender.name if sender is not None else ""
    wrong_period = _period_problem(sub, settings)
    if wrong_period is not None:
        wrong_period.unit = ", ".join(u.name for u in matched.values())
        sub.problems.append(wrong_period)
        sub.wrong_period = wrong_period
        sub.records = []
        return
    expected = template_stamp(settings)
    if sub.template_stamp and sub.template_stamp != expected:
        unit = next(iter(matched.values())).name if len(matched) == 1 else ""
        sub.problems.append(P.TemplateOutdated(file=sub.name, unit=unit, found=sub.template_stamp, expected=expected))
    if sub.upstream_errors:
        sub.problems.append(P.UpstreamErrors(file=sub.name, sheet="Nhật ký lỗi", count=sub.upstream_errors))
    skip = _repeated_rows(sub, matched)
    records = []
    for rec in sub.records:
        if skip and rec.source in skip:
            continue
        unit = matched.get(rec.unit)
        if unit is not None:  # built, not _replace()d: ~40 a file, and _replace is 4× slower
            records.append(Record(rec.form, unit.name, rec.item, rec.field, rec.value, rec.raw, rec.source, unit.code))
    sub.records = records


def read_previous(path: Path, registry: Registry) -> list[Record]:
    """The unit figures of an earlier merged workbook, under their registry names."""
    sub = read_submission(path, path.name)
    matched = match_units(sub, registry)
    return [r._replace(unit=matched[r.unit].name, code=matched[r.unit].code)
            for r in sub.records if r.unit in matched]
