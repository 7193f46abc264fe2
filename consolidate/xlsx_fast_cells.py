"""XlsxWriter's cell XML, written by a shorter path for the merged workbook's plain cells.

XlsxWriter is pure Python, and a large workbook spends most of its closing time
in ``Worksheet._write_cell``, which builds an attribute list and escapes every
attribute of every cell. A whole country's merged workbook has ~500,000 cells,
nearly all a number, a shared string or a blank with a cell format; for those
this writes the very same XML directly (2–3 µs a cell instead of ~6).

``_write_cell`` is private to XlsxWriter, so the shortcut has to prove itself:
at first use it writes a probe of every kind it handles with both methods, and
is used only if the bytes are identical. Any other XlsxWriter gets its own
worksheet class back, unchanged.
"""

from __future__ import annotations

import io
from functools import lru_cache

from xlsxwriter import worksheet as xw
from xlsxwriter.format import Format
from xlsxwriter.utility import xl_rowcol_to_cell_fast


class FastCellsWorksheet(xw.Worksheet):
    """A Worksheet whose formatted number, shared-string and blank cells skip the generic writer."""

    def _write_cell(self, row: int, col: int, cell) -> None:
        fmt = cell.format
        kind = type(cell)
        if fmt is None or self.constant_memory:
            super()._write_cell(row, col, cell)  # row/column formats, inline strings: XlsxWriter's rules
        elif kind is xw.CellNumberTuple:
            self.fh.write(f'<c r="{xl_rowcol_to_cell_fast(row, col)}" s="{fmt._get_xf_index()}">'
                          f"<v>{cell.number:.16G}</v></c>")
        elif kind is xw.CellStringTuple:
            self.fh.write(f'<c r="{xl_rowcol_to_cell_fast(row, col)}" s="{fmt._get_xf_index()}" t="s">'
                          f"<v>{cell.string}</v></c>")
        elif kind is xw.CellBlankTuple:
            self.fh.write(f'<c r="{xl_rowcol_to_cell_fast(row, col)}" s="{fmt._get_xf_index()}"/>')
        else:
            super()._write_cell(row, col, cell)


def _probe_xml(worksheet_class: type) -> str:
    """The XML a worksheet class writes for one cell of each kind the shortcut handles."""
    ws = worksheet_class()
    ws.fh = io.StringIO()
    fmt = Format()
    fmt.xf_index = 7
    cells = [
        (0, 0, xw.CellNumberTuple(1.5, fmt)),
        (3, 27, xw.CellNumberTuple(-0.1 + 0.3, fmt)),  # 17 significant digits: the .16G rounding
        (9, 2, xw.CellNumberTuple(12345678901234567890.0, fmt)),
        (1048575, 16383, xw.CellNumberTuple(1e-300, fmt)),
        (41, 1, xw.CellStringTuple(12, fmt)),
        (5, 5, xw.CellBlankTuple(fmt)),
    ]
    for row, col, cell in cells:
        ws._write_cell(row, col, cell)
    return ws.fh.getvalue()


@lru_cache(maxsize=1)
def worksheet_class() -> type:
    """FastCellsWorksheet where it writes exactly what this XlsxWriter writes, else XlsxWriter's own."""
    try:
        if _probe_xml(FastCellsWorksheet) == _probe_xml(xw.Worksheet):
            return FastCellsWorksheet
    except Exception:  # an XlsxWriter whose internals moved: its own class, never a broken file
        pass
    return xw.Worksheet
