"""The district clerk's story: run the tool on the inbox and read the merged workbook."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from consolidate.write.sample import SEED_FORM1, SEED_FORM2
from consolidate.core.template import FORM1_FIELDS
from conftest import Text, checksums, merged, read_log, run_cli, set_cells, unit_file

SEED = Path(__file__).resolve().parents[2] / "shared" / "seeds" / "bao-cao-362-tuy-phuoc-2024.txt"
# Column sums of the seed's Biểu mẫu 1, computed by hand from the report.
SEED_TOTALS = [80, 68, 7, 4, 70, 48, 40, 78]
# What the merged Tổng cộng adds: Phước Sơn's Tổng số 7 ≠ 6 + 0 + 0 breaks a rule, so none of the four
# figures of that rule is added (issue 22): they are shown, and the total obeys Tổng số = its parts.
MERGED_TOTALS = [80 - 7, 68 - 6, *SEED_TOTALS[2:]]
UNITS_IN_ORDER = list(SEED_FORM1)


def form1_rows(ws):
    """(name, [8 values]) for each unit row of the merged Biểu mẫu 1, from row 7 on."""
    rows = []
    for r in range(7, 7 + 14):
        rows.append((ws.cell(r, 2).value, [ws.cell(r, c).value for c in range(3, 11)]))
    return rows


def test_sample_inbox_gives_the_seed_table_and_exactly_one_error(inbox, out):
    result = run_cli("run", inbox, "--out", out)

    assert result.exit_code == 1, result.output  # the submissions have an error
    assert "Đơn vị đã báo cáo: 14/14." in result.output
    assert "Lỗi: 1 · Cảnh báo: 0" in result.output

    log = read_log(out)
    assert len(log) == 1
    (entry,) = log
    assert entry["file"] == "bao-cao-x-phuoc-son.xlsx"
    assert (entry["sheet"], entry["cell"], entry["unit"]) == ("Biểu mẫu 1", "C7", "Xã Phước Sơn")
    assert entry["code"] == "total-mismatch"
    assert entry["severity"] == "error"
    assert entry["message"] == "Tổng số 7 ≠ 6 + 0 + 0 (= 6)."

    ws = merged(out)["Biểu mẫu 1"]
    assert ws["A1"].value == "Biểu mẫu 1"
    assert ws["A3"].value == "(Kèm theo Báo cáo số: 362/UBND ngày 09 tháng 8 năm 2024 của UBND huyện Tuy Phước)"
    rows = form1_rows(ws)
    assert [name for name, _ in rows] == UNITS_IN_ORDER
    # its Tổng số rule broken: the four figures of the rule as typed, as text
    son = {"Xã Phước Sơn": ["7", "6", "0", "0", *SEED_FORM1["Xã Phước Sơn"][4:]]}
    assert all(values == son.get(name, list(SEED_FORM1[name])) for name, values in rows)
    assert ws.cell(21, 1).value == "Tổng cộng"
    assert [ws.cell(21, c).value for c in range(3, 11)] == MERGED_TOTALS


def test_totals_are_sum_formulas_that_carry_their_value(inbox, out):
    run_cli("run", inbox, "--out", out)
    ws = merged(out, data_only=False)["Biểu mẫu 1"]
    assert [ws.cell(21, c).value for c in range(3, 11)] == [
        f"=SUM({col}7:{col}20)" for col in "CDEFGHIJ"
    ]


def test_the_two_level_header_is_merged_as_in_the_official_form(inbox, out):
    run_cli("run", inbox, "--out", out)
    ws = merged(out)["Biểu mẫu 1"]
    ranges = {str(r) for r in ws.merged_cells.ranges}
    assert {"A5:A6", "B5:B6", "C5:F5", "G5:I5", "J5:J6"} <= ranges
    assert ws["C5"].value == "Số lượng công chức, viên chức, nhân viên làm việc tại BPMC"
    assert [ws.cell(6, c).value for c in range(3, 10)] == [f.label for f in FORM1_FIELDS[:7]]
    assert ws["J5"].value == "Chữ ký số được cấp"


def test_the_flagged_cell_is_highlighted_and_commented(inbox, out):
    run_cli("run", inbox, "--out", out)
    ws = merged(out)["Biểu mẫu 1"]
    son = 7 + UNITS_IN_ORDER.index("Xã Phước Sơn")
    cell = ws.cell(son, 3)
    assert (cell.value, cell.data_type) == ("7", "s")  # the figure as submitted, as text: no SUM adds it
    assert "Tổng số 7 ≠ 6 + 0 + 0 (= 6)." in cell.comment.text
    assert "bao-cao-x-phuoc-son.xlsx" in cell.comment.text
    assert cell.fill.fgColor.rgb.endswith("FFC7CE")
    part = ws.cell(son, 4).comment.text  # its parts are not blamed, only left out with it
    assert "Số liệu lỗi" not in part and "cùng một quy tắc" in part


def test_form2_is_the_unweighted_mean_with_a_note_and_a_detail_sheet(inbox, out):
    run_cli("run", inbox, "--out", out)
    wb = merged(out)
    detail = wb["Chi tiết Biểu mẫu 2"]
    values: dict[str, list[float]] = {}
    for row in detail.iter_rows(min_row=5, values_only=True):
        if row[2]:
            values.setdefault(row[2], []).append(row[5])
    assert len(values["Tỷ lệ nộp hồ sơ trực tuyến"]) == 14
    district = [r for r in detail.iter_rows(min_row=5, values_only=True) if r[1] == "Cấp huyện"]
    assert [(r[3], r[5]) for r in district] == list(SEED_FORM2.values())

    ws = wb["Biểu mẫu 2"]
    assert [ws.cell(r, 2).value for r in range(7, 12)] == list(values)
    mean_after = ws.cell(7, 5).value
    assert mean_after == pytest.approx(sum(values["Tỷ lệ nộp hồ sơ trực tuyến"]) / 14)
    assert ws.cell(7, 4).value is None  # no target was given
    notes = " ".join(str(c.value) for row in ws.iter_rows(min_row=12) for c in row if c.value)
    assert ("như nhau cho cả 5 chỉ tiêu: (i) Kết quả trước khi chuyển giao: trung bình cộng (không trọng số)"
            " của 14 đơn vị; (ii) Kết quả sau khi chuyển giao: trung bình cộng (không trọng số) của 14 đơn vị.") in notes


def test_the_form2_note_names_each_column_with_words_its_header_shows(inbox, out, tmp_path):
    """The note says how each column was computed; a clerk finds the column by the words the header shows."""
    config = tmp_path / "cau-hinh.toml"
    sample = Path(__file__).parent.parent / "consolidate" / "data" / "tuy-phuoc" / "report.toml"
    config.write_text(sample.read_text(encoding="utf-8") + "\n[form2.targets]\nonline_submission = 90\n", encoding="utf-8")
    run_cli("run", inbox, "--out", out, "--config", config)

    wb = merged(out)
    notes = [str(c.value) for row in wb["Biểu mẫu 2"].iter_rows(min_row=12) for c in row if c.value]
    line = next(n for n in notes if n.startswith("– Tỷ lệ nộp hồ sơ trực tuyến: "))
    named = [part.split(":")[0].strip() for part in line.split(": ", 1)[1].split("; ")]
    headers = " ".join(str(c.value) for ws in (wb["Biểu mẫu 2"], wb["Chi tiết Biểu mẫu 2"])
                       for row in ws.iter_rows(max_row=6) for c in row if c.value)
    assert named == ["(i) Kết quả trước khi chuyển giao", "(ii) Chỉ tiêu UBND tỉnh giao", "(ii) Kết quả sau khi chuyển giao"]
    assert all(label in headers for label in named), (named, headers)
    assert "(ii-a)" not in " ".join(notes) and "(ii-b)" not in " ".join(notes)


def test_a_rate_of_120_and_a_count_of_minus_one_are_caught(inbox, out):
    set_cells(unit_file(inbox, "x-phuoc-an"), "Biểu mẫu 1", {"H7": -1})
    set_cells(unit_file(inbox, "x-phuoc-hiep"), "Biểu mẫu 2", {"E8": 120})

    result = run_cli("run", inbox, "--out", out)

    assert result.exit_code == 1
    found = {(e["file"], e["sheet"], e["cell"], e["code"]): e for e in read_log(out)}
    neg = found[("bao-cao-x-phuoc-an.xlsx", "Biểu mẫu 1", "H7", "negative-count")]
    assert neg["message"] == "Ô “Máy in” ghi -1, nhưng số lượng không được âm."
    assert neg["unit"] == "Xã Phước An"
    rate = found[("bao-cao-x-phuoc-hiep.xlsx", "Biểu mẫu 2", "E8", "rate-out-of-range")]
    assert "120" in rate["message"] and "0–100" in rate["message"]
    assert "Tỷ lệ thanh toán trực tuyến" in rate["message"]

    # a rate that failed its rule is kept in the detail but left out of the mean
    wb = merged(out)
    detail = [r for r in wb["Chi tiết Biểu mẫu 2"].iter_rows(min_row=5, values_only=True)
              if r[1] == "Xã Phước Hiệp" and r[2] == "Tỷ lệ thanh toán trực tuyến"]
    assert detail[0][5] == "120"  # as typed, as text
    notes = " ".join(str(c.value) for row in wb["Biểu mẫu 2"].iter_rows(min_row=12) for c in row if c.value)
    assert ("– Tỷ lệ thanh toán trực tuyến: (i) Kết quả trước khi chuyển giao: trung bình cộng (không trọng số) của"
            " 14 đơn vị; (ii) Kết quả sau khi chuyển giao: trung bình cộng (không trọng số) của 13 đơn vị.") in notes


@pytest.mark.parametrize(
    ("cell", "value", "code", "message"),
    [
        ("G7", 2.5, "not-whole-number", "Ô “Máy tính” ghi 2,5, nhưng số lượng phải là số nguyên."),
        ("G7", "năm", "not-a-number", "Ô “Máy tính” ghi “năm”, không phải là số."),
        ("G7", None, "missing-value", "Ô “Máy tính” bỏ trống."),
    ],
)
def test_each_bad_count_is_one_entry_with_its_cell(inbox, out, cell, value, code, message):
    set_cells(unit_file(inbox, "x-phuoc-loc"), "Biểu mẫu 1", {cell: value})
    run_cli("run", inbox, "--out", out)
    entries = [e for e in read_log(out) if e["file"] == "bao-cao-x-phuoc-loc.xlsx"]
    assert [(e["cell"], e["code"], e["message"]) for e in entries] == [(cell, code, message)]


def test_a_unit_that_did_not_report_is_marked_and_logged(inbox, out):
    unit_file(inbox, "x-phuoc-thang").unlink()

    result = run_cli("run", inbox, "--out", out)

    assert "Đơn vị đã báo cáo: 13/14." in result.output
    assert "Chưa báo cáo: Xã Phước Thắng." in result.output
    entry = next(e for e in read_log(out) if e["code"] == "unit-not-reported")
    assert entry["unit"] == "Xã Phước Thắng" and entry["severity"] == "error"
    ws = merged(out)["Biểu mẫu 1"]
    row = 7 + UNITS_IN_ORDER.index("Xã Phước Thắng")
    assert ws.cell(row, 2).value == "Xã Phước Thắng"
    assert ws.cell(row, 3).value == "Chưa báo cáo"
    assert f"C{row}:J{row}" in {str(r) for r in ws.merged_cells.ranges}
    # the total is over the 13 units that reported (and not Phước Sơn's Tổng số in error)
    assert ws.cell(21, 3).value == 80 - 5 - 7


def test_text_a_unit_typed_stays_text(inbox, out):
    set_cells(unit_file(inbox, "x-phuoc-an"), "Biểu mẫu 1", {"G7": Text("=1+1"), "H7": Text("@SUM(A1)")})
    link = '=HYPERLINK("http://x","Xã Phước Hiệp")'
    set_cells(unit_file(inbox, "x-phuoc-hiep"), "Biểu mẫu 1", {"B7": Text(link)})

    run_cli("run", inbox, "--out", out)

    wb = merged(out, data_only=False)
    ws = wb["Biểu mẫu 1"]
    row = 7 + UNITS_IN_ORDER.index("Xã Phước An")
    assert (ws.cell(row, 7).value, ws.cell(row, 7).data_type) == ("=1+1", "s")
    assert (ws.cell(row, 8).value, ws.cell(row, 8).data_type) == ("@SUM(A1)", "s")
    log_sheet = wb["Nhật ký lỗi"]
    typed = [c for r in log_sheet.iter_rows(min_row=2) for c in r if c.value == link]
    assert typed and all(c.data_type == "s" for c in typed)

    log = read_log(out)
    assert [e["code"] for e in log if e["file"] == "bao-cao-x-phuoc-an.xlsx"] == ["not-a-number", "not-a-number"]
    unknown = next(e for e in log if e["code"] == "unit-unknown")
    assert unknown["unit"] == "'" + link  # guarded as OWASP advises
    assert not [v for e in log for v in e.values() if v.startswith(("=", "+", "-", "@"))]


def test_the_inbox_is_left_untouched(inbox, out):
    before = checksums(inbox)
    run_cli("run", inbox, "--out", out)
    assert checksums(inbox) == before
    assert not list(out.glob("*.tmp")) and not list(out.glob(".*"))


def test_the_csv_log_opens_in_excel_with_vietnamese(inbox, out):
    run_cli("run", inbox, "--out", out)
    raw = (out / "nhat-ky-loi-tuy-phuoc.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    header = raw[3:].split(b"\r\n")[0].decode()
    assert header.split(",")[:8] == ["STT", "Tệp", "Trang tính", "Ô", "Đơn vị", "Mã lỗi", "Mức độ", "Nội dung"]


def test_the_log_sheet_lists_every_problem_in_vietnamese(inbox, out):
    unit_file(inbox, "x-phuoc-thang").unlink()
    run_cli("run", inbox, "--out", out)
    ws = merged(out)["Nhật ký lỗi"]
    head = [c.value for c in ws[4]]  # under the title and the attachment line
    assert head == ["STT", "Tệp", "Trang tính", "Ô", "Đơn vị", "Loại lỗi", "Mức độ", "Nội dung", "Cách khắc phục",
                    "Mã lỗi"]
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=5)]
    assert len(rows) == len(read_log(out))
    errors = [r for r in rows if r[6] == "Lỗi"]
    assert {r[5] for r in errors} == {"Tổng số không khớp", "Đơn vị chưa báo cáo"}
    assert {r[9] for r in errors} == {"total-mismatch", "unit-not-reported"}
    assert {r[6] for r in rows} <= {"Lỗi", "Cảnh báo"}


def test_a_clean_inbox_exits_0(inbox, out):
    set_cells(unit_file(inbox, "x-phuoc-son"), "Biểu mẫu 1", {"C7": 6})
    result = run_cli("run", inbox, "--out", out)
    assert result.exit_code == 0, result.output
    assert read_log(out) == []
    assert merged(out)["Nhật ký lỗi"]["A5"].value == "Không có lỗi."


def test_same_inbox_same_outputs(inbox, tmp_path):
    """Every output, byte for byte: the merged workbook, the log, the page and every feedback copy,
    patched or made by openpyxl (the fallback for a package the patcher does not understand)."""
    import time
    import zipfile

    import hostile

    set_cells(unit_file(inbox, "x-phuoc-an"), "Biểu mẫu 1", {"C7": 99})  # an error: a copy for Phước An too
    an = unit_file(inbox, "x-phuoc-an")
    plain = an.with_suffix(".orig")
    an.rename(plain)
    hostile.rewrite(plain, an, {hostile.SHEET1: lambda x: x.replace("?>", "?><!-- ghi chú -->", 1)})
    plain.unlink()  # an XML comment: the patcher leaves such a part alone, openpyxl makes the copy

    run_cli("run", inbox, "--out", tmp_path / "a")
    time.sleep(2.1)  # zip members carry their time in 2-second steps; core.xml to the second
    os.utime(inbox)
    run_cli("run", inbox, "--out", tmp_path / "b")

    a, b = checksums(tmp_path / "a"), checksums(tmp_path / "b")
    assert {"phan-hoi/bao-cao-x-phuoc-son.xlsx", "phan-hoi/bao-cao-x-phuoc-an.xlsx"} <= set(a)
    with zipfile.ZipFile(tmp_path / "a" / "phan-hoi" / "bao-cao-x-phuoc-an.xlsx") as zf:
        assert not any(b"<!--" in zf.read(n) for n in zf.namelist())  # openpyxl's copy, not a patched one
    assert a == b


def test_same_units_same_templates(tmp_path):
    import time

    run_cli("template", "--out", tmp_path / "a")
    time.sleep(2.1)
    run_cli("template", "--out", tmp_path / "b")
    assert checksums(tmp_path / "a") == checksums(tmp_path / "b") != {}


def test_usage_errors_exit_2(tmp_path, inbox):
    assert run_cli("run", tmp_path / "no-such-folder").exit_code == 2
    assert run_cli("run", inbox, "--out", inbox / "kq").exit_code == 2
    assert not (inbox / "kq").exists()


def test_non_workbooks_in_the_inbox_are_listed_and_skipped(inbox, out):
    (inbox / "ghi-chu.txt").write_text("gửi kèm", encoding="utf-8")
    result = run_cli("run", inbox, "--out", out)
    assert "bỏ qua 1 tệp khác" in result.output
    entry = next(e for e in read_log(out) if e["code"] == "file-not-spreadsheet")
    assert entry["file"] == "ghi-chu.txt" and entry["severity"] == "warning"


def test_a_file_that_is_not_a_workbook_inside_is_one_entry_and_the_rest_merge(inbox, out):
    unit_file(inbox, "x-phuoc-an").write_bytes(b"%PDF-1.4 not a workbook")
    result = run_cli("run", inbox, "--out", out)
    assert result.exit_code == 1
    entries = [e for e in read_log(out) if e["file"] == "bao-cao-x-phuoc-an.xlsx"]
    assert [e["code"] for e in entries] == ["file-unreadable"]
    assert "Đơn vị đã báo cáo: 13/14." in result.output


@pytest.mark.skipif(not SEED.exists(), reason="shared/seeds is not beside this checkout")
def test_sample_figures_are_the_seed_reports(tmp_path):
    rows = [line.rstrip("\n").split("\t") for line in SEED.read_text(encoding="utf-8").splitlines()]
    table = {r[1]: tuple(int(v) for v in r[2:10]) for r in rows if len(r) == 10 and r[0].strip().isdigit()}
    assert table == SEED_FORM1
    assert [sum(col) for col in zip(*table.values())] == SEED_TOTALS


def test_the_detail_sheet_has_dossier_columns_only_when_a_unit_filled_them(inbox, tmp_path):
    run_cli("run", inbox, "--out", tmp_path / "a")
    heads = [c.value for c in merged(tmp_path / "a")["Chi tiết Biểu mẫu 2"][4]]
    assert heads == ["STT", "Đơn vị", "Chỉ tiêu", *heads[3:6]]  # the seed has no dossier counts: no empty columns

    set_cells(unit_file(inbox, "x-phuoc-an"), "Biểu mẫu 2", {"G7": 120})  # dossiers behind rate (ii)
    run_cli("run", inbox, "--out", tmp_path / "b")
    detail = merged(tmp_path / "b")["Chi tiết Biểu mẫu 2"]
    assert [c.value for c in detail[4]][6:] == ["Số hồ sơ làm căn cứ tính tỷ lệ (ii)"]
    an = [r for r in detail.iter_rows(min_row=5, values_only=True) if r[1] == "Xã Phước An"]
    assert an[0][6] == 120 and all(r[6] is None for r in an[1:])
