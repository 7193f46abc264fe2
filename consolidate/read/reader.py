"""Turn one submitted workbook into tidy records that remember their source cell.

This module puts the reading together; each part lives in its own module:
``loading`` turns a file into grids of values (``grids``), ``tables`` finds the
forms' tables by their header labels (never by fixed addresses) and turns their
rows into records (``records``), and ``formulas`` computes formulas without a
cached value. What the rest of the package and the tests import is re-exported here.
"""

from __future__ import annotations

from pathlib import Path

from ..core import problems as P
from ..core.formats import display_name, sniff
from .formulas import FORMULA_TAG, external_formula_problems, fill_formulas, evaluate_formula
from ..core.cells import address
from .grids import MAX_CELL_CHARS, MAX_COLS, MAX_FILE_CHARS, MAX_ROWS, GridCell, Grid, TextCut, bound_text, parse_number
from .loading import Unreadable, load_calamine, grids_from_sheets, load_grids
from ..core.records import Record, Source, Submission, UnitCell
from .tables import (
    count_upstream_errors,
    official_periods,
    ordered_grids,
    read_form1,
    read_form2,
    read_form2_detail,
    unicode_grids,
)
from ..core.template import DETAIL_SHEET, FORM1, FORM1_SHEET, FORM2, FORM2_SHEET, LOG_SHEET
from ..core.text import fold

# What other modules and the tests import from here, wherever it now lives.
__all__ = [
    "DETAIL_SHEET",
    "FORMULA_TAG",
    "LOG_SHEET",
    "MAX_COLS",
    "MAX_ROWS",
    "Record",
    "Source",
    "Submission",
    "UnitCell",
    "Unreadable",
    "GridCell",
    "Grid",
    "load_calamine",
    "evaluate_formula",
    "grids_from_sheets",
    "load_grids",
    "parse_number",
    "read_submission",
]


def _is_merged_workbook(grids: list[Grid]) -> bool:
    """A workbook written by this tool (a district's result read by its province): it has the log
    or the detail sheet, which no unit's template has."""
    own = {fold(LOG_SHEET), fold(DETAIL_SHEET)}
    return any(fold(g.title) in own for g in grids)


def read_submission(path: Path, name: str | None = None, kind: str | None = None,
                    sheets: list[dict] | None = None, has_formulas: bool | None = None) -> Submission:
    """Read one workbook (or the values already read from it); problems are collected, never raised.

    ``has_formulas`` is what a caller that already scanned the sheets' XML knows,
    so the package is not opened again to find out.
    """
    sub = Submission(path=path, name=name or display_name(path.name), kind=kind or sniff(path))
    try:
        grids = grids_from_sheets(sheets) if sheets is not None else load_grids(path, sub.kind)
    except Unreadable as exc:
        sub.problems.append(exc.problem_cls(file=sub.name, **exc.params))
        return sub

    for cut in bound_text(grids):  # before any character-by-character work (legacy encodings, matching)
        sub.problems.append(_text_cut(sub, cut))
    grids = unicode_grids(grids, sub)
    for grid in grids:
        rows, cols = grid.declared
        if rows > MAX_ROWS or cols > MAX_COLS:
            sub.problems.append(P.SheetTruncated(file=sub.name, sheet=grid.title, rows=rows, cols=cols,
                                                 max_rows=MAX_ROWS, max_cols=MAX_COLS))
    for grid in ordered_grids(grids, FORM1_SHEET):
        if read_form1(grid, sub):
            break
    detail = any(read_form2_detail(g, sub) for g in ordered_grids(grids, DETAIL_SHEET) if fold(g.title) == fold(DETAIL_SHEET))
    if detail:
        sub.periods.update(official_periods(grids))
    else:
        for grid in ordered_grids(grids, FORM2_SHEET):
            if read_form2(grid, sub):
                break
    sub.upstream_errors = count_upstream_errors(grids)
    if _is_merged_workbook(grids):
        # a merged workbook writes each figure in error as the text the unit typed, on purpose
        # (so that no total adds it): reading it back as a number is no news to the province,
        # while the figure's error is found again by the same rule
        sub.problems = [p for p in sub.problems if not isinstance(p, P.ValueInterpreted)]
    unit = sub.units[0].name if len(sub.units) == 1 else ""
    for form, sheet in ((FORM1, FORM1_SHEET), (FORM2, FORM2_SHEET)):
        if form not in sub.forms and not any(isinstance(p, P.HeaderIncomplete) and p.params["form"] == sheet for p in sub.problems):
            sub.problems.append(P.FormMissing(file=sub.name, unit=unit, form=sheet))
    if sheets is None and sub.kind == "xlsx":  # the fast path's screen sent any such file here
        sub.problems.extend(external_formula_problems(path, sub.name))
    try:
        fill_formulas(path, grids, sub, has_formulas)
    except Exception as exc:  # the second, formula-text read of a file that opened once
        sub.problems.append(P.FileUnreadable(file=sub.name, reason=type(exc).__name__))
    return sub


def _text_cut(sub: Submission, cut: TextCut) -> P.Problem:
    where = address(*cut.first_cell)
    if cut.over_budget:
        what = (f"Tệp chứa quá nhiều chữ (hơn {_vn(MAX_FILE_CHARS)} ký tự): từ ô {where}, "
                f"{_vn(cut.cells)} ô có chữ dài bị bỏ qua")
        return P.TextTruncated(file=sub.name, sheet=cut.sheet, cell=where, what=what,
                               limit=f"{_vn(MAX_FILE_CHARS)} ký tự đầu của tệp")
    what = f"{_vn(cut.cells)} ô có chữ dài hơn {_vn(MAX_CELL_CHARS)} ký tự (ô đầu tiên: {where})"
    return P.TextTruncated(file=sub.name, sheet=cut.sheet, cell=where, what=what,
                           limit=f"{_vn(MAX_CELL_CHARS)} ký tự đầu của mỗi ô")


def _vn(n: int) -> str:
    """1.000.000, as Vietnamese write it."""
    return f"{n:,}".replace(",", ".")
