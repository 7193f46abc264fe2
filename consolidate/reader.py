"""Turn one submitted workbook into tidy records that remember their source cell.

The only module that knows about workbook files: where the tables are (found
by their header labels, never by fixed addresses), merged headers, numbers
typed as text, percent formats and formulas without a cached value.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile
from bisect import bisect_left
from dataclasses import dataclass, field
from pathlib import Path
from sys import intern
from typing import NamedTuple

from defusedxml import DefusedXmlException

from . import problems as P
from .cells import address, column_number
from .formats import KIND_NAMES, sniff
from .legacy import ENCODING_NAMES, decode, looks_legacy
from .numbers import AMBIGUOUS, TYPED, format_number, interpret
from .template import (
    FORM1,
    FORM1_FIELDS,
    FORM1_SHEET,
    FORM2,
    FORM2_INDICATORS,
    FORM2_SHEET,
    field_label,
)
from .text import clean, fold

# Sheets of the merged workbook that a province reads back (see workbook_writer).
DETAIL_SHEET = "Chi tiết Biểu mẫu 2"
LOG_SHEET = "Nhật ký lỗi"

# A template's tables sit in the first few dozen rows and ten columns (a province's
# roll-up in a few hundred rows); reading
# is bounded so a sheet with junk to XFD1048576 cannot stall the run.
MAX_ROWS = 2000
MAX_COLS = 60
HEADER_SCAN_ROWS = 60


# Tuples, not dataclasses: a province run holds ~40 of these per submission and
# sends them from the reading workers; a frozen dataclass is ~5× slower to build
# and to pickle.


class Source(NamedTuple):
    file: str
    sheet: str
    cell: str


class Record(NamedTuple):
    """One value of one form for one unit: (unit, form, item, field) → value."""

    form: str
    unit: str  # the unit name as typed (NFC)
    item: str  # Biểu mẫu 2 indicator key; "" for Biểu mẫu 1
    field: str
    value: float | str | None  # a number, the text that is not one, or blank
    raw: object
    source: Source
    code: str = ""  # the registry unit, once the pipeline has matched the name


class UnitCell(NamedTuple):
    name: str
    source: Source


@dataclass
class Submission:
    path: Path
    name: str
    kind: str = "xlsx"
    units: list[UnitCell] = field(default_factory=list)
    records: list[Record] = field(default_factory=list)
    problems: list[P.Problem] = field(default_factory=list)
    forms: set[str] = field(default_factory=set)
    periods: dict[str, str] = field(default_factory=dict)  # rate key → its header text
    upstream_errors: int = 0  # errors left in the log sheet of a merged workbook being rolled up
    sha256: str = ""  # of the bytes read, for the provenance sheet (set by reading_pool)

    def __getstate__(self) -> dict:
        """Rows travel back from the reading workers as plain tuples: a NamedTuple pickles through a
        Python-level __getnewargs__, which made pickling ten times slower for a file's ~40 rows."""
        state = self.__dict__.copy()
        state["records"] = [(*r[:6], *r.source, r.code) for r in self.records]
        return state

    def __setstate__(self, state: dict) -> None:
        # what every submission repeats (cells "D7", sheet names, the period headers) is interned:
        # one string for the whole country, not one per file
        state["records"] = [Record(form, unit, item, key, value, raw, Source(file, intern(sheet), intern(cell)), code)
                            for form, unit, item, key, value, raw, file, sheet, cell, code in state["records"]]
        state["periods"] = {key: intern(text) for key, text in state["periods"].items()}
        self.__dict__.update(state)


class _Cell(NamedTuple):
    value: object
    number_format: str = "General"


class _Grid:
    """The values of one sheet, bounded to MAX_ROWS × MAX_COLS, 1-based."""

    def __init__(self, title: str, cells: dict[tuple[int, int], _Cell]) -> None:
        self.title = title
        self.cells = cells
        self.max_row = max((r for r, _ in cells), default=0)
        self.declared = (0, 0)  # rows, columns the file says the sheet has
        self._labels: list[tuple[int, int, str]] | None = None

    @property
    def labels(self) -> list[tuple[int, int, str]]:
        """(row, column, folded text) of the text cells in reading order: the tables are found
        by several searches over the same labels, so they are sorted and folded once."""
        if self._labels is None:
            self._labels = [(r, c, fold(cell.value)) for (r, c), cell in sorted(self.cells.items())
                            if isinstance(cell.value, str)]
        return self._labels

    def get(self, row: int, col: int) -> _Cell | None:
        return self.cells.get((row, col))

    def text(self, row: int, col: int) -> str:
        c = self.cells.get((row, col))
        if c is None:
            return ""
        if isinstance(c.value, float) and c.value.is_integer():
            return str(int(c.value))  # 1.0 from one reader is 1 from another
        return clean(c.value)

    def find(self, predicate, max_row: int = HEADER_SCAN_ROWS) -> tuple[int, int] | None:
        return next(iter(self.find_all(predicate, max_row)), None)

    def find_all(self, predicate, max_row: int = HEADER_SCAN_ROWS) -> list[tuple[int, int]]:
        return [(r, c) for r, c, folded in self.labels if r <= max_row and predicate(folded)]


# Values --------------------------------------------------------------------


def parse_number(raw: object, number_format: str = "General", percent: bool = False) -> float | str | None:
    """A cell as a number, or the text that is not one, or None when blank."""
    return interpret(raw, number_format, percent).value


def _record(sub: Submission, form: str, unit: str, item: str, key: str, grid: "_Grid", row: int, col: int,
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


# Formulas without a cached value --------------------------------------------

_REF = r"\$?([A-Z]{1,3})\$?(\d+)"


def evaluate_formula(formula: str, grid: _Grid) -> float | None:
    """Evaluate + and - over numbers, cells and SUM(...) of the same sheet; None otherwise."""
    expr = formula.lstrip("=").replace(" ", "").upper()
    if not expr:
        return None
    total = 0.0
    for sign, term in re.findall(r"([+-]?)((?:SUM\([^()]*\))|[^+-]+)", expr):
        value = _evaluate_term(term, grid)
        if value is None:
            return None
        total += -value if sign == "-" else value
    rebuilt = "".join(s + t for s, t in re.findall(r"([+-]?)((?:SUM\([^()]*\))|[^+-]+)", expr))
    return total if rebuilt.lstrip("+") == expr.lstrip("+") else None


def _evaluate_term(term: str, grid: _Grid) -> float | None:
    if term.startswith("SUM(") and term.endswith(")"):
        total = 0.0
        for arg in re.split(r"[,;]", term[4:-1]):
            m = re.fullmatch(_REF + ":" + _REF, arg)
            if m:
                c1, r1, c2, r2 = column_number(m[1]), int(m[2]), column_number(m[3]), int(m[4])
                # only what was read exists for us: =SUM(D7:XFD1048576) must not loop a billion times
                r1, r2, c1, c2 = min(r1, MAX_ROWS), min(r2, MAX_ROWS), min(c1, MAX_COLS), min(c2, MAX_COLS)
                for r in range(min(r1, r2), max(r1, r2) + 1):
                    for c in range(min(c1, c2), max(c1, c2) + 1):
                        cell = grid.get(r, c)
                        v = cell.value if cell else None
                        if isinstance(v, (int, float)) and not isinstance(v, bool):
                            total += v  # SUM over a range skips blanks and text, as Excel does
                continue
            v = _evaluate_term(arg, grid)
            if v is None:
                return None
            total += v
        return total
    m = re.fullmatch(_REF, term)
    if m:
        v = _cell_number(grid, int(m[2]), column_number(m[1]))
        return v if isinstance(v, float) else (0.0 if v is None else None)
    if re.fullmatch(r"\d+(\.\d+)?", term):
        return float(term)
    return None


def _cell_number(grid: _Grid, row: int, col: int) -> float | str | None:
    cell = grid.get(row, col)
    return parse_number(cell.value if cell else None)


# Workbook loading ------------------------------------------------------------


class Unreadable(Exception):
    """A file no reader could open; ``problem`` says why, for the log."""

    def __init__(self, problem_cls: type[P.Problem], **params: object) -> None:
        super().__init__(problem_cls.code)
        self.problem_cls = problem_cls
        self.params = params


def _load_openpyxl(path: Path, data_only: bool = True) -> list[_Grid]:
    # Imported here: most runs read every file with python-calamine and never need it,
    # and a run's start-up is part of what the clerk waits for.
    import openpyxl

    # from a file object, so a real .xlsx named .xls is read by its content
    with open(path, "rb") as fh:
        return _grids_from_openpyxl(openpyxl.load_workbook(fh, read_only=True, data_only=data_only, keep_vba=False))


def _grids_from_openpyxl(wb) -> list[_Grid]:
    try:
        grids = []
        for ws in wb.worksheets:
            cells: dict[tuple[int, int], _Cell] = {}
            for r, row in enumerate(ws.iter_rows(min_row=1, max_row=MAX_ROWS, min_col=1, max_col=MAX_COLS), start=1):
                for c, cell in enumerate(row, start=1):
                    if cell.value is not None and cell.value != "":
                        cells[(r, c)] = _Cell(cell.value, getattr(cell, "number_format", "General"))
            grid = _Grid(ws.title, cells)
            grid.declared = (ws.max_row or 0, ws.max_column or 0)  # from the sheet's <dimension>, not counted
            grids.append(grid)
        return grids
    finally:
        wb.close()


def _load_calamine(path: Path) -> list[_Grid]:
    """Values of a .xls/.ods/.xlsb, read by python-calamine in a child process."""
    cmd = [sys.executable, "-m", "consolidate.calamine_worker", str(path), str(MAX_ROWS), str(MAX_COLS)]
    try:
        done = subprocess.run(cmd, capture_output=True, timeout=WORKER_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        raise Unreadable(P.FileUnreadable, reason=f"đọc quá {WORKER_TIMEOUT} giây") from None
    if done.returncode != 0:
        raise Unreadable(P.FileUnreadable, reason=f"trình đọc dừng bất thường, mã {done.returncode}")
    result = json.loads(done.stdout.decode("utf-8"))
    if result.get("error") == "encrypted":
        raise Unreadable(P.FileEncrypted)
    if "error" in result:
        reason = {"too-large": "vùng dữ liệu quá lớn"}.get(result["error"], result.get("reason", result["error"]))
        raise Unreadable(P.FileUnreadable, reason=reason)
    return grids_from_sheets(result["sheets"])


WORKER_TIMEOUT = 60


def _caused_by(exc: BaseException | None, kind: type) -> bool:
    while exc is not None:
        if isinstance(exc, kind):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def load_grids(path: Path, kind: str) -> list[_Grid]:
    """Every sheet of a workbook as a bounded grid of values, or Unreadable."""
    if kind == "encrypted":
        raise Unreadable(P.FileEncrypted)
    if kind == "xlsx":
        try:
            return _load_openpyxl(path)
        except Exception as exc:  # a hostile file is one log entry, never a crash
            if _caused_by(exc, DefusedXmlException):
                raise Unreadable(P.FileUnsafe, reason="chứa khai báo XML nguy hiểm (entity mở rộng hoặc tham chiếu tệp bên ngoài)") from None
            raise Unreadable(P.FileUnreadable, reason=f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}" if str(exc) else type(exc).__name__) from None
    if kind in {"xls", "ods", "xlsb"}:
        return _load_calamine(path)
    if kind == "empty":
        raise Unreadable(P.FileUnreadable, reason="tệp rỗng, 0 byte")
    if kind == "zip-bomb":
        raise Unreadable(P.FileUnsafe, reason="là tệp nén bất thường, giải nén ra dung lượng quá lớn (zip bomb)")
    if kind == "corrupt":
        raise Unreadable(P.FileUnreadable, reason="tệp nén bị hỏng hoặc không trọn vẹn")
    raise Unreadable(P.FileUnreadable, reason=f"thực chất là {KIND_NAMES.get(kind, kind)}")


def _ordered(grids: list[_Grid], sheet_name: str) -> list[_Grid]:
    """The sheet named like the form first, then the others."""
    return sorted(grids, key=lambda g: fold(g.title) != fold(sheet_name))


# Tables --------------------------------------------------------------------

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


def _merged_label(grid: _Grid, row: int, key_col: int) -> str:
    """A total or subtotal label merged over the columns left of the key column ("Tổng cộng" in A:B)."""
    for c in range(1, key_col):
        text = grid.text(row, c)
        if text and (_is_stop(text) or fold(text).startswith("cong ")):
            return text
    return ""


def _data_rows(grid: _Grid, first: int, key_col: int, value_cols: list[int]) -> list[int]:
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


def _find_columns(grid: _Grid, header_row: int, wanted: dict) -> tuple[dict[str, int], int]:
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


def _read_form1(grid: _Grid, sub: Submission) -> bool:
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


def _unit_line(grid: _Grid, above: int) -> UnitCell | None:
    """The "Đơn vị báo cáo: …" line a template carries above its table."""
    for (r, c), cell in sorted(grid.cells.items()):
        if r < above and isinstance(cell.value, str):
            m = _UNIT_LINE.match(clean(cell.value))
            if m:
                return UnitCell(clean(m[1]), Source("", grid.title, address(r, c)))
    return None


def _read_form2(grid: _Grid, sub: Submission) -> bool:
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


def _periods(grid: _Grid, header_row: int, cols: dict[str, int]) -> dict[str, str]:
    """The header texts of the two results, which carry the report's period dates."""
    return {
        key: grid.text(header_row if grid.get(header_row, cols[key]) else header_row + 1, cols[key])
        for key in ("before", "after")
    }


def _official_periods(grids: list[_Grid]) -> dict[str, str]:
    """The periods of a merged workbook's own Biểu mẫu 2 (its detail sheet has no dates)."""
    for grid in _ordered(grids, FORM2_SHEET):
        anchor = grid.find(_is_form2_anchor)
        if anchor is not None:
            cols, _ = _find_columns(grid, anchor[0], RATE_MATCHERS)
            if all(key in cols for key in RATE_MATCHERS):
                return _periods(grid, anchor[0], cols)
    return {}


def _form2_unit(grid: _Grid, sub: Submission, header_row: int) -> str | None:
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


def _read_form2_detail(grid: _Grid, sub: Submission) -> bool:
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


def _count_upstream_errors(grids: list[_Grid]) -> int:
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


FORMULA_TAG = re.compile(rb"<(?:\w+:)?f[ >/]")  # a formula in sheet XML (also screened by reading_pool)


def _has_formulas(path: Path) -> bool:
    """Whether any sheet stores a formula, from the sheet XML itself: a second, formula-text read
    of the workbook costs as much as the first, and most submissions (blank targets) need none."""
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            if info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml"):
                with zf.open(info) as fh:
                    tail = b""
                    while chunk := fh.read(1 << 16):
                        if FORMULA_TAG.search(tail + chunk):
                            return True
                        tail = chunk[-16:]  # a tag split between two reads
    return False


def _fill_formulas(path: Path, grids: list[_Grid], sub: Submission, has_formulas: bool | None = None) -> None:
    """Give blank-looking cells that hold a formula without cached value their computed value."""
    if sub.kind != "xlsx" or not any(rec.value is None for rec in sub.records):
        return
    if not (_has_formulas(path) if has_formulas is None else has_formulas):
        return
    formulas = {g.title: g for g in _load_openpyxl(path, data_only=False)}
    values = {g.title: g for g in grids}
    for i, rec in enumerate(sub.records):
        if rec.value is not None:
            continue
        fgrid = formulas.get(rec.source.sheet)
        m = re.fullmatch(_REF, rec.source.cell)
        cell = fgrid.get(int(m[2]), column_number(m[1])) if fgrid and m else None
        if cell is None or not isinstance(cell.value, str) or not cell.value.startswith("="):
            continue
        value = evaluate_formula(cell.value, values[rec.source.sheet])
        if value is None:
            sub.problems.append(
                P.FormulaWithoutValue(
                    file=sub.name, sheet=rec.source.sheet, cell=rec.source.cell, unit=rec.unit,
                    label=field_label(rec.form, rec.field, rec.item), formula=cell.value,
                )
            )
            value = cell.value  # keep the formula text so the cell is not taken as blank
        sub.records[i] = Record(rec.form, rec.unit, rec.item, rec.field, value, cell.value, rec.source)


def _has_forms(grids: list[_Grid]) -> bool:
    return any(g.find(_is_form1_anchor) or g.find(_is_form2_anchor) for g in grids)


def _unicode_grids(grids: list[_Grid], sub: Submission) -> list[_Grid]:
    """The grids as Unicode: a workbook whose labels only make sense in TCVN3 or VNI is converted."""
    if _has_forms(grids):
        return grids
    for encoding in ENCODING_NAMES:
        decoded = [
            _Grid(g.title, {
                pos: _Cell(decode(c.value, encoding), c.number_format)
                if isinstance(c.value, str) and looks_legacy(c.value) else c
                for pos, c in g.cells.items()
            })
            for g in grids
        ]
        if _has_forms(decoded):
            sub.problems.append(P.LegacyEncoding(file=sub.name, what="tệp", encoding=ENCODING_NAMES[encoding]))
            return decoded
    return grids


def grids_from_sheets(sheets: list[dict]) -> list[_Grid]:
    """Grids from the plain sheets a calamine worker returns (title, [row, column, value] cells)."""
    return [_Grid(sheet["title"], {(r, c): _Cell(v) for r, c, v in sheet["cells"]}) for sheet in sheets]


def read_submission(path: Path, name: str | None = None, kind: str | None = None,
                    sheets: list[dict] | None = None, has_formulas: bool | None = None) -> Submission:
    """Read one workbook (or the values already read from it); problems are collected, never raised.

    ``has_formulas`` is what a caller that already scanned the sheets' XML knows,
    so the package is not opened again to find out.
    """
    sub = Submission(path=path, name=name or path.name, kind=kind or sniff(path))
    try:
        grids = grids_from_sheets(sheets) if sheets is not None else load_grids(path, sub.kind)
    except Unreadable as exc:
        sub.problems.append(exc.problem_cls(file=sub.name, **exc.params))
        return sub

    grids = _unicode_grids(grids, sub)
    for grid in grids:
        rows, cols = grid.declared
        if rows > MAX_ROWS or cols > MAX_COLS:
            sub.problems.append(P.SheetTruncated(file=sub.name, sheet=grid.title, rows=rows, cols=cols,
                                                 max_rows=MAX_ROWS, max_cols=MAX_COLS))
    for grid in _ordered(grids, FORM1_SHEET):
        if _read_form1(grid, sub):
            break
    detail = any(_read_form2_detail(g, sub) for g in _ordered(grids, DETAIL_SHEET) if fold(g.title) == fold(DETAIL_SHEET))
    if detail:
        sub.periods.update(_official_periods(grids))
    else:
        for grid in _ordered(grids, FORM2_SHEET):
            if _read_form2(grid, sub):
                break
    sub.upstream_errors = _count_upstream_errors(grids)
    unit = sub.units[0].name if len(sub.units) == 1 else ""
    for form, sheet in ((FORM1, FORM1_SHEET), (FORM2, FORM2_SHEET)):
        if form not in sub.forms and not any(isinstance(p, P.HeaderIncomplete) and p.params["form"] == sheet for p in sub.problems):
            sub.problems.append(P.FormMissing(file=sub.name, unit=unit, form=sheet))
    try:
        _fill_formulas(path, grids, sub, has_formulas)
    except Exception as exc:  # the second, formula-text read of a file that opened once
        sub.problems.append(P.FileUnreadable(file=sub.name, reason=type(exc).__name__))
    return sub
