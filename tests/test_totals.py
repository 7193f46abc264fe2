"""The province officer's question: does Tổng cộng add only figures that passed the rules?

A unit's figure that breaks a rule stays in the merged workbook as the unit typed it
(red, with its comment) but no total adds it, neither the cached value nor what Excel
or LibreOffice recalculate; the total row says whose figures it leaves out. A rule that
ties several figures (Tổng số = its parts) leaves all of them out once it breaks (issue 22).
"""

from __future__ import annotations

import csv
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pytest

from consolidate import app
from consolidate.core.accounting import violations
from consolidate.core.numbers import interpret
from consolidate.write.outputs import write_outputs
from consolidate.write.sample import SEED_FORM1, make_sample_inbox
from conftest import Text, merged, read_log, run_cli, set_cells, unit_file
from test_province import MAU, build_mau_inbox, district_mau, province
from test_run import UNITS_IN_ORDER

TOTAL_ROW = 21  # the sample district: 14 units from row 7
COLUMNS = "CDEFGHIJ"  # Tổng số … Chữ ký số
RED = "FFC7CE"
YELLOW = "FFEB9C"

needs_soffice = pytest.mark.skipif(shutil.which("soffice") is None,
                                   reason="LibreOffice (Debian package libreoffice-calc-nogui) is not installed")


def unit_row(name: str) -> int:
    return 7 + UNITS_IN_ORDER.index(name)


def seed_total(col: str, leave_out: dict[str, object] | None = None) -> float:
    """The seed's column sum, with some units' figures replaced (None: not added)."""
    i = COLUMNS.index(col)
    total = 0.0
    for name, figures in SEED_FORM1.items():
        value = (leave_out or {}).get(name, figures[i])
        total += value or 0
    return total


def son(col: str) -> dict[str, object]:
    """Phước Sơn's Tổng số 7 ≠ 6 + 0 + 0 breaks the Tổng số rule in every sample run: none of its four
    figures is added."""
    return {"Xã Phước Sơn": None} if col in "CDEF" else {}


# Phước Sơn's broken Tổng số rule as the comment on Tổng cộng and the note under it name it
SON_STAFF = ("Tổng số (7); Thuộc biên chế (hoặc biệt phái) của Bộ phận Một cửa (6); Công chức, viên chức do các cơ "
             "quan chuyên môn cử đến (0); Thuê nhân viên Doanh nghiệp BCCI (0) – Tổng số 7 ≠ 6 + 0 + 0 (= 6)")
SON_RULE = ("Tổng số, Thuộc biên chế (hoặc biệt phái) của Bộ phận Một cửa, Công chức, viên chức do các cơ quan chuyên "
            "môn cử đến, Thuê nhân viên Doanh nghiệp BCCI: Tổng số 7 ≠ 6 + 0 + 0 (= 6)")


def notes_under(ws, row: int = TOTAL_ROW) -> list[str]:
    return [str(r[0].value) for r in ws.iter_rows(min_row=row + 1, max_col=1) if r[0].value]


def test_a_count_of_minus_one_is_shown_as_typed_and_not_added(inbox, out):
    set_cells(unit_file(inbox, "x-phuoc-an"), "Biểu mẫu 1", {"H7": -1})  # Máy in

    run_cli("run", inbox, "--out", out)

    ws = merged(out)["Biểu mẫu 1"]
    cell = ws[f"H{unit_row('Xã Phước An')}"]
    assert (cell.value, cell.data_type) == ("-1", "s")  # text: Excel's SUM skips it
    assert cell.fill.fgColor.rgb.endswith(RED)
    assert cell.comment.text.splitlines() == [
        "Ô “Máy in” ghi -1, nhưng số lượng không được âm.",
        "Số liệu lỗi này không được cộng vào Tổng cộng.",
        "bao-cao-x-phuoc-an.xlsx – Biểu mẫu 1!H7",
    ]
    assert ws[f"H{TOTAL_ROW}"].value == seed_total("H", {"Xã Phước An": None}) == 48 - 3
    formulas = merged(out, data_only=False)["Biểu mẫu 1"]
    assert formulas[f"H{TOTAL_ROW}"].value == f"=SUM(H7:H{TOTAL_ROW - 1})"


@pytest.mark.parametrize(("typed", "shown"), [(2.5, "2,5"), (Text("2.5"), "2.5"), (Text("2,5"), "2,5")])
def test_a_fractional_count_shows_as_typed_not_rounded_and_is_not_added(inbox, out, typed, shown):
    set_cells(unit_file(inbox, "x-phuoc-loc"), "Biểu mẫu 1", {"G7": typed})  # Máy tính, 4 in the seed

    run_cli("run", inbox, "--out", out)

    ws = merged(out)["Biểu mẫu 1"]
    cell = ws[f"G{unit_row('Xã Phước Lộc')}"]
    assert (cell.value, cell.data_type) == (shown, "s")  # not 2.5 under a "0" format that shows "3"
    assert "Số liệu lỗi này không được cộng vào Tổng cộng." in cell.comment.text
    assert ws[f"G{TOTAL_ROW}"].value == 70 - 4


def test_an_ambiguous_figure_is_added_as_read_and_its_comment_says_so(inbox, out):
    set_cells(unit_file(inbox, "x-phuoc-hiep"), "Biểu mẫu 1", {"J7": Text("1.234")})  # Chữ ký số, 6 in the seed

    run_cli("run", inbox, "--out", out)

    ws = merged(out)["Biểu mẫu 1"]
    cell = ws[f"J{unit_row('Xã Phước Hiệp')}"]
    assert (cell.value, cell.data_type) == (1234, "n")
    assert cell.fill.fgColor.rgb.endswith(YELLOW)  # a warning, not an error
    lines = cell.comment.text.splitlines()
    assert lines[0] == "Ô “Chữ ký số được cấp” ghi “1.234”: có thể là 1234 hoặc 1,23; đã hiểu là 1234."
    assert "Vẫn được cộng vào Tổng cộng theo giá trị 1234." in lines
    assert ws[f"J{TOTAL_ROW}"].value == 78 - 6 + 1234
    assert "Xã Phước Hiệp" not in ws[f"A{TOTAL_ROW}"].comment.text  # nothing of it is left out


def test_the_total_row_says_whose_figures_it_leaves_out(inbox, out):
    set_cells(unit_file(inbox, "x-phuoc-an"), "Biểu mẫu 1", {"H7": -1})
    set_cells(unit_file(inbox, "x-phuoc-hoa"), "Biểu mẫu 1", {"G7": "năm", "I7": 2.5})
    set_cells(unit_file(inbox, "x-phuoc-loc"), "Biểu mẫu 1", {"J7": None})

    run_cli("run", inbox, "--out", out)

    ws = merged(out)["Biểu mẫu 1"]
    assert ws[f"A{TOTAL_ROW}"].value == "Tổng cộng"
    assert ws[f"A{TOTAL_ROW}"].comment.text.splitlines() == [
        "Tổng cộng chưa gồm số liệu lỗi của 4 đơn vị:",
        "– Xã Phước An: Máy in (-1)",
        "– Xã Phước Hòa: Máy tính (“năm”); Máy scan (2,5)",
        "– Xã Phước Lộc: Chữ ký số được cấp (bỏ trống)",
        "– Xã Phước Sơn: " + SON_STAFF,
    ]
    assert ("Tổng cộng chưa gồm số liệu lỗi của 4 đơn vị: Xã Phước An (Máy in); Xã Phước Hòa (Máy tính, Máy scan); "
            f"Xã Phước Lộc (Chữ ký số được cấp); Xã Phước Sơn ({SON_RULE}). Các số liệu này vẫn ghi trong bảng như "
            "đơn vị đã nhập (ô tô đỏ) nhưng không được cộng.") in " ".join(notes_under(ws))
    totals = {col: ws[f"{col}{TOTAL_ROW}"].value for col in COLUMNS}
    assert totals == {
        "C": 80 - 7, "D": 68 - 6, "E": 7, "F": 4,
        "G": 70 - 6, "H": 48 - 3, "I": 40 - 4, "J": 78 - 6,
    }


def test_the_sample_total_leaves_out_phuoc_sons_total_in_error_and_says_so(inbox, out):
    run_cli("run", inbox, "--out", out)
    ws = merged(out)["Biểu mẫu 1"]
    assert [ws[f"{col}{TOTAL_ROW}"].value for col in COLUMNS] == [80 - 7, 68 - 6, 7, 4, 70, 48, 40, 78]
    assert any(n.startswith(f"Tổng cộng chưa gồm số liệu lỗi của 1 đơn vị: Xã Phước Sơn ({SON_RULE}).")
               for n in notes_under(ws))


def test_rates_in_error_are_left_out_of_the_means_and_shown_as_typed_in_the_detail(inbox, out):
    set_cells(unit_file(inbox, "x-phuoc-hiep"), "Biểu mẫu 2", {"E8": 120})  # thanh toán, (ii-b)
    set_cells(unit_file(inbox, "x-phuoc-hoa"), "Biểu mẫu 2", {"E8": Text("105,5%")})
    set_cells(unit_file(inbox, "x-phuoc-an"), "Biểu mẫu 2", {"E8": 97.85})  # valid, two decimals

    run_cli("run", inbox, "--out", out)

    wb = merged(out)
    detail = {(r[1].value, r[2].value): r for r in wb["Chi tiết Biểu mẫu 2"].iter_rows(min_row=5) if r[2].value}
    payment = "Tỷ lệ thanh toán trực tuyến"
    hiep, hoa, an = (detail[(name, payment)][5] for name in ("Xã Phước Hiệp", "Xã Phước Hòa", "Xã Phước An"))
    assert (hiep.value, hiep.data_type) == ("120", "s") and hiep.fill.fgColor.rgb.endswith(RED)
    assert (hoa.value, hoa.data_type) == ("105,5%", "s")
    assert "Số liệu lỗi này không được tính vào Biểu mẫu 2." in hiep.comment.text
    # a valid rate keeps the decimals the unit typed: 97,85 is not shown as 97,9
    assert an.value == 97.85 and _decimals_shown(an.number_format) >= 2

    valid = [r[5].value for (name, ind), r in detail.items() if ind == payment and name not in ("Xã Phước Hiệp", "Xã Phước Hòa")]
    assert len(valid) == 12 and all(isinstance(v, float) for v in valid)
    ws = wb["Biểu mẫu 2"]
    assert ws["E8"].value == pytest.approx(sum(valid) / 12)
    notes = " ".join(str(c.value) for row in ws.iter_rows(min_row=12) for c in row if c.value)
    assert "– Tỷ lệ thanh toán trực tuyến: (i) Kết quả trước khi chuyển giao: trung bình cộng (không trọng số) của 14 đơn vị; (ii) Kết quả sau khi chuyển giao: trung bình cộng (không trọng số) của 12 đơn vị." in notes


def _decimals_shown(number_format: str) -> int:
    """How many decimals a number format like "0.0##" can show."""
    return sum(ch in "0#" for ch in number_format.partition(".")[2])


# What Excel or LibreOffice recalculate -------------------------------------------------------------

RECALC_ON_LOAD = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
</oor:items>
"""


def recalculated_form1(workbook: Path, tmp_path: Path) -> list[list[str]]:
    """Biểu mẫu 1 as LibreOffice computes it on opening: every formula recalculated, values unformatted.

    LibreOffice keeps an .xlsx file's cached values unless told to recalculate on load, so the
    profile says so (otherwise this would only read back our own cached values).
    """
    profile = tmp_path / "lo-profile"
    (profile / "user").mkdir(parents=True)
    (profile / "user" / "registrymodifications.xcu").write_text(RECALC_ON_LOAD, encoding="utf-8")
    subprocess.run(
        ["soffice", "--headless", f"-env:UserInstallation=file://{profile}", "--convert-to",
         "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,1",
         "--outdir", str(tmp_path / "csv"), str(workbook)],
        check=True, capture_output=True, timeout=180,
    )
    (path,) = (tmp_path / "csv").glob("*.csv")
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


def total_rows(rows: list[list], label_col: int = 0) -> dict[str, list[float]]:
    """The total and subtotal rows of Biểu mẫu 1 by label: "Tổng cộng", "Cộng Huyện …"."""
    found = {}
    for r in rows:
        label = str(r[label_col] or "")
        if label == "Tổng cộng" or label.startswith("Cộng "):
            found[label] = [float(v) for v in r[2:10]]
    return found


@needs_soffice
def test_libreoffice_recalculates_the_totals_to_their_cached_values(inbox, out, tmp_path):
    set_cells(unit_file(inbox, "x-phuoc-an"), "Biểu mẫu 1", {"H7": -1})
    set_cells(unit_file(inbox, "x-phuoc-hoa"), "Biểu mẫu 1", {"G7": "năm", "I7": 2.5})
    set_cells(unit_file(inbox, "x-phuoc-hiep"), "Biểu mẫu 1", {"J7": Text("1.234")})
    run_cli("run", inbox, "--out", out)
    (workbook,) = out.glob("tong-hop-*.xlsx")

    cached = total_rows([[c.value for c in r] for r in merged(out)["Biểu mẫu 1"].iter_rows(min_row=7)])
    recalculated = total_rows(recalculated_form1(workbook, tmp_path))

    assert recalculated == cached
    assert cached["Tổng cộng"] == [80 - 7, 68 - 6, 7, 4, 70 - 6, 48 - 3, 40 - 4, 78 - 6 + 1234]


# A province rolls the districts up --------------------------------------------------------------------


@pytest.fixture
def districts_with_errors(tmp_path: Path) -> Path:
    """Tuy Phước's units typed figures that break the rules; Huyện Mẫu's are clean."""
    inbox = tmp_path / "tinh-nhan"
    inbox.mkdir()
    tp_inbox = tmp_path / "tp"
    make_sample_inbox(tp_inbox)
    set_cells(unit_file(tp_inbox, "x-phuoc-an"), "Biểu mẫu 1", {"H7": -1, "G7": 2.5})
    set_cells(unit_file(tp_inbox, "x-phuoc-hiep"), "Biểu mẫu 1", {"I7": Text("abc"), "J7": Text("1.234")})
    set_cells(unit_file(tp_inbox, "x-phuoc-hoa"), "Biểu mẫu 2", {"E8": 120})
    write_outputs(app.run(tp_inbox), tmp_path / "tp-out")
    write_outputs(app.run(build_mau_inbox(tmp_path / "mau"), district_mau()), tmp_path / "mau-out")
    for folder in ("tp-out", "mau-out"):
        for wb in (tmp_path / folder).glob("tong-hop-*.xlsx"):
            shutil.copy(wb, inbox / wb.name)
    return inbox


def test_the_province_finds_a_districts_errors_again_and_leaves_them_out(districts_with_errors, tmp_path):
    result = app.run(districts_with_errors, province())
    paths = write_outputs(result, tmp_path / "out")
    assert violations(result) == []  # every row is in the workbook or the log

    tp = "tong-hop-tuy-phuoc.xlsx"
    found = sorted((p.unit, p.code) for p in result.problems if p.file == tp and p.severity == "error")
    assert found == [("Xã Phước An", "negative-count"), ("Xã Phước An", "not-whole-number"),
                     ("Xã Phước Hiệp", "not-a-number"), ("Xã Phước Hòa", "rate-out-of-range"),
                     ("Xã Phước Sơn", "total-mismatch")]
    # the district wrote them as text on purpose: no "typed as text" note for the province
    assert not [p for p in result.problems if p.code == "value-interpreted"]

    ws = openpyxl.load_workbook(paths["workbook"], data_only=True)["Biểu mẫu 1"]
    rows = {(r[1].value or r[0].value): r for r in ws.iter_rows(min_row=7, max_col=10)}
    an = [c.value for c in rows["Xã Phước An"][2:10]]
    assert an == [5, 5, 0, 0, "2,5", "-1", 3, 4]
    sums = total_rows([[c.value for c in r] for r in ws.iter_rows(min_row=7, max_col=10)])
    mau = [sum(col) for col in zip(*(figures for _, _, figures in MAU))]
    assert sums["Cộng Huyện Tuy Phước"] == [80 - 7, 68 - 6, 7, 4, 70 - 5, 48 - 3, 40 - 3, 78 - 6 + 1234]
    assert sums["Cộng Huyện Mẫu"] == mau
    assert sums["Tổng cộng"] == [a + b for a, b in zip(sums["Cộng Huyện Tuy Phước"], mau)]
    assert rows["Cộng Huyện Tuy Phước"][0].comment.text.splitlines() == [
        "Cộng Huyện Tuy Phước chưa gồm số liệu lỗi của 3 đơn vị:",
        "– Xã Phước An: Máy tính (2,5); Máy in (-1)",
        "– Xã Phước Hiệp: Máy scan (“abc”)",
        "– Xã Phước Sơn: " + SON_STAFF,
    ]
    assert rows["Cộng Huyện Mẫu"][0].comment is None
    notes = [str(r[0].value) for r in ws.iter_rows(min_row=7, max_col=1) if str(r[0].value).startswith("Tổng cộng và")]
    assert notes and "chưa gồm số liệu lỗi của 3 đơn vị" in notes[0]

    detail = openpyxl.load_workbook(paths["workbook"], data_only=True)["Chi tiết Biểu mẫu 2"]
    hoa = next(r for r in detail.iter_rows(min_row=5) if r[1].value == "Xã Phước Hòa" and r[2].value == "Tỷ lệ thanh toán trực tuyến")
    assert (hoa[5].value, hoa[5].data_type) == ("120", "s")
    assert result.consolidated.form2_means["online_payment"]["after"].count == 18 - 1


@needs_soffice
def test_libreoffice_recalculates_the_province_subtotals_to_their_cached_values(districts_with_errors, tmp_path):
    paths = write_outputs(app.run(districts_with_errors, province()), tmp_path / "out")
    ws = openpyxl.load_workbook(paths["workbook"], data_only=True)["Biểu mẫu 1"]
    cached = total_rows([[c.value for c in r] for r in ws.iter_rows(min_row=7, max_col=10)])
    assert set(cached) == {"Cộng Huyện Tuy Phước", "Cộng Huyện Mẫu", "Tổng cộng"}
    recalculated = total_rows(recalculated_form1(paths["workbook"], tmp_path))
    assert recalculated == cached
    assert recalculated["Cộng Huyện Tuy Phước"] == [80 - 7, 68 - 6, 7, 4, 70 - 5, 48 - 3, 40 - 3, 78 - 6 + 1234]


# The text a figure in error is written as ---------------------------------------------------------


@pytest.mark.parametrize("value", [-1.0, 2.5, 1.234, 12.345, 0.1 + 0.2, 1e-7, 1e20, -0.5, 123456.75])
@pytest.mark.parametrize("percent", [False, True])
def test_a_figure_written_as_text_reads_back_as_itself(value, percent):
    """A province reading the district's text must find the very figure, so the same rule flags it."""
    from consolidate.write.workbook import number_text

    text = number_text(value, percent)
    assert "e" not in text.lower() and "." not in text
    assert interpret(text, percent=percent).value == value


def test_a_long_text_is_cut_in_the_total_rows_comment_not_in_its_cell(inbox, out):
    essay = "Đơn vị chưa thống kê được số máy in vì đang chờ bàn giao từ huyện " * 12  # under the reader's 1,000 a cell
    set_cells(unit_file(inbox, "x-phuoc-an"), "Biểu mẫu 1", {"H7": Text(essay)})

    run_cli("run", inbox, "--out", out)

    ws = merged(out)["Biểu mẫu 1"]
    assert ws[f"H{unit_row('Xã Phước An')}"].value == essay.strip()  # the cell shows all the unit typed
    (line,) = [ln for ln in ws[f"A{TOTAL_ROW}"].comment.text.splitlines() if "Xã Phước An" in ln]
    assert line == "– Xã Phước An: Máy in (“Đơn vị chưa thống kê được số máy in vì…”)"
