"""The clerk's traps (issue 22, section 2): what a district clerk meets in the first week and the tool
let pass silently: the sample units list in use, two units files, paths that depend on the working
folder, a Word file "checked" as valid, one round of fixes hiding another, the district's own department
compared with the communes, English codes and "2024S2" where people read."""

from __future__ import annotations

import json
import re
import struct
import zipfile
import zlib
from pathlib import Path

import openpyxl
import pytest

from consolidate.core.periods import period_name
from conftest import Text, read_log, run_cli, set_cells, unit_file

ANOTHER_DISTRICT = ["Xã Mẫu Một", "Xã Mẫu Hai", "Xã Mẫu Ba", "Xã Mẫu Bốn", "Thị trấn Mẫu"]


def page(out: Path) -> str:
    (path,) = out.glob("tong-hop-*.html")
    return path.read_text(encoding="utf-8")


def another_districts_inbox(inbox: Path) -> Path:
    """Five files of a district that is not Tuy Phước: its communes' own names on Biểu mẫu 1."""
    files = sorted(inbox.glob("*.xlsx"))
    for path, name in zip(files, ANOTHER_DISTRICT):
        set_cells(path, "Biểu mẫu 1", {"B7": name})
    for path in files[len(ANOTHER_DISTRICT):]:
        path.unlink()
    return inbox


# a) Which units list is in use ------------------------------------------------------------------


def test_another_districts_files_with_the_sample_list_say_so_first_and_suggest_nothing_from_it(inbox, out):
    another_districts_inbox(inbox)

    result = run_cli("run", inbox, "--out", out, "--no-history")

    first = result.output.splitlines()[0]
    assert "danh sách đơn vị mẫu" in first and "Tuy Phước" in first
    assert "consolidate init" in first
    # no "có phải: Xã Phước An?" for a commune of another district, anywhere
    assert "có phải" not in result.output
    log = read_log(out)
    assert not [row for row in log if "có phải" in row["message"]]
    assert [row["code"] for row in log][0] == "sample-units-list"
    assert "danh sách đơn vị mẫu" in page(out)


def test_the_sample_inbox_with_the_sample_list_is_not_warned_and_keeps_its_suggestions(inbox, out):
    set_cells(unit_file(inbox, "x-phuoc-an"), "Biểu mẫu 1", {"B7": "Xã Phước Ann"})

    result = run_cli("run", inbox, "--out", out, "--no-history")

    assert "danh sách đơn vị mẫu" not in result.output.splitlines()[0]
    assert "sample-units-list" not in {row["code"] for row in read_log(out)}
    assert "(có phải: Xã Phước An" in result.output


def test_every_run_names_the_units_list_and_the_settings_it_uses(inbox, out, tmp_path):
    assert run_cli("init", tmp_path / "cau-hinh").exit_code == 0

    builtin = run_cli("run", inbox, "--out", out, "--no-history")
    own = run_cli("run", inbox, "--out", out, "--no-history", "--config", tmp_path / "cau-hinh" / "cau-hinh.toml")

    said = [line for line in builtin.output.splitlines() if line.startswith("Danh sách đơn vị:")]
    assert len(said) == 1 and "mẫu có sẵn" in said[0] and "huyện Tuy Phước" in said[0]
    (line,) = [line for line in own.output.splitlines() if line.startswith("Danh sách đơn vị:")]
    assert "don-vi.xlsx" in line and "cau-hinh.toml" in line and "14 đơn vị báo cáo" in line


def test_an_empty_inbox_says_it_is_empty_and_how_files_get_there(tmp_path):
    (tmp_path / "inbox").mkdir()

    result = run_cli("run", tmp_path / "inbox", "--out", tmp_path / "outbox", "--no-history")

    lines = result.output.splitlines()
    said = next(line for line in lines if "trống" in line)
    assert "chưa có tệp" in said
    assert "chép" in said.lower() and "consolidate serve" in said


# b) One units file, not two -------------------------------------------------------------------


def test_a_units_list_edited_in_excel_after_init_is_the_one_the_run_uses(inbox, out, tmp_path):
    folder = tmp_path / "cau-hinh"
    assert run_cli("init", folder).exit_code == 0
    wb = openpyxl.load_workbook(folder / "don-vi.xlsx")
    ws = wb.worksheets[0]
    ws.append(["x-phuoc-moi", "Xã Phước Mới", "xã", "tuy-phuoc"])  # the clerk adds a commune in Excel
    wb.save(folder / "don-vi.xlsx")

    result = run_cli("run", inbox, "--out", out, "--no-history", "--config", folder / "cau-hinh.toml")

    assert result.exit_code in (0, 1), result.output
    assert "Đơn vị đã báo cáo: 14/15." in result.output
    assert "Chưa báo cáo: Xã Phước Mới." in result.output


def test_two_units_files_that_differ_beside_each_other_are_refused(inbox, out, tmp_path):
    """A folder made by an older version: don-vi.csv named by the settings, don-vi.xlsx edited in Excel."""
    folder = tmp_path / "cau-hinh"
    folder.mkdir()
    csv_text = ("Mã,Tên đơn vị,Cấp,Mã đơn vị cấp trên\nh,Huyện Mới,huyện,\nx1,Xã Phước An,xã,h\n"
                "x2,Xã Phước Hòa,xã,h\n")
    (folder / "don-vi.csv").write_text(csv_text, encoding="utf-8")
    wb = openpyxl.Workbook()
    for row in [r.split(",") for r in csv_text.splitlines()] + [["x3", "Xã Phước Sơn", "xã", "h"]]:
        wb.active.append(row)
    wb.save(folder / "don-vi.xlsx")
    (folder / "cau-hinh.toml").write_text('units = "don-vi.csv"\n', encoding="utf-8")

    result = run_cli("run", inbox, "--out", out, "--config", folder / "cau-hinh.toml")

    assert result.exit_code == 2
    assert "don-vi.csv" in result.output and "don-vi.xlsx" in result.output
    assert "khác nhau" in result.output
    assert not out.exists()


# c) Paths do not depend on the working folder ------------------------------------------------


def test_history_run_inside_the_output_folder_finds_its_store(inbox, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run_cli("run", inbox).exit_code == 1  # Phước Sơn's real error; outputs into ./outbox
    monkeypatch.chdir(tmp_path / "outbox")

    listing = run_cli("history")
    exported = run_cli("export", "--format", "csv", "--out", tmp_path / "xuat")

    assert listing.exit_code == 0, listing.output
    assert "Các kỳ đã lưu (1):" in listing.output
    assert exported.exit_code == 0, exported.output


def test_a_relative_units_path_in_a_settings_file_is_relative_to_that_file(inbox, tmp_path, monkeypatch):
    folder = tmp_path / "cau-hinh"
    assert run_cli("init", folder).exit_code == 0
    elsewhere = tmp_path / "noi-khac"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)

    result = run_cli("run", inbox, "--out", tmp_path / "outbox", "--no-history", "--config",
                     Path("..") / "cau-hinh" / "cau-hinh.toml")

    assert "Đơn vị đã báo cáo: 14/14." in result.output, result.output


# d) check refuses what is not a report ---------------------------------------------------------


def _zip(path: Path, parts: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in parts.items():
            zf.writestr(name, text)
    return path


CONTENT_TYPES = '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>'


def word_file(path: Path) -> Path:
    """A .docx as Word saves it: a zip of parts under word/."""
    return _zip(path, {"[Content_Types].xml": CONTENT_TYPES, "_rels/.rels": "<Relationships/>",
                       "word/document.xml": "<w:document><w:body><w:p><w:r><w:t>Báo cáo</w:t></w:r></w:p></w:body></w:document>"})


def powerpoint_file(path: Path) -> Path:
    return _zip(path, {"[Content_Types].xml": CONTENT_TYPES, "_rels/.rels": "<Relationships/>",
                       "ppt/presentation.xml": "<p:presentation/>"})


def png_file(path: Path) -> Path:
    """A 1×1 photo of the report, as a phone would send."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(b"\x00\xff\xff\xff")) + chunk(b"IEND", b""))
    return path


def pdf_file(path: Path) -> Path:
    path.write_bytes(b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n")
    return path


@pytest.mark.parametrize("make, name, kind", [
    (word_file, "bao-cao-xa-phuoc-an.docx", "tệp Word"),
    (pdf_file, "bao-cao-xa-phuoc-an.pdf", "tệp PDF"),
    (png_file, "anh-chup-bao-cao.png", "ảnh"),
    (powerpoint_file, "bao-cao.pptx", "tệp PowerPoint"),
])
def test_check_on_a_file_that_is_not_a_spreadsheet_is_an_error_named_for_what_it_is(tmp_path, make, name, kind):
    path = make(tmp_path / name)

    result = run_cli("check", path)
    as_json = json.loads(run_cli("check", path, "--json").output)

    assert result.exit_code == 1, result.output
    assert f"Tệp {name}: 1 lỗi, 0 cảnh báo." in result.output
    assert kind in result.output and "tệp nén zip" not in result.output
    assert as_json[0]["verdict"] == "errors"


def test_a_word_file_in_the_inbox_is_named_as_word_in_the_run_s_log(inbox, out):
    word_file(inbox / "cong-van-xa-phuoc-an.docx")

    run_cli("run", inbox, "--out", out, "--no-history")

    (row,) = [row for row in read_log(out) if row["file"] == "cong-van-xa-phuoc-an.docx"]
    assert "tệp Word" in row["message"] and "zip" not in row["message"]


# e) One round of fixes, not two ----------------------------------------------------------------


def test_a_count_typed_with_its_unit_word_and_the_broken_total_are_both_said_at_once(inbox, out):
    path = unit_file(inbox, "x-phuoc-an")  # Tổng số 5 = 5 + 0 + 0 in the sample
    set_cells(path, "Biểu mẫu 1", {"C7": 6, "D7": Text("5 người")})

    checked = json.loads(run_cli("check", path, "--json").output)[0]
    run_cli("run", inbox, "--out", out, "--no-history")

    found = {(p["cell"], p["code"]) for p in checked["problems"]}
    assert found == {("D7", "not-a-number"), ("C7", "total-mismatch")}
    mismatch = next(p for p in checked["problems"] if p["code"] == "total-mismatch")
    assert mismatch["message"].startswith("Tổng số 6 ≠ 5 + 0 + 0 (= 5)")
    logged = {(row["cell"], row["code"]) for row in read_log(out) if row["file"] == path.name}
    assert logged == {("D7", "not-a-number"), ("C7", "total-mismatch")}


def test_a_count_typed_with_its_unit_word_that_adds_up_is_only_the_typing_error(inbox):
    path = unit_file(inbox, "x-phuoc-an")
    set_cells(path, "Biểu mẫu 1", {"D7": Text("5 người")})

    checked = json.loads(run_cli("check", path, "--json").output)[0]

    assert [(p["cell"], p["code"]) for p in checked["problems"]] == [("D7", "not-a-number")]


# f) Compare like with like -------------------------------------------------------------------


def test_the_district_department_is_compared_only_with_units_of_its_own_level(inbox, out):
    set_cells(unit_file(inbox, "cap-huyen"), "Biểu mẫu 1", {"I7": 20})  # the district's one-stop: 20 scanners
    set_cells(unit_file(inbox, "x-phuoc-an"), "Biểu mẫu 1", {"G7": 40})  # a commune's typo among communes

    run_cli("run", inbox, "--out", out, "--no-history")

    outliers = {(row["unit"], row["cell"]) for row in read_log(out) if row["code"] == "outlier"}
    assert outliers == {("Xã Phước An", "G7")}


# g) Vietnamese where people read ----------------------------------------------------------------


def test_the_console_summary_names_each_kind_of_problem_in_vietnamese(inbox, out):
    result = run_cli("run", inbox, "--out", out, "--no-history")

    assert "total-mismatch" not in result.output
    assert re.search(r"  Lỗi\s+Tổng số không khớp\s+1\n", result.output)
    summary = json.loads(run_cli("run", inbox, "--out", out, "--no-history", "--json").output)
    assert summary["by_code"][0]["code"] == "total-mismatch"  # codes stay for programs


def test_problems_are_listed_errors_first_in_the_console_and_on_the_page(inbox, out):
    # warnings found while reading ("1.234": a thousand or one?) come before the rules' errors in the log
    set_cells(unit_file(inbox, "cap-huyen"), "Biểu mẫu 1", {"H7": Text("1.234")})
    set_cells(unit_file(inbox, "x-phuoc-an"), "Biểu mẫu 1", {"G7": Text("1.005"), "C7": 9})

    result = run_cli("run", inbox, "--out", out, "--no-history")

    shown = [line for line in result.output.splitlines() if line.startswith("  [")]
    labels = [line.split("]")[0][3:] for line in shown]
    assert "Lỗi" in labels and "Cảnh báo" in labels
    assert labels == sorted(labels, key=["Lỗi", "Cảnh báo", "Thông tin"].index)
    html = page(out)
    an = html[html.index('id="don-vi-x-phuoc-an"'):]
    table = an[:an.index("</table>")]
    levels = re.findall(r'<td class="muc">(.*?)</td>', table)
    assert levels and levels == sorted(levels, key=["Lỗi", "Cảnh báo", "Thông tin"].index)
    assert "Lỗi" in levels and "Cảnh báo" in levels


def test_the_page_and_the_feedback_copy_name_kinds_in_vietnamese_not_codes(inbox, out):
    run_cli("run", inbox, "--out", out, "--no-history")

    html = page(out)
    assert "total-mismatch" not in html and "Mã lỗi" not in html
    assert "<td>Tổng số không khớp</td>" in html or ">Tổng số không khớp<" in html
    ws = openpyxl.load_workbook(out / "phan-hoi" / "bao-cao-x-phuoc-son.xlsx")["Phản hồi"]
    cells = [c.value for row in ws.iter_rows() for c in row if c.value is not None]
    assert "total-mismatch" not in cells and "Mã lỗi" not in cells
    assert "Tổng số không khớp" in cells
    # the CSV log keeps the code, for programs and for asking for help
    assert [row["code"] for row in read_log(out)] == ["total-mismatch"]


def test_every_dhis2_period_code_has_vietnamese_words():
    assert period_name("2024S2") == "6 tháng cuối năm 2024"
    assert period_name("2024S1") == "6 tháng đầu năm 2024"
    assert period_name("2024Q3") == "Quý III năm 2024"
    assert period_name("202408") == "Tháng 8 năm 2024"
    assert period_name("2024") == "Năm 2024"
    assert period_name("20240315") == "Ngày 15/3/2024"
    assert period_name("2024W10") == "Tuần 10 năm 2024"
    assert period_name("202401B") == "Tháng 1 và tháng 2 năm 2024"
    assert period_name("2024April") == "Năm tài chính từ tháng 4/2024 đến tháng 3/2025"
    assert period_name("2024s1") == "6 tháng đầu năm 2024"
    assert period_name("không phải kỳ") == "không phải kỳ"


def test_the_page_s_history_says_periods_as_people_say_them(inbox, tmp_path):
    out = tmp_path / "outbox"
    for period in ("2024S1", "2024S2"):
        config = tmp_path / f"cau-hinh-{period}.toml"
        config.write_text(f'period = "{period}"\n', encoding="utf-8")
        run_cli("run", inbox, "--out", out, "--config", config)

    html = page(out)
    section = html[html.index('<h2 id="lich-su">'):]
    assert "2024S1" not in section and "2024S2" not in section
    assert "Kỳ báo cáo này: <b>6 tháng cuối năm 2024</b>" in section
    assert "so với kỳ trước (6 tháng đầu năm 2024)" in section
    assert "6 tháng đầu năm 2024: " in section  # the captions of the small charts
