"""XlsxWriter's worksheets, written by a shorter path for the merged workbook's plain rows.

XlsxWriter is pure Python and spends ~8 µs on each cell of a large workbook:
every ``write_number`` passes a decorator, a bounds and dimension check and a
few mode checks, and at closing every cell gets an attribute list whose
values are all escaped. A whole country's merged workbook has ~500,000
cells, nearly all a number, a shared string or a blank with a cell format.
For those, ``write_row`` stores a whole row of cells with one dimension
update, and the closing side writes each row's cells in one piece (each
distinct number formatted once). Anything unusual takes XlsxWriter's own
path: a cell without a format, a formula, NaN, a long string, constant_memory,
and the <row> tag of a row with its own options or of a sheet with its own
row defaults. Both classes store the same cells in the same table.

This leans on XlsxWriter's private internals, so it has to prove itself: at
first use a probe workbook that has every case above is written with both
worksheet classes, and the shortcut is used only if every part is
identical. Any other XlsxWriter gets its own worksheet class back.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import zipfile
from decimal import Decimal
from functools import lru_cache
from typing import Any, Sequence

import xlsxwriter
from xlsxwriter import worksheet as xw
from xlsxwriter.format import Format
from xlsxwriter.utility import xl_col_to_name

Cell = tuple[Any, "Format | None"]  # (value, format): None is a blank, a str a string, else a number


def write_row(ws: xw.Worksheet, row: int, first_col: int, cells: Sequence[Cell]) -> None:
    """Write cells left to right from ``first_col``, as write_blank/write_string/write_number would."""
    if isinstance(ws, FastCellsWorksheet):
        ws.write_plain_row(row, first_col, cells)
    else:
        for col, (value, fmt) in enumerate(cells, start=first_col):
            _write_one(ws, row, col, value, fmt)


def _write_one(ws: xw.Worksheet, row: int, col: int, value: Any, fmt: Format | None) -> None:
    """One cell by XlsxWriter's public methods: the reference the shortcut must match, and the fallback."""
    if value is None:
        ws.write_blank(row, col, None, fmt)
    elif isinstance(value, str):
        ws.write_string(row, col, value, fmt)
    else:
        ws.write_number(row, col, value, fmt)


class FastCellsWorksheet(xw.Worksheet):
    """A Worksheet that stores and writes rows of formatted numbers, shared strings and blanks cheaply."""

    def write_plain_row(self, row: int, first_col: int, cells: Sequence[Cell]) -> None:
        """Store a row of cells with one dimension update; unusual cells go through XlsxWriter's methods."""
        if (self.constant_memory or row < 0 or first_col < 0 or row >= self.xls_rowmax
                or first_col + len(cells) > self.xls_colmax):
            for col, (value, fmt) in enumerate(cells, start=first_col):
                _write_one(self, row, col, value, fmt)
            return
        table = self.table
        created = row not in table
        stored = table[row]
        strings = self.str_table
        indexes = strings.string_table
        half_max = self.xls_strmax // 2
        number, string, blank = xw.CellNumberTuple, xw.CellStringTuple, xw.CellBlankTuple
        new = tuple.__new__  # what a NamedTuple's own __new__ calls, without its Python frame
        isfinite = math.isfinite
        lo = hi = None
        uses = 0  # shared strings used, counted once for the row
        col = first_col - 1
        try:
            for value, fmt in cells:
                col += 1
                kind = value.__class__
                if fmt is None:
                    _write_one(self, row, col, value, fmt)  # no format: nothing stored for a blank
                    continue
                if kind is float:
                    if not isfinite(value):
                        _write_one(self, row, col, value, fmt)  # NaN/inf: an error formula or TypeError
                        continue
                    stored[col] = new(number, (value, fmt))
                elif kind is str:
                    if len(value) > half_max:
                        _write_one(self, row, col, value, fmt)  # may need truncating
                        continue
                    index = indexes.get(value)
                    if index is None:  # a new string: the next index, as _get_shared_string_index gives
                        index = indexes[value] = strings.unique_count
                        strings.unique_count = index + 1
                    uses += 1
                    stored[col] = new(string, (index, fmt))
                elif value is None:
                    stored[col] = new(blank, (fmt,))
                elif kind is int:
                    stored[col] = new(number, (value, fmt))
                else:
                    _write_one(self, row, col, value, fmt)
                    continue
                if lo is None:
                    lo = col
                hi = col
        finally:  # also when a cell raises (NaN without the option), as XlsxWriter's cell by cell would
            strings.count += uses
            if lo is not None:
                self._stretch(row, lo, hi)
            elif created and not stored:
                del table[row]

    def _stretch(self, row: int, lo: int, hi: int) -> None:
        """The sheet's dimensions after cells stored in ``row`` from column ``lo`` to ``hi``."""
        if self.dim_rowmin is None or self.dim_colmin is None:
            self._check_dimensions(row, lo)
            self._check_dimensions(row, hi)
            return
        if row < self.dim_rowmin:  # what _check_dimensions does for a cell inside the sheet
            self.dim_rowmin = row
        if row > self.dim_rowmax:
            self.dim_rowmax = row
        if lo < self.dim_colmin:
            self.dim_colmin = lo
        if hi > self.dim_colmax:
            self.dim_colmax = hi

    def _write_rows(self) -> None:
        """The <row> elements: plain rows in one piece each, anything else by XlsxWriter's own code."""
        plan = self._row_plan()
        if plan is None:
            super()._write_rows()
            return
        rows, spans = plan
        self.row_spans = spans
        table, row_info = self.table, self.row_info
        plain_tag = self.default_row_height == self.original_row_height and self.excel_version == 2007
        names = {} if self.dim_colmin is None else {  # None: row options only, no cell
            c: xl_col_to_name(c) for c in range(self.dim_colmin, self.dim_colmax + 1)}
        xfs: dict[Format, str] = {}  # a format's ' s="7"', its index asked once per sheet
        texts: dict[float, str] = {}  # a country has ~270,000 numbers but ~10,000 distinct ones
        number, string, blank = xw.CellNumberTuple, xw.CellStringTuple, xw.CellBlankTuple
        write = self.fh.write
        stock_cell = super()._write_cell
        for r in rows:
            span = spans.get(r >> 4)
            cells = table.get(r)
            if not cells:
                self._write_empty_row(r, span, row_info.get(r))  # options or comments only
                continue
            r1 = str(r + 1)
            if plain_tag and r not in row_info:
                out = [f'<row r="{r1}" spans="{span}">' if span else f'<row r="{r1}">']
            else:
                self._write_row(r, span, row_info.get(r))
                out = []
            for c, cell in sorted(cells.items()):
                kind = cell.__class__
                fmt = cell.format if kind is number or kind is string or kind is blank else None
                if fmt is None:  # another kind, or no format (the row's or column's): XlsxWriter's rules
                    write("".join(out))
                    out.clear()
                    stock_cell(r, c, cell)
                    continue
                xf = xfs.get(fmt)
                if xf is None:
                    xf = xfs[fmt] = f' s="{fmt._get_xf_index()}"'
                if kind is number:
                    value = cell[0]
                    if value and (value.__class__ is float or value.__class__ is int):  # not ±0, True, Decimal
                        text = texts.get(value)
                        if text is None:
                            text = texts[value] = f"{value:.16G}"
                    else:
                        text = f"{value:.16G}"
                    out.append(f'<c r="{names[c]}{r1}"{xf}><v>{text}</v></c>')
                elif kind is string:
                    out.append(f'<c r="{names[c]}{r1}"{xf} t="s"><v>{cell[0]}</v></c>')
                else:
                    out.append(f'<c r="{names[c]}{r1}"{xf}/>')
            out.append("</row>")
            write("".join(out))

    def _row_plan(self) -> tuple[list[int], dict[int, str]] | None:
        """The rows XlsxWriter would write and its spans (per 16 rows); None where this cannot tell."""
        if self.constant_memory:
            return None
        rowmin, rowmax, colmin, colmax = self.dim_rowmin, self.dim_rowmax, self.dim_colmin, self.dim_colmax
        table, comments, row_info = self.table, self.comments, self.row_info
        rows: list[int] = []
        lows: dict[int, int] = {}  # per block of 16 rows, the first and last column used
        highs: dict[int, int] = {}
        for r in sorted(table.keys() | row_info.keys() | comments.keys()):
            if r < rowmin or r > rowmax:
                continue
            cols, noted = table.get(r), comments.get(r)
            if cols:
                low, high = min(cols), max(cols)
                if noted:
                    low, high = min(low, *noted), max(high, *noted)
            elif noted:
                low, high = min(noted), max(noted)
            else:
                if r in row_info or r in comments:  # options, or an emptied comment row: XlsxWriter writes it
                    rows.append(r)
                continue
            rows.append(r)
            if low < colmin or high > colmax:
                return None  # a cell outside the dimensions: XlsxWriter's own rules
            block = r >> 4
            if block in lows:
                if low < lows[block]:
                    lows[block] = low
                if high > highs[block]:
                    highs[block] = high
            else:
                lows[block], highs[block] = low, high
        return rows, {block: f"{low + 1}:{highs[block] + 1}" for block, low in lows.items()}


def _probe_parts(worksheet_class: type) -> dict[str, bytes]:
    """A small workbook with every case the shortcut handles or hands back, written with one class."""
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True, "nan_inf_to_errors": True})
    wb.worksheet_class = worksheet_class
    wb.set_properties({"created": dt.datetime(2000, 1, 1)})
    bold, rate = wb.add_format({"bold": True}), wb.add_format({"num_format": "0.0"})
    same = wb.add_format({"bold": True})  # shares bold's xf index
    ws = wb.add_worksheet()
    ws.set_column(5, 5, 12, rate)
    ws.set_row(2, 30)
    ws.set_row(9, 20)  # a row with options only
    write_row(ws, 0, 0, [(1.5, bold), ("tên", bold), (None, rate), (7, rate), (-0.1 + 0.3, rate), (0.0, rate)])
    write_row(ws, 2, 1, [(12345678901234567890.0, same), (1e-300, rate), ("a<b & \"c\"", bold), ("tên", same)])
    write_row(ws, 3, 2, [(None, None), (" lề ", rate), (True, bold), (2.0, None), (-0.0, bold), (math.nan, rate)])
    ws.write_formula(3, 8, "=A1+1", bold, 2.5)
    ws.write_comment(3, 4, "ghi chú")
    ws.write_comment(12, 7, "chỉ ghi chú")  # a row with a comment only
    write_row(ws, 17, 4, [(3.25, rate), ("x" * 20000, bold), (Decimal("1.50"), rate), (7.0, bold), (False, rate)])
    ws.merge_range(17, 0, 17, 3, "gộp", bold)  # cells stored right to left
    write_row(ws, 40, 27, [(0.1, rate), (-math.inf, bold)])
    write_row(ws, 1048576, 0, [(1.0, rate)])  # outside the sheet: refused like write_number
    corner = wb.add_worksheet()
    write_row(corner, 1048575, 16382, [(9.0, bold), ("cuối", rate)])
    wb.add_worksheet().set_row(3, 25)  # rows with options and no cell at all
    grow = wb.add_worksheet()  # each row stretches the sheet's dimensions another way
    for row, col, width in ((5, 3, 1), (2, 1, 2), (9, 2, 5), (7, 0, 1)):
        write_row(grow, row, col, [(1.0, rate)] * width)
    wb.close()
    with zipfile.ZipFile(buf) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


@lru_cache(maxsize=1)
def worksheet_class() -> type:
    """FastCellsWorksheet where it writes exactly what this XlsxWriter writes, else XlsxWriter's own."""
    try:
        if _probe_parts(FastCellsWorksheet) == _probe_parts(xw.Worksheet):
            return FastCellsWorksheet
    except Exception:  # an XlsxWriter whose internals moved: its own class, never a broken file
        pass
    return xw.Worksheet
