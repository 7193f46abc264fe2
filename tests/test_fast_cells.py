"""The merged workbook's cells are written by a shorter path than XlsxWriter's own, never differently."""

from __future__ import annotations

import io
import math
import zipfile

import pytest
import xlsxwriter
from xlsxwriter import worksheet as xw

from consolidate import pipeline, sheets, xlsx_fast_cells
from consolidate.workbook_writer import write_workbook
from conftest import set_cells, unit_file
from test_province import MAU, build_mau_inbox, province


def parts(path):
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def assert_same_parts(fast, stock):
    assert fast.keys() == stock.keys()
    for name in stock:
        assert fast[name] == stock[name], name


@pytest.fixture
def fresh_probe():
    """worksheet_class() probes again in this test, and again after it."""
    xlsx_fast_cells.worksheet_class.cache_clear()
    yield
    xlsx_fast_cells.worksheet_class.cache_clear()


def test_the_merged_workbook_is_byte_for_byte_what_xlsxwriter_alone_writes(inbox, tmp_path, monkeypatch):
    # A province: district rows and subtotals, a unit that sent nothing (merged row), the weight columns.
    build_mau_inbox(inbox)
    unit_file(inbox, "x-phuoc-loc").unlink()
    (inbox / f"{MAU[-1][0]}.xlsx").unlink()
    # Flagged cells with comments (text in count cells, one needing XML escaping), blanks, a warning.
    set_cells(unit_file(inbox, "x-phuoc-an"), "Biểu mẫu 1", {"G7": "năm", "H7": "a & <b>"})
    set_cells(unit_file(inbox, "x-phuoc-hoa"), "Biểu mẫu 2", {"E8": None, "C9": "không rõ"})
    set_cells(unit_file(inbox, "x-phuoc-thuan"), "Biểu mẫu 1", {"C7": 9999})
    result = pipeline.run(inbox, province())
    assert result.consolidated.flags  # the comments path is exercised
    assert xlsx_fast_cells.worksheet_class() is xlsx_fast_cells.FastCellsWorksheet  # this XlsxWriter passes the probe

    rows = []
    real = xlsx_fast_cells.FastCellsWorksheet.write_plain_row
    monkeypatch.setattr(xlsx_fast_cells.FastCellsWorksheet, "write_plain_row",
                        lambda ws, row, col, cells: rows.append(cells) or real(ws, row, col, cells))
    write_workbook(result, tmp_path / "fast.xlsx")
    assert len(rows) > 100  # the row path wrote the sheets, not XlsxWriter's per-cell calls
    monkeypatch.setattr(sheets, "worksheet_class", lambda: xw.Worksheet)
    write_workbook(result, tmp_path / "stock.xlsx")

    assert_same_parts(parts(tmp_path / "fast.xlsx"), parts(tmp_path / "stock.xlsx"))


def small_workbook(worksheet_class: type, options: dict, cells, prepare=lambda ws, fmt: None) -> dict[str, bytes]:
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True, **options})
    wb.worksheet_class = worksheet_class
    fmt = wb.add_format({"bold": True})
    ws = wb.add_worksheet()
    ws.set_row(2, 40)
    prepare(ws, fmt)
    for row, col, values in cells:
        xlsx_fast_cells.write_row(ws, row, col, [(v, fmt) for v in values])
    wb.close()
    return {name: data for name, data in parts(buf).items() if name != "docProps/core.xml"}


@pytest.mark.parametrize("options, cells", [
    ({}, [(0, 0, [1.0, "a", None]), (2, 1, [2, "a", "b"]), (40, 3, ["x" * 20000, 3.5])]),  # row options, long text
    ({"constant_memory": True}, [(0, 0, [1.0, "a", None]), (1, 2, [" b ", 2.0]), (5, 0, [3])]),  # inline strings
    ({"nan_inf_to_errors": True}, [(0, 0, [math.nan, math.inf, -math.inf, 1.0])]),  # error formulas
    ({}, [(1048576, 0, [1.0]), (0, 16383, [1.0, 2.0]), (3, 0, [1.0])]),  # outside the sheet: refused
])
def test_a_row_is_stored_as_xlsxwriter_stores_it_whatever_the_options(options, cells):
    fast = small_workbook(xlsx_fast_cells.FastCellsWorksheet, options, cells)
    assert fast == small_workbook(xw.Worksheet, options, cells)


@pytest.mark.parametrize("prepare", [
    lambda ws, fmt: ws.set_default_row(24),  # every <row> gets a height
    lambda ws, fmt: ws.set_default_row(hide_unused_rows=True),
    lambda ws, fmt: ws.conditional_format("A1:C1", {"type": "data_bar", "data_bar_2010": True}),  # Excel 2010 rows
])
def test_a_sheet_with_its_own_row_defaults_gets_xlsxwriter_rows(prepare):
    cells = [(0, 0, [1.0, "a", None]), (2, 1, [2.0]), (20, 0, ["b", 3.0])]
    fast = small_workbook(xlsx_fast_cells.FastCellsWorksheet, {}, cells, prepare)
    assert fast == small_workbook(xw.Worksheet, {}, cells, prepare)


def test_nan_without_the_option_fails_as_xlsxwriter_fails():
    with pytest.raises(TypeError, match="NAN/INF"):
        small_workbook(xlsx_fast_cells.FastCellsWorksheet, {}, [(0, 0, [1.0, math.nan])])


def test_a_row_that_fails_halfway_leaves_what_xlsxwriter_leaves():
    """A caller that catches the NaN error and goes on still gets XlsxWriter's file."""
    def after_a_failed_row(worksheet_class):
        def prepare(ws, fmt):
            with pytest.raises(TypeError):
                xlsx_fast_cells.write_row(ws, 7, 4, [("trước", fmt), (2.5, fmt), (math.nan, fmt), ("sau", fmt)])
        return small_workbook(worksheet_class, {}, [(0, 0, [1.0, "a"])], prepare)

    assert after_a_failed_row(xlsx_fast_cells.FastCellsWorksheet) == after_a_failed_row(xw.Worksheet)


@pytest.mark.parametrize("method", ["_write_cell", "_write_row", "_xml_number_element", "_xml_string_element"])
def test_an_xlsxwriter_that_writes_cells_otherwise_keeps_its_own_worksheet(method, monkeypatch, fresh_probe):
    """A newer XlsxWriter that changes its cell or row XML is followed, not second-guessed."""
    stock = getattr(xw.Worksheet, method)

    def with_a_new_attribute(self, *args, **kwargs):
        stock(self, *args, **kwargs)
        self.fh.write("<!-- new -->")

    monkeypatch.setattr(xw.Worksheet, method, with_a_new_attribute)
    assert xlsx_fast_cells.worksheet_class() is xw.Worksheet


def test_an_xlsxwriter_whose_cells_are_no_longer_tuples_keeps_its_own_worksheet(monkeypatch, fresh_probe):
    class Number:
        def __init__(self, number, format):
            self.number, self.format = number, format

    monkeypatch.setattr(xw, "CellNumberTuple", Number)
    assert xlsx_fast_cells.worksheet_class() is xw.Worksheet
