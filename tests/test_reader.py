"""The reader finds the tables by their labels and keeps every value's source cell."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from consolidate.read.reader import GridCell, Grid, evaluate_formula, parse_number, read_submission
from consolidate.core.template import FORM1_FIELDS, FORM1_UNIT, FORM2_INDICATORS, STAFF_GROUP, EQUIPMENT_GROUP


def build_submission(path: Path, row0: int = 5, col0: int = 1, name: str = "Xã Phước An") -> Path:
    """A hand-made submission whose tables start at (row0, col0) instead of the template's A5."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Biểu mẫu 1"
    ws.cell(1, 1, "Biểu mẫu 1")
    ws.cell(row0, col0, "STT")
    ws.cell(row0, col0 + 1, FORM1_UNIT)
    ws.cell(row0, col0 + 2, STAFF_GROUP)
    ws.cell(row0, col0 + 6, EQUIPMENT_GROUP)
    for i, f in enumerate(FORM1_FIELDS):
        ws.cell(row0 + (0 if f.key == "signatures" else 1), col0 + 2 + i, f.label)
    ws.cell(row0 + 2, col0, 1)
    ws.cell(row0 + 2, col0 + 1, name)
    for i, v in enumerate([5, 5, 0, 0, 5, 3, 3, 4]):
        ws.cell(row0 + 2, col0 + 2 + i, v)
    ws2 = wb.create_sheet("Biểu mẫu 2")
    ws2.cell(row0, col0, "STT")
    ws2.cell(row0, col0 + 1, "Chỉ tiêu")
    ws2.cell(row0, col0 + 2, "(i) Kết quả đạt được trước khi chuyển giao (từ 01/01/2025 – 30/6/2025) (Tỷ lệ %)")
    ws2.cell(row0, col0 + 3, "(ii) Sau khi chuyển giao")
    ws2.cell(row0 + 1, col0 + 3, "Chỉ tiêu UBND tỉnh giao năm 2025 (Tỷ lệ %)")
    ws2.cell(row0 + 1, col0 + 4, "Kết quả đạt được (Từ 01/7 – 30/9/2025) (Tỷ lệ %)")
    for n, ind in enumerate(FORM2_INDICATORS):
        ws2.cell(row0 + 2 + n, col0, n + 1)
        ws2.cell(row0 + 2 + n, col0 + 1, ind.label)
        ws2.cell(row0 + 2 + n, col0 + 2, 90 + n)
        ws2.cell(row0 + 2 + n, col0 + 4, 80 + n)
    wb.save(path)
    return path


def test_tables_moved_down_and_right_are_found_with_their_cells(tmp_path):
    sub = read_submission(build_submission(tmp_path / "a.xlsx", row0=9, col0=3))
    assert sub.problems == []
    assert [(u.name, u.source.cell) for u in sub.units] == [("Xã Phước An", "D11")]
    total = next(r for r in sub.records if r.field == "total")
    assert (total.value, total.source.sheet, total.source.cell) == (5.0, "Biểu mẫu 1", "E11")
    after = [r for r in sub.records if r.form == "form2" and r.field == "after"]
    assert [(r.item, r.value, r.source.cell) for r in after][0] == ("online_submission", 80.0, "G11")
    assert len(after) == 5


def test_the_period_dates_in_form2_headers_may_change(tmp_path):
    sub = read_submission(build_submission(tmp_path / "a.xlsx"))
    before = [r for r in sub.records if r.field == "before"]
    assert [r.value for r in before] == [90.0, 91.0, 92.0, 93.0, 94.0]
    targets = [r.value for r in sub.records if r.field == "target"]
    assert targets == [None] * 5


def test_a_workbook_without_form2_says_so(tmp_path):
    path = build_submission(tmp_path / "a.xlsx")
    wb = openpyxl.load_workbook(path)
    del wb["Biểu mẫu 2"]
    wb.save(path)
    sub = read_submission(path)
    assert [(p.code, p.message) for p in sub.problems] == [
        ("form-missing", "Không tìm thấy Biểu mẫu 2 trong tệp (không có trang tính nào có tiêu đề cột của biểu này).")
    ]
    assert {r.form for r in sub.records} == {"form1"}


def test_a_missing_column_is_named(tmp_path):
    path = build_submission(tmp_path / "a.xlsx")
    wb = openpyxl.load_workbook(path)
    wb["Biểu mẫu 1"]["I6"] = None  # "Máy scan"
    wb.save(path)
    sub = read_submission(path)
    assert [(p.code, p.params["label"]) for p in sub.problems if p.code == "header-incomplete"] == [
        ("header-incomplete", "Máy scan")
    ]


@pytest.mark.parametrize(
    ("raw", "fmt", "percent", "expected"),
    [
        (5, "General", False, 5.0),
        (" 5 ", "General", False, 5.0),
        ("97,8", "General", True, 97.8),
        ("97,8%", "General", True, 97.8),
        (0.978, "0.0%", True, 97.8),
        (None, "General", False, None),
        ("", "General", False, None),
        ("năm", "General", False, "năm"),
        (True, "General", False, "TRUE"),
        ("0,500", "General", False, 0.5),
        ("1.006", "General", False, 1006.0),
        (97.8, "0.0\"%\"", True, 97.8),
        ("9" * 400, "General", False, "9" * 400),
    ],
)
def test_numbers_as_units_type_them(raw, fmt, percent, expected):
    assert parse_number(raw, fmt, percent) == expected


def test_simple_formulas_are_evaluated_over_the_sheet():
    grid = Grid("s", {(7, 4): GridCell(3), (7, 5): GridCell(1), (7, 6): GridCell("4")})
    assert evaluate_formula("=D7+E7+F7", grid) == 8
    assert evaluate_formula("=SUM(D7:F7)", grid) == 4  # SUM skips text, as Excel does
    assert evaluate_formula("=sum(D7;E7)-E7", grid) == 3
    assert evaluate_formula("=D7*2", grid) is None
    assert evaluate_formula("=VLOOKUP(A1,B:C,2)", grid) is None
