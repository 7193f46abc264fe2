"""Formulas without a cached value: found in the sheet XML, read as text and evaluated
(+ and - over numbers, cells and SUM(...) of the same sheet)."""

from __future__ import annotations

import math
import re
import zipfile
from pathlib import Path

from ..core import problems as P
from ..core.cells import address, column_number
from .grids import MAX_COLS, MAX_ROWS, Grid, parse_number
from .loading import load_openpyxl
from ..ooxml.external import Reach, is_external, package_scan
from ..ooxml.xml_text import is_plain_utf8, utf8_part
from ..core.records import Record, Submission
from ..core.template import field_label

_REF = r"\$?([A-Z]{1,3})\$?(\d+)"


def evaluate_formula(formula: str, grid: Grid) -> float | None:
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
    if not math.isfinite(total):  # =999…9 (400 digits) is infinity: no count, and no writer takes it
        return None
    return total if rebuilt.lstrip("+") == expr.lstrip("+") else None


def _evaluate_term(term: str, grid: Grid) -> float | None:
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


def _cell_number(grid: Grid, row: int, col: int) -> float | str | None:
    cell = grid.get(row, col)
    return parse_number(cell.value if cell else None)


FORMULA_TAG = re.compile(rb"<(?:\w+:)?f[\s>/]")  # a formula in sheet XML (also screened by read.pool)


def _has_formulas(path: Path) -> bool:
    """Whether any sheet stores a formula, from the sheet XML itself: a second, formula-text read
    of the workbook costs as much as the first, and most submissions (blank targets) need none."""
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            # a sheet may be stored under another extension (sheet1.dat): those parts are looked at too
            name = info.filename
            if (name.startswith("xl/worksheets/") and name.endswith(".xml")) or not name.endswith((".xml", ".rels")):
                with zf.open(info) as fh:
                    tail = fh.read(256)
                    if not is_plain_utf8(tail):  # a part saved as UTF-16: looked at decoded, whole
                        if FORMULA_TAG.search(utf8_part(tail + fh.read())):
                            return True
                        continue
                    if FORMULA_TAG.search(tail):
                        return True
                    while chunk := fh.read(1 << 16):
                        if FORMULA_TAG.search(tail + chunk):
                            return True
                        tail = chunk[-16:]  # a tag split between two reads
    return False


def fill_formulas(path: Path, grids: list[Grid], sub: Submission, has_formulas: bool | None = None) -> None:
    """Give blank-looking cells that hold a formula without cached value their computed value."""
    if sub.kind != "xlsx" or not any(rec.value is None for rec in sub.records):
        return
    if not (_has_formulas(path) if has_formulas is None else has_formulas):
        return
    formulas = {g.title: g for g in load_openpyxl(path, data_only=False)}
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


# Formulas that reach outside the workbook (see ooxml.external) -----------------------


def external_formula_problems(path: Path, name: str) -> list[P.Problem]:
    """A ``formula-external`` warning for each cell (within the bounds read) whose formula reaches outside,
    and a ``content-external`` warning for each other thing that does (see ``ooxml.external.Reach``).

    Only packages whose XML may hold such a formula are read again for their formulas
    (with openpyxl, bounded like the values); shared formulas come back written out.
    """
    scan = package_scan(path)
    found: list[P.Problem] = [_reach_problem(name, reach) for reach in scan.reaches]
    found += [P.MacroRemoved(file=name, sheet=sheet, what=f"Trang macro Excel 4.0 “{sheet}”")
              for sheet in scan.macro_sheets]
    if scan.vba:
        found.append(P.MacroRemoved(file=name, what="Dự án macro VBA (xl/vbaProject.bin)"))
    if not scan.maybe:
        return found
    try:
        grids = load_openpyxl(path, data_only=False)
    except Exception:  # noqa: BLE001 - its values were read; the copy-maker removes such formulas anyway
        return found
    cells = []
    for grid in grids:
        if grid.title in scan.macro_sheets:
            continue  # the whole sheet is left out of the copy: said once, above, not formula by formula
        for (row, col), cell in sorted(grid.cells.items()):
            text = getattr(cell.value, "text", cell.value)  # an array formula carries its text
            if isinstance(text, str) and text.startswith("=") and is_external(text[1:], scan.names):
                cells.append(P.FormulaExternal(file=name, sheet=grid.title, cell=address(row, col),
                                               formula=text))
    return cells + found


_REACH_WHAT = {  # Reach.kind → what the message says it is
    "rule": "Định dạng có điều kiện của vùng {where} dùng công thức ={target}",
    "validation": "Kiểm tra dữ liệu (danh sách chọn) của vùng {where} dùng công thức ={target}",
    "hyperlink": "Liên kết (hyperlink) ở ô {where} trỏ tới {target}",
    "picture": "Ảnh chèn dạng liên kết (không lưu trong tệp) trỏ tới {target}",
    "link": "Phần {part} của tệp có liên kết trỏ tới {target}",
    "dtd": "Phần {part} của tệp khai báo định nghĩa kiểu tài liệu (DTD) tại {target}",
}
_SHOWN = 160  # characters of an address or formula shown; the rest is "…"


def _reach_problem(name: str, reach: Reach) -> P.Problem:
    """The warning for one thing outside the cells' formulas that reaches outside the workbook."""
    target = reach.target if len(reach.target) <= _SHOWN else reach.target[:_SHOWN] + "…"
    what = _REACH_WHAT[reach.kind].format(where=reach.where or "?", target=target or "(không đọc được)",
                                          part=reach.part)
    return P.ContentExternal(file=name, sheet=reach.sheet, cell=reach.where, what=what)
