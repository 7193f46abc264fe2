"""Find the forms' tables in a workbook's grids and turn their rows into records.

Tables are found by their header labels, never by fixed addresses: Biểu mẫu 1 (one row
per unit), Biểu mẫu 2 (one unit's indicators) and the detail sheet of a merged workbook
(Biểu mẫu 2 of many units), with merged headers, numbers typed as text and percent formats.
"""

from __future__ import annotations

import re
from bisect import bisect_left

from ..core import problems as P
from ..core.cells import address
from .grids import HEADER_SCAN_ROWS, GridCell, Grid, parse_number
from .legacy import ENCODING_NAMES, decode, looks_legacy
from ..core.numbers import AMBIGUOUS, TYPED, format_number, interpret
from ..core.records import Record, Source, Submission, UnitCell
from ..core.template import (
    LOG_SHEET,
    FORM1,
    FORM1_FIELDS,
    FORM1_SHEET,
    FORM2,
    FORM2_INDICATORS,
    FORM2_SHEET,
    field_label,
)
from ..core.text import clean, fold


def _record(sub: Submission, form: str, unit: str, item: str, key: str, grid: "Grid", row: int, col: int,
            percent: bool) -> Record:
    """One value with its source cell; a number read from text is noted in the log."""
    cell = grid.get(row, col)
    raw = cell.value if cell else None
    reading = interpret(raw, cell.number_format if cell else "General", percent)
    rec = Record(form, unit, item, key, reading.value, raw, Source(sub.name, grid.title, address(row, col)))
    if reading.note is None:
        return rec
    where = dict(file=sub.name, sheet=grid.title, cell=rec.source.cell, unit=unit,
                 label=field_label(form, key, item), raw=str(raw).strip(), value=format_number(reading.value))
    if reading.note == TYPED:
        sub.problems.append(P.ValueInterpreted(**where))
    elif reading.note == AMBIGUOUS:
        sub.problems.append(P.ValueAmbiguous(**where, alternative=format_number(reading.alternative)))
    return rec


def ordered_grids(grids: list[Grid], sheet_name: str) -> list[Grid]:
    """The sheet named like the form first, then the others."""
    return sorted(grids, key=lambda g: fold(g.title) != fold(sheet_name))


# Header labels are matched on folded text (no accents, case or line breaks),
# by the words that identify them, so "Thuê nhân viên DN BCCI" or "Máy tinh" still count.
FORM1_MATCHERS = {
    "total": lambda t: t == "tong so" or t.startswith("tong so "),
    "staff_own": lambda t: "bien che" in t,
    "staff_seconded": lambda t: "co quan chuyen mon" in t or "cu den" in t,
    "staff_bcci": lambda t: "bcci" in t or "buu chinh" in t,
    "computers": lambda t: "may tinh" in t,
    "printers": lambda t: t == "may in" or t.startswith("may in "),
    "scanners": lambda t: "scan" in t or "may quet" in t,
    "signatures": lambda t: "chu ky so" in t,
}
RATE_MATCHERS = {
    "before": lambda t: "truoc" in t and "chuyen giao" in t,
    "target": lambda t: "chi tieu" in t and "giao" in t and t != "chi tieu",
    "after": lambda t: "ket qua" in t and "truoc" not in t,
}
WEIGHT_MATCHERS = {  # optional columns: the number of dossiers behind each result
    "weight_before": lambda t: "so ho so" in t and (t.endswith(" i") or " i " in t) and " ii" not in t,
    "weight_after": lambda t: "so ho so" in t and " ii" in t,
}
RATE_LABELS = {
    "before": "(i) Kết quả đạt được trước khi chuyển giao",
    "target": "Chỉ tiêu UBND tỉnh giao",
    "after": "Kết quả đạt được sau khi chuyển giao",
}
_UNIT_LINE = re.compile(r"^\s*(?:Tên\s+)?Đơn\s+vị(?:\s+báo\s+cáo)?\s*:\s*(.+)$", re.IGNORECASE)


def _is_form1_anchor(t: str) -> bool:
    return t in {"bo phan mot cua", "don vi", "ten don vi"} or (t.startswith("bo phan mot cua") and len(t) < 40)


def _is_form2_anchor(t: str) -> bool:
    return t in {"chi tieu", "ten chi tieu", "noi dung chi tieu"}


_NUMBERING = re.compile(r"\(?\d+\)?")


def _is_numbering(text: str) -> bool:
    return _NUMBERING.fullmatch(text) is not None


def _is_stop(text: str) -> bool:
    f = fold(text)
    return f.startswith("ghi chu") or f in {"tong cong", "cong", "tong"}


# Rows of a merged workbook that carry no unit's own figures: a district's subtotal,
# a district heading, or a unit marked as not having reported.
_ABSENT = ("chua bao cao", "bao cao khong dung duoc", "khong co so lieu")
_GROUP_HEADING = ("huyen ", "thi xa ", "thanh pho ", "quan ", "tinh ")


def _is_summary_row(key: str, values: list, numbered: bool) -> bool:
    f = fold(key)
    if f.startswith("cong ") or f.startswith(_ABSENT):
        return True
    if any(v is not None and isinstance(v.value, str) and fold(v.value).startswith(_ABSENT) for v in values):
        return True
    # a district heading in a province workbook: no STT, no figures, a district's name
    return not numbered and all(v is None for v in values) and f.startswith(_GROUP_HEADING)


def _merged_label(grid: Grid, row: int, key_col: int) -> str:
    """A total or subtotal label merged over the columns left of the key column ("Tổng cộng" in A:B)."""
    for c in range(1, key_col):
        text = grid.text(row, c)
        if text and (_is_stop(text) or fold(text).startswith("cong ")):
            return text
    return ""


def _data_rows(grid: Grid, first: int, key_col: int, value_cols: list[int]) -> list[int]:
    """Rows of a table below its header: contiguous rows, plus later rows that carry numbers."""
    rows, gap = [], False
    for r in range(first, grid.max_row + 1):
        key = grid.text(r, key_col) or _merged_label(grid, r, key_col)
        values = [grid.get(r, c) for c in value_cols]
        if not key and all(v is None for v in values):
            gap = gap or bool(rows)
            continue
        if key and _is_stop(key):
            break
        numbered = key_col > 1 and _is_numbering(grid.text(r, key_col - 1))
        if _is_numbering(key) or _is_summary_row(key, values, numbered):
            continue
        if not gap or any(v is not None and isinstance(parse_number(v.value), float) for v in values):
            rows.append(r)
    return rows


def _find_columns(grid: Grid, header_row: int, wanted: dict) -> tuple[dict[str, int], int]:
    """Columns whose header (in the header row or the two below) matches each wanted label,
    and the last row those headers use (data starts below it)."""
    found: dict[str, int] = {}
    last = header_row
    labels = grid.labels  # sorted by (row, column): only the three rows' slice is looked at
    for r, c, f in labels[bisect_left(labels, (header_row,)) : bisect_left(labels, (header_row + 3,))]:
        for key, match in wanted.items():
            if key not in found and match(f):
                found[key] = c
                last = max(last, r)
                break
    return found, last


def read_form1(grid: Grid, sub: Submission) -> bool:
    """Append Biểu mẫu 1's units and records; False when this sheet has no such table."""
    # "Đơn vị: …" above the table may also look like the unit column's header: take the
    # candidate under which the most of the form's columns stand
    candidates = [(a, *_find_columns(grid, a[0], FORM1_MATCHERS)) for a in grid.find_all(_is_form1_anchor)]
    if not candidates:
        return False
    (header_row, unit_col), cols, last_header = max(candidates, key=lambda c: len(c[1]))
    if len(cols) < len(FORM1_FIELDS):
        for f in FORM1_FIELDS:
            if f.key not in cols:
                sub.problems.append(P.HeaderIncomplete(file=sub.name, sheet=grid.title, form=FORM1_SHEET, label=f.label))
        return True
    sub.forms.add(FORM1)
    rows = _data_rows(grid, last_header + 1, unit_col, sorted(cols.values()))
    if not rows:
        sub.problems.append(P.FormEmpty(file=sub.name, sheet=grid.title, cell=address(last_header + 1, unit_col),
                                        form=FORM1_SHEET))
    for r in rows:
        name = grid.text(r, unit_col)
        src = Source(sub.name, grid.title, address(r, unit_col))
        if not name:
            sub.problems.append(P.UnitNameMissing(file=sub.name, sheet=grid.title, cell=src.cell))
            continue
        sub.units.append(UnitCell(name, src))
        for f in FORM1_FIELDS:
            sub.records.append(_record(sub, FORM1, name, "", f.key, grid, r, cols[f.key], percent=False))
    return True


def _unit_line(grid: Grid, above: int) -> UnitCell | None:
    """The "Đơn vị báo cáo: …" line a template carries above its table."""
    for (r, c), cell in sorted(grid.cells.items()):
        if r < above and isinstance(cell.value, str):
            m = _UNIT_LINE.match(clean(cell.value))
            if m:
                return UnitCell(clean(m[1]), Source("", grid.title, address(r, c)))
    return None


def read_form2(grid: Grid, sub: Submission) -> bool:
    """Append Biểu mẫu 2's records for the file's one unit; False when this sheet has no such table."""
    anchor = grid.find(_is_form2_anchor)
    if anchor is None:
        return False
    header_row, ind_col = anchor
    cols, last_header = _find_columns(grid, header_row, {**RATE_MATCHERS, **WEIGHT_MATCHERS})
    if any(key not in cols for key in RATE_MATCHERS):
        for key, label in RATE_LABELS.items():
            if key not in cols:
                sub.problems.append(P.HeaderIncomplete(file=sub.name, sheet=grid.title, form=FORM2_SHEET, label=label))
        return True
    sub.forms.add(FORM2)
    sub.periods.update(_periods(grid, header_row, cols))
    unit = _form2_unit(grid, sub, header_row)
    if unit is None:
        return True
    by_label = {fold(i.label): i for i in FORM2_INDICATORS}
    seen = set()
    for r in _data_rows(grid, last_header + 1, ind_col, sorted(cols.values())):
        label = grid.text(r, ind_col)
        indicator = by_label.get(fold(label))
        if indicator is None:
            sub.problems.append(P.IndicatorUnknown(file=sub.name, sheet=grid.title, cell=address(r, ind_col), unit=unit, label=label))
            continue
        seen.add(indicator.key)
        for key, c in cols.items():
            sub.records.append(_record(sub, FORM2, unit, indicator.key, key, grid, r, c, percent=key in RATE_MATCHERS))
    for i in FORM2_INDICATORS:
        if i.key not in seen:
            sub.problems.append(P.IndicatorMissing(file=sub.name, sheet=grid.title, unit=unit, label=i.label))
    return True


def _periods(grid: Grid, header_row: int, cols: dict[str, int]) -> dict[str, str]:
    """The header texts of the two results, which carry the report's period dates."""
    return {
        key: grid.text(header_row if grid.get(header_row, cols[key]) else header_row + 1, cols[key])
        for key in ("before", "after")
    }


def official_periods(grids: list[Grid]) -> dict[str, str]:
    """The periods of a merged workbook's own Biểu mẫu 2 (its detail sheet has no dates)."""
    for grid in ordered_grids(grids, FORM2_SHEET):
        anchor = grid.find(_is_form2_anchor)
        if anchor is not None:
            cols, _ = _find_columns(grid, anchor[0], RATE_MATCHERS)
            if all(key in cols for key in RATE_MATCHERS):
                return _periods(grid, anchor[0], cols)
    return {}


def _form2_unit(grid: Grid, sub: Submission, header_row: int) -> str | None:
    """Biểu mẫu 2 belongs to the unit of Biểu mẫu 1, else to the unit its title lines name."""
    if len(sub.units) == 1:
        return sub.units[0].name
    if not sub.units:
        line = _unit_line(grid, header_row)
        if line is not None:
            sub.units.append(UnitCell(line.name, Source(sub.name, line.source.sheet, line.source.cell)))
            return line.name
    sub.problems.append(P.Form2UnitAmbiguous(file=sub.name, sheet=grid.title, count=len(sub.units)))
    return None


def read_form2_detail(grid: Grid, sub: Submission) -> bool:
    """Biểu mẫu 2 of many units, one row per unit and indicator: the detail sheet of a merged workbook."""
    anchor = None
    for (r, c), cell in sorted(grid.cells.items()):
        if r <= HEADER_SCAN_ROWS and isinstance(cell.value, str) and fold(cell.value) == "don vi":
            ind = next((cc for (rr, cc), x in grid.cells.items() if rr == r and isinstance(x.value, str)
                        and _is_form2_anchor(fold(x.value))), None)
            if ind is not None:
                anchor = (r, c, ind)
                break
    if anchor is None:
        return False
    header_row, unit_col, ind_col = anchor
    cols, last_header = _find_columns(grid, header_row, {**RATE_MATCHERS, **WEIGHT_MATCHERS})
    if any(key not in cols for key in RATE_MATCHERS):
        return False
    sub.forms.add(FORM2)
    known = {u.name for u in sub.units}
    by_label = {fold(i.label): i for i in FORM2_INDICATORS}
    for r in _data_rows(grid, last_header + 1, ind_col, sorted(cols.values())):
        unit, label = grid.text(r, unit_col), grid.text(r, ind_col)
        if not unit:
            continue
        if unit not in known:
            known.add(unit)
            sub.units.append(UnitCell(unit, Source(sub.name, grid.title, address(r, unit_col))))
        indicator = by_label.get(fold(label))
        if indicator is None:
            sub.problems.append(P.IndicatorUnknown(file=sub.name, sheet=grid.title, cell=address(r, ind_col), unit=unit, label=label))
            continue
        for key, c in cols.items():
            sub.records.append(_record(sub, FORM2, unit, indicator.key, key, grid, r, c, percent=key in RATE_MATCHERS))
    return True


def count_upstream_errors(grids: list[Grid]) -> int:
    """Errors still listed in the log sheet of a merged workbook that is rolled up again."""
    for grid in grids:
        if fold(grid.title) != fold(LOG_SHEET):
            continue
        head = grid.find(lambda t: t == "muc do", max_row=5)
        if head is None:
            return 0
        r0, col = head
        return sum(1 for (r, c), cell in grid.cells.items() if c == col and r > r0 and fold(cell.value) == "loi")
    return 0


def _has_forms(grids: list[Grid]) -> bool:
    return any(g.find(_is_form1_anchor) or g.find(_is_form2_anchor) for g in grids)


def unicode_grids(grids: list[Grid], sub: Submission) -> list[Grid]:
    """The grids as Unicode: a workbook whose labels only make sense in TCVN3 or VNI is converted."""
    if _has_forms(grids):
        return grids
    for encoding in ENCODING_NAMES:
        decoded = [
            Grid(g.title, {
                pos: GridCell(decode(c.value, encoding), c.number_format)
                if isinstance(c.value, str) and looks_legacy(c.value) else c
                for pos, c in g.cells.items()
            })
            for g in grids
        ]
        if _has_forms(decoded):
            sub.problems.append(P.LegacyEncoding(file=sub.name, what="tệp", encoding=ENCODING_NAMES[encoding]))
            return decoded
    return grids
