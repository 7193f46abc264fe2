"""The merged workbook's cells are written by a shorter path than XlsxWriter's own, never differently."""

from __future__ import annotations

import zipfile

from xlsxwriter import worksheet as xw

from consolidate import pipeline, sheets, xlsx_fast_cells
from consolidate.workbook_writer import write_workbook
from conftest import set_cells, unit_file


def parts(path):
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def test_the_merged_workbook_is_byte_for_byte_what_xlsxwriter_alone_writes(inbox, tmp_path, monkeypatch):
    # numbers, shared strings, blanks, a text in a count cell (flagged, commented), total formulas
    set_cells(unit_file(inbox, "x-phuoc-an"), "Biểu mẫu 1", {"G7": "năm"})
    set_cells(unit_file(inbox, "x-phuoc-hoa"), "Biểu mẫu 2", {"E8": None})
    result = pipeline.run(inbox)
    assert xlsx_fast_cells.worksheet_class() is xlsx_fast_cells.FastCellsWorksheet  # this XlsxWriter passes the probe

    write_workbook(result, tmp_path / "fast.xlsx")
    monkeypatch.setattr(sheets, "worksheet_class", lambda: xw.Worksheet)
    write_workbook(result, tmp_path / "stock.xlsx")

    fast, stock = parts(tmp_path / "fast.xlsx"), parts(tmp_path / "stock.xlsx")
    assert fast.keys() == stock.keys()
    for name in stock:
        assert fast[name] == stock[name], name


def test_an_xlsxwriter_that_writes_cells_otherwise_keeps_its_own_worksheet(monkeypatch):
    """A newer XlsxWriter that changes its cell XML is followed, not second-guessed."""
    stock = xw.Worksheet._write_cell

    def with_a_new_attribute(self, row, col, cell):
        stock(self, row, col, cell)
        self.fh.write("<!-- new -->")

    xlsx_fast_cells.worksheet_class.cache_clear()
    monkeypatch.setattr(xw.Worksheet, "_write_cell", with_a_new_attribute)
    try:
        assert xlsx_fast_cells.worksheet_class() is xw.Worksheet
    finally:
        xlsx_fast_cells.worksheet_class.cache_clear()
