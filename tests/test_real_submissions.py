"""What units really send: hand-edited templates, other programs, resubmissions.

Each case builds the messy workbook in code, runs the tool and checks the
exact value read and the exact log entry (code and cell).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import unicodedata
from pathlib import Path

import openpyxl
import pytest

from conftest import merged, read_log, run_cli, set_cells, unit_file

SOFFICE = shutil.which("soffice")
needs_soffice = pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (Debian package libreoffice-calc-nogui) is not installed")


def edit(path: Path, sheet: str, change) -> None:
    wb = openpyxl.load_workbook(path)
    change(wb[sheet] if sheet else wb)
    wb.save(path)


def row_of(out: Path, name: str, sheet: str = "Biểu mẫu 1") -> list:
    ws = merged(out)[sheet]
    row = next(r for r in ws.iter_rows(min_row=7) if r[1].value == name)
    return [c.value for c in row[2:10]]


def entries(out: Path, file: str) -> list[tuple[str, str, str]]:
    return [(e["sheet"], e["cell"], e["code"]) for e in read_log(out) if e["file"] == file]


def convert(src: Path, fmt: str, outdir: Path) -> Path:
    subprocess.run(
        [SOFFICE, "--headless", f"-env:UserInstallation=file://{outdir}/lo-profile", "--convert-to", fmt,
         "--outdir", str(outdir), str(src)],
        check=True, capture_output=True, timeout=180,
    )
    return outdir / f"{src.stem}.{fmt}"


# Layout -----------------------------------------------------------------------


def test_rows_and_columns_inserted_above_and_left_keep_their_cells(inbox, out):
    path = unit_file(inbox, "x-phuoc-loc")

    def shift(ws):
        ws.insert_rows(1, 3)
        ws.insert_cols(1, 2)
        ws["A1"] = "UBND XÃ PHƯỚC LỘC"

    edit(path, "Biểu mẫu 1", shift)
    set_cells(path, "Biểu mẫu 1", {"I10": -2})  # Máy tính, moved from G7

    run_cli("run", inbox, "--out", out)

    assert entries(out, path.name) == [("Biểu mẫu 1", "I10", "negative-count")]
    assert row_of(out, "Xã Phước Lộc") == [6, 6, 0, 0, "-2", 3, 2, 6]  # in error: as typed, as text


def test_blank_rows_under_the_header_notes_below_and_a_renamed_sheet(inbox, out):
    path = unit_file(inbox, "x-phuoc-loc")

    def mess(wb):
        ws = wb["Biểu mẫu 1"]
        ws.insert_rows(7, 2)
        ws["B12"] = "Ghi chú: số liệu đến ngày 25/7/2024"
        ws["G15"] = "Người lập biểu"
        ws.title = "BM1"
        wb["Biểu mẫu 2"].title = "Sheet2"

    edit(path, "", mess)
    run_cli("run", inbox, "--out", out)

    assert entries(out, path.name) == []
    assert row_of(out, "Xã Phước Lộc") == [6, 6, 0, 0, 4, 3, 2, 6]


def test_header_labels_typed_differently(inbox, out):
    path = unit_file(inbox, "x-phuoc-loc")

    def relabel(ws):
        ws["F6"] = "Thuê nhân viên\nDN BCCI"
        ws["G6"] = "máy  tinh"
        ws["B5"] = "BỘ PHẬN MỘT CỬA"

    edit(path, "Biểu mẫu 1", relabel)
    run_cli("run", inbox, "--out", out)
    assert entries(out, path.name) == []
    assert row_of(out, "Xã Phước Lộc") == [6, 6, 0, 0, 4, 3, 2, 6]


def test_a_missing_column_is_named_and_the_form_not_merged(inbox, out):
    path = unit_file(inbox, "x-phuoc-loc")
    edit(path, "Biểu mẫu 1", lambda ws: ws.__setitem__("I6", "Ghi chú"))
    run_cli("run", inbox, "--out", out)
    log = [e for e in read_log(out) if e["file"] == path.name]
    assert [(e["code"], e["message"]) for e in log] == [("header-incomplete", "Bảng Biểu mẫu 1 thiếu cột “Máy scan”.")]


# Values -----------------------------------------------------------------------


def test_numbers_typed_as_text_are_read_and_noted(inbox, out):
    path = unit_file(inbox, "x-phuoc-loc")
    set_cells(path, "Biểu mẫu 1", {"G7": " 4 ", "H7": "3.0"})
    set_cells(path, "Biểu mẫu 2", {"C7": "97,8", "E7": "96,5%"})

    run_cli("run", inbox, "--out", out)

    log = [e for e in read_log(out) if e["file"] == path.name]
    assert [(e["cell"], e["code"], e["severity"]) for e in log] == [
        ("G7", "value-interpreted", "info"),
        ("H7", "value-interpreted", "info"),
        ("C7", "value-interpreted", "info"),
        ("E7", "value-interpreted", "info"),
    ]
    assert log[2]["message"] == "Ô “Tỷ lệ nộp hồ sơ trực tuyến – (i) Kết quả trước khi chuyển giao” ghi “97,8” dạng chữ, đã hiểu là 97,8."
    assert row_of(out, "Xã Phước Lộc") == [6, 6, 0, 0, 4, 3, 2, 6]
    detail = [r for r in merged(out)["Chi tiết Biểu mẫu 2"].iter_rows(min_row=5, values_only=True) if r[1] == "Xã Phước Lộc"]
    assert (detail[0][3], detail[0][5]) == (97.8, 96.5)


def test_a_rate_stored_as_a_fraction_in_a_percent_cell_is_what_excel_shows(inbox, out):
    path = unit_file(inbox, "x-phuoc-loc")

    def fraction(ws):
        ws["E8"] = 0.978
        ws["E8"].number_format = "0.0%"

    edit(path, "Biểu mẫu 2", fraction)
    run_cli("run", inbox, "--out", out)
    assert entries(out, path.name) == []
    detail = [r for r in merged(out)["Chi tiết Biểu mẫu 2"].iter_rows(min_row=5, values_only=True)
              if r[1] == "Xã Phước Lộc" and r[2] == "Tỷ lệ thanh toán trực tuyến"]
    assert detail[0][5] == pytest.approx(97.8)


def test_a_thousands_separator_is_read_but_flagged_as_ambiguous(inbox, out):
    path = unit_file(inbox, "x-phuoc-loc")
    set_cells(path, "Biểu mẫu 1", {"J7": "1.006"})
    run_cli("run", inbox, "--out", out)
    entry, outlier = [e for e in read_log(out) if e["file"] == path.name]
    assert (entry["cell"], entry["code"], entry["severity"]) == ("J7", "value-ambiguous", "warning")
    assert (outlier["cell"], outlier["code"]) == ("J7", "outlier")  # 1006 signatures is far from the others
    assert entry["message"] == "Ô “Chữ ký số được cấp” ghi “1.006”: có thể là 1006 hoặc 1,01; đã hiểu là 1006."
    assert row_of(out, "Xã Phước Lộc")[-1] == 1006


def test_a_formula_that_cannot_be_evaluated_is_reported_once(inbox, out):
    path = unit_file(inbox, "x-phuoc-loc")
    set_cells(path, "Biểu mẫu 1", {"C7": "=ROUND(D7*1,0)"})  # saved by openpyxl: no cached value
    run_cli("run", inbox, "--out", out)
    assert entries(out, path.name) == [("Biểu mẫu 1", "C7", "formula-without-value")]


def test_a_sum_formula_without_cached_value_is_computed(inbox, out):
    path = unit_file(inbox, "x-phuoc-son")
    set_cells(path, "Biểu mẫu 1", {"C7": "=SUM(D7:F7)"})
    run_cli("run", inbox, "--out", out)
    assert entries(out, path.name) == []  # 6 = 6 + 0 + 0 now
    assert row_of(out, "Xã Phước Sơn")[0] == 6


# Units ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        unicodedata.normalize("NFD", "Xã Phước Hòa"),
        "Xã Phước Hoà",
        "  xã   phước hòa ",
    ],
    ids=["nfd", "old-tone-placement", "spaces-and-case"],
)
def test_unit_names_in_other_spellings_are_matched_silently(inbox, out, typed):
    path = unit_file(inbox, "x-phuoc-hoa")
    set_cells(path, "Biểu mẫu 1", {"B7": typed})
    result = run_cli("run", inbox, "--out", out)
    assert entries(out, path.name) == []
    assert "Đơn vị đã báo cáo: 14/14." in result.output


def test_a_unit_name_without_its_prefix_is_matched_and_noted(inbox, out):
    path = unit_file(inbox, "x-phuoc-hoa")
    set_cells(path, "Biểu mẫu 1", {"B7": "Phước Hòa"})
    run_cli("run", inbox, "--out", out)
    (entry,) = [e for e in read_log(out) if e["file"] == path.name]
    assert (entry["cell"], entry["code"], entry["unit"]) == ("B7", "unit-name-interpreted", "Xã Phước Hòa")
    assert row_of(out, "Xã Phước Hòa") == [6, 6, 0, 0, 6, 4, 4, 6]


def test_an_unknown_unit_names_the_closest_ones(inbox, out):
    path = unit_file(inbox, "x-phuoc-hoa")
    set_cells(path, "Biểu mẫu 1", {"B7": "Xã Phước Hảo"})
    result = run_cli("run", inbox, "--out", out)
    entry = next(e for e in read_log(out) if e["file"] == path.name)
    assert (entry["cell"], entry["code"]) == ("B7", "unit-unknown")
    assert "có phải: Xã Phước Hòa" in entry["message"]
    assert "Chưa báo cáo: Xã Phước Hòa." in result.output


# Files ------------------------------------------------------------------------


def test_lock_files_hidden_files_and_pictures_are_listed_and_skipped(inbox, out):
    (inbox / "~$bao-cao-x-phuoc-an.xlsx").write_bytes(b"\x00" * 165)
    (inbox / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (inbox / "anh-chup.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 100)

    result = run_cli("run", inbox, "--out", out)

    got = {e["file"]: (e["code"], e["severity"]) for e in read_log(out) if e["code"].startswith("file-")}
    assert got == {
        "~$bao-cao-x-phuoc-an.xlsx": ("file-skipped", "info"),
        ".DS_Store": ("file-skipped", "info"),
        "anh-chup.jpg": ("file-not-spreadsheet", "warning"),
    }
    assert "Đơn vị đã báo cáo: 14/14." in result.output


def test_a_workbook_with_only_one_form_gives_what_it_has(inbox, out):
    path = unit_file(inbox, "x-phuoc-an")
    edit(path, "", lambda wb: wb.remove(wb["Biểu mẫu 2"]))
    run_cli("run", inbox, "--out", out)
    log = [e for e in read_log(out) if e["file"] == path.name]
    assert [(e["code"], e["unit"]) for e in log] == [("form-missing", "Xã Phước An")]
    assert row_of(out, "Xã Phước An") == [5, 5, 0, 0, 5, 3, 3, 4]
    detail = [r for r in merged(out)["Chi tiết Biểu mẫu 2"].iter_rows(min_row=5, values_only=True) if r[1] == "Xã Phước An"]
    assert detail[0][2] == "Không có số liệu biểu này"


def test_a_workbook_with_only_form2_is_attributed_by_its_unit_line(inbox, out):
    path = unit_file(inbox, "x-phuoc-an")
    edit(path, "", lambda wb: wb.remove(wb["Biểu mẫu 1"]))
    run_cli("run", inbox, "--out", out)
    assert [(e["code"], e["unit"]) for e in read_log(out) if e["file"] == path.name] == [("form-missing", "Xã Phước An")]
    detail = [r for r in merged(out)["Chi tiết Biểu mẫu 2"].iter_rows(min_row=5, values_only=True) if r[1] == "Xã Phước An"]
    assert len(detail) == 5 and isinstance(detail[0][3], float)


def test_an_xlsm_is_read_for_its_values(inbox, out):
    path = unit_file(inbox, "x-phuoc-an")
    path.rename(path.with_suffix(".xlsm"))
    result = run_cli("run", inbox, "--out", out)
    assert "Đơn vị đã báo cáo: 14/14." in result.output
    assert entries(out, "bao-cao-x-phuoc-an.xlsm") == []


def test_a_real_xlsx_named_xls_is_read_by_its_content(inbox, out):
    path = unit_file(inbox, "x-phuoc-an")
    path.rename(path.with_suffix(".xls"))
    run_cli("run", inbox, "--out", out)
    assert entries(out, "bao-cao-x-phuoc-an.xls") == [("", "", "file-format-mismatch")]
    assert row_of(out, "Xã Phước An") == [5, 5, 0, 0, 5, 3, 3, 4]


@needs_soffice
@pytest.mark.parametrize("fmt", ["xls", "ods"])
def test_legacy_xls_and_libreoffice_ods_submissions(inbox, out, tmp_path, fmt):
    src = unit_file(inbox, "x-phuoc-an")
    set_cells(src, "Biểu mẫu 1", {"H7": -1})
    converted = convert(src, fmt, tmp_path / "conv")
    src.unlink()
    shutil.copy(converted, inbox / converted.name)

    run_cli("run", inbox, "--out", out)

    assert entries(out, converted.name) == [("Biểu mẫu 1", "H7", "negative-count")]
    assert row_of(out, "Xã Phước An") == [5, 5, 0, 0, 5, "-1", 3, 4]  # in error: as typed, as text


@needs_soffice
def test_an_xls_named_xlsx_is_read_by_its_content(inbox, out, tmp_path):
    src = unit_file(inbox, "x-phuoc-an")
    converted = convert(src, "xls", tmp_path / "conv")
    shutil.copy(converted, src)  # .xls bytes under the .xlsx name
    run_cli("run", inbox, "--out", out)
    (entry,) = [e for e in read_log(out) if e["file"] == src.name]
    assert entry["code"] == "file-format-mismatch"
    assert "Excel 97–2003 (.xls)" in entry["message"]
    assert row_of(out, "Xã Phước An") == [5, 5, 0, 0, 5, 3, 3, 4]


# Resubmissions and periods ------------------------------------------------------


def test_a_version_number_in_the_name_wins(inbox, out):
    old = unit_file(inbox, "x-phuoc-son")
    new = inbox / "bao-cao-x-phuoc-son_v2.xlsx"
    shutil.copy(old, new)
    set_cells(new, "Biểu mẫu 1", {"C7": 6})
    os.utime(new, (1_700_000_000, 1_700_000_000))  # older on disk, but version 2
    result = run_cli("run", inbox, "--out", out)

    assert result.exit_code == 0, result.output
    (entry,) = read_log(out)
    assert (entry["file"], entry["code"], entry["severity"]) == (old.name, "superseded", "warning")
    assert "bao-cao-x-phuoc-son_v2.xlsx" in entry["message"] and "bản số 2" in entry["message"]
    assert row_of(out, "Xã Phước Sơn")[0] == 6
    status = merged(out)["Tình trạng nộp"]
    son = next(r for r in status.iter_rows(min_row=2, values_only=True) if r[1] == "Xã Phước Sơn")
    assert son[2:4] == ("Đã báo cáo", "bao-cao-x-phuoc-son_v2.xlsx")


def test_the_newer_file_wins_and_lan_2_counts_as_a_version(inbox, out):
    old = unit_file(inbox, "x-phuoc-son")
    newer = inbox / "Phuoc Son gui lai.xlsx"
    shutil.copy(old, newer)
    set_cells(newer, "Biểu mẫu 1", {"C7": 6})
    os.utime(old, (1_700_000_000, 1_700_000_000))
    os.utime(newer, (1_700_000_600, 1_700_000_600))
    run_cli("run", inbox, "--out", out)
    assert [(e["file"], e["code"]) for e in read_log(out)] == [(old.name, "superseded")]

    from consolidate.core.choosing import version
    names = ("a_v2.xlsx", "Phước Sơn lần 3.xlsx", "bao cao (4).xlsx", "bao-cao.xlsx", "bao cao v3 (1).xlsx", "bc_V2_final.xlsx")
    assert [version(n) for n in names] == [(2, 0), (3, 0), (1, 4), (1, 0), (3, 1), (2, 0)]


def test_two_different_files_that_cannot_be_ordered_are_an_error_naming_both(inbox, out):
    a = unit_file(inbox, "x-phuoc-son")
    b = inbox / "phuoc-son-ban-sua.xlsx"
    shutil.copy(a, b)
    set_cells(b, "Biểu mẫu 1", {"C7": 6})
    for p in (a, b):
        os.utime(p, (1_700_000_000, 1_700_000_000))

    result = run_cli("run", inbox, "--out", out)

    conflicts = [e for e in read_log(out) if e["code"] == "resubmission-conflict"]
    assert {e["file"] for e in conflicts} == {a.name, b.name}
    assert all(a.name in e["message"] and b.name in e["message"] for e in conflicts)
    assert "Báo cáo không dùng được: Xã Phước Sơn." in result.output
    ws = merged(out)["Biểu mẫu 1"]
    son = next(r for r in ws.iter_rows(min_row=7) if r[1].value == "Xã Phước Sơn")
    assert son[2].value == "Báo cáo không dùng được"


def test_an_identical_copy_is_noted_not_an_error(inbox, out):
    a = unit_file(inbox, "x-phuoc-an")
    b = inbox / "copy" / a.name
    b.parent.mkdir()
    shutil.copy2(a, b)
    run_cli("run", inbox, "--out", out)
    dup = [e for e in read_log(out) if e["code"] == "duplicate-file"]
    assert len(dup) == 1 and dup[0]["severity"] == "info"


def test_a_file_for_another_period_is_reported_not_merged(inbox, out):
    path = unit_file(inbox, "x-phuoc-an")
    set_cells(path, "Biểu mẫu 2", {"C5": "(i) Kết quả đạt được trước khi chuyển giao (từ 01/01/2023 – 30/4/2023) (Tỷ lệ %)"})
    result = run_cli("run", inbox, "--out", out)
    entry = next(e for e in read_log(out) if e["file"] == path.name)
    assert entry["code"] == "period-mismatch"
    assert "01/01/2023 – 30/4/2023" in entry["message"]
    assert "Báo cáo không dùng được: Xã Phước An." in result.output
    assert "Đơn vị đã báo cáo: 13/14." in result.output


# Legacy encodings ---------------------------------------------------------------

from consolidate.read.legacy import TCVN3, VNI, decode  # noqa: E402


def encode(text: str, encoding: str) -> str:
    """Unicode text as a TCVN3 or VNI font would store it (capitals with tones as lower case, as in .VnTimeH)."""
    table = {v: k for k, v in (TCVN3 if encoding == "tcvn3" else VNI).items()}
    out = []
    for ch in text:
        if ch in table:
            out.append(table[ch])
        elif ch.lower() in table and encoding == "tcvn3":
            out.append(table[ch.lower()])
        else:
            out.append(ch)
    return "".join(out)


def test_the_legacy_tables_read_known_text():
    assert decode("X· Ph\xadíc S¬n", "tcvn3") == "Xã Phước Sơn"
    assert decode("B¶o Th¾ng", "tcvn3") == "Bảo Thắng"
    assert decode("Xaõ Phöôùc Sôn", "vni") == "Xã Phước Sơn"
    assert decode("Boä phaän Moät cöûa", "vni") == "Bộ phận Một cửa"
    assert decode("THÒ TRAÁN TUY PHÖÔÙC", "vni") == "THỊ TRẤN TUY PHƯỚC"


@pytest.mark.parametrize("encoding", ["tcvn3", "vni"])
def test_a_workbook_typed_in_a_legacy_encoding_is_converted(inbox, out, encoding):
    path = unit_file(inbox, "x-phuoc-thuan")

    def to_legacy(wb):
        for ws in wb:
            for row in ws.iter_rows():
                for c in row:
                    if isinstance(c.value, str) and not isinstance(c, openpyxl.cell.cell.MergedCell):
                        c.value = encode(c.value, encoding)

    edit(path, "", to_legacy)
    assert openpyxl.load_workbook(path)["Biểu mẫu 1"]["B7"].value != "Xã Phước Thuận"

    run_cli("run", inbox, "--out", out)

    log = [e for e in read_log(out) if e["file"] == path.name]
    assert [(e["code"], e["severity"]) for e in log] == [("legacy-encoding", "info")]
    assert ("TCVN3" if encoding == "tcvn3" else "VNI") in log[0]["message"]
    assert row_of(out, "Xã Phước Thuận") == [6, 6, 0, 0, 6, 5, 3, 6]


def test_a_unit_name_typed_in_vni_on_a_unicode_template_is_matched(inbox, out):
    path = unit_file(inbox, "x-phuoc-thuan")
    set_cells(path, "Biểu mẫu 1", {"B7": "Xaõ Phöôùc Thuaän"})
    run_cli("run", inbox, "--out", out)
    (entry,) = [e for e in read_log(out) if e["file"] == path.name]
    assert (entry["cell"], entry["code"], entry["unit"]) == ("B7", "legacy-encoding", "Xã Phước Thuận")
