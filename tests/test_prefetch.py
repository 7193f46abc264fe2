"""The fast path: python-calamine in worker processes gives the same rows as the careful reader."""

from __future__ import annotations

import openpyxl

import hostile
from consolidate import pipeline
from consolidate.prefetch import calamine_can_read, prefetch
from consolidate.reader import MAX_COLS, MAX_ROWS, read_submission
from conftest import unit_file


def test_the_fast_path_reads_exactly_what_the_careful_one_does(inbox):
    paths = sorted(inbox.glob("*.xlsx"))
    fetched = prefetch(paths, MAX_ROWS, MAX_COLS)
    assert set(fetched) == set(paths)
    for path in paths:
        fast = read_submission(path, path.name, "xlsx", fetched[path])
        careful = read_submission(path, path.name, "xlsx")
        assert [(r.unit, r.item, r.field, r.value, r.source) for r in fast.records] == \
               [(r.unit, r.item, r.field, r.value, r.source) for r in careful.records]
        assert [p.code for p in fast.problems] == [p.code for p in careful.problems]


def test_files_that_need_formats_or_error_cells_take_the_careful_path(inbox, tmp_path):
    path = unit_file(inbox, "x-phuoc-an")
    assert calamine_can_read(path, MAX_ROWS, MAX_COLS)
    wb = openpyxl.load_workbook(path)
    wb["Biểu mẫu 2"]["E8"].number_format = "0.0%"
    wb.save(tmp_path / "percent.xlsx")
    wb = openpyxl.load_workbook(path)
    wb["Biểu mẫu 1"]["G7"] = "#REF!"
    wb.save(tmp_path / "error.xlsx")
    hostile.junk_rows(path, tmp_path / "big.xlsx", n=3000)
    for name in ("percent.xlsx", "error.xlsx", "big.xlsx"):
        assert not calamine_can_read(tmp_path / name, MAX_ROWS, MAX_COLS), name


def test_a_file_that_kills_its_worker_is_read_the_careful_way(inbox):
    """A stray far cell behind a small declared size aborts calamine: the run goes on regardless."""
    path = unit_file(inbox, "x-phuoc-an")
    good = path.with_suffix(".orig")
    path.rename(good)
    row = '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'
    hostile.rewrite(good, path, {hostile.SHEET1: lambda x: x.replace("</sheetData>", row + "</sheetData>")})
    good.unlink()
    assert calamine_can_read(path, MAX_ROWS, MAX_COLS)  # its <dimension> lies

    result = pipeline.run(inbox)

    assert result.count(pipeline.REPORTED) == 14
    assert [p.code for p in result.problems] == ["total-mismatch"]
    assert result.consolidated.form1["x-phuoc-an"]["computers"].value == 5.0
