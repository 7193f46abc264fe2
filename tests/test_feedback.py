"""The unit's story: it gets its own workbook back with each problem marked on the cell."""

from __future__ import annotations

import shutil
from pathlib import Path

import openpyxl
import pytest

from conftest import Text, checksums, run_cli, set_cells, unit_file

HEADER = ["STT", "Trang tính", "Ô", "Mã lỗi", "Mức độ", "Nội dung", "Cách khắc phục"]
RED = "FFFFC7CE"
ORANGE = "FFF8CBAD"


def feedback(out: Path, code: str) -> openpyxl.Workbook:
    return openpyxl.load_workbook(out / "phan-hoi" / f"bao-cao-{code}.xlsx")


def listed(wb: openpyxl.Workbook) -> list[list]:
    """The problem rows of the 'Phản hồi' sheet, below its header."""
    ws = wb["Phản hồi"]
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=1)]
    start = next(i for i, r in enumerate(rows) if r[:7] == HEADER) + 1
    return [r[:7] for r in rows[start:] if r[0] is not None]


def test_a_unit_with_an_error_gets_its_workbook_back_with_the_cell_marked(inbox, out):
    before = checksums(inbox)

    run_cli("run", inbox, "--out", out)

    assert sorted(p.name for p in (out / "phan-hoi").iterdir()) == ["bao-cao-x-phuoc-son.xlsx"]
    wb = feedback(out, "x-phuoc-son")
    assert wb.sheetnames == ["Phản hồi", "Biểu mẫu 1", "Biểu mẫu 2"]
    assert wb.active.title == "Phản hồi"
    sheet = wb["Phản hồi"]
    assert sheet["A1"].value == "Kết quả kiểm tra tệp bao-cao-x-phuoc-son.xlsx"
    assert any("Có 1 lỗi, 0 cảnh báo." in str(c.value) for row in sheet.iter_rows(max_row=3) for c in row)
    assert listed(wb) == [[
        1, "Biểu mẫu 1", "C7", "total-mismatch", "Lỗi", "Tổng số 7 ≠ 6 + 0 + 0 (= 6).",
        "Tổng số phải bằng tổng ba cột thành phần: sửa Tổng số thành 6 hoặc sửa lại các cột thành phần.",
    ]]

    cell = wb["Biểu mẫu 1"]["C7"]
    assert cell.value == 7  # the unit's figure, unchanged
    assert cell.fill.fgColor.rgb == RED
    assert cell.comment.text == (
        "Tổng số 7 ≠ 6 + 0 + 0 (= 6).\n"
        "Cách sửa: Tổng số phải bằng tổng ba cột thành phần: sửa Tổng số thành 6 hoặc sửa lại các cột thành phần."
    )
    assert wb["Biểu mẫu 1"]["D7"].comment is None  # the parts are not blamed
    assert wb["Biểu mẫu 1"].protection.sheet  # the template's protection is kept

    assert checksums(inbox) == before  # the inbox file itself is never touched
    assert not list((out / "phan-hoi").glob(".*"))  # no temporary files left


def test_everything_else_in_the_copy_is_the_units_own(inbox, out):
    run_cli("run", inbox, "--out", out)
    original = openpyxl.load_workbook(unit_file(inbox, "x-phuoc-son"))
    copy = feedback(out, "x-phuoc-son")
    for ws in original:
        mine = {c.coordinate: c.value for row in ws.iter_rows() for c in row}
        theirs = {c.coordinate: c.value for row in copy[ws.title].iter_rows() for c in row}
        assert theirs == mine, ws.title
        assert copy[ws.title].data_validations.count == ws.data_validations.count


def test_several_problems_each_on_its_cell_and_all_listed(inbox, out):
    set_cells(unit_file(inbox, "x-phuoc-an"), "Biểu mẫu 1", {"H7": -1, "G7": Text("=1+1")})
    set_cells(unit_file(inbox, "x-phuoc-an"), "Biểu mẫu 2", {"E8": 120})

    run_cli("run", inbox, "--out", out)

    wb = feedback(out, "x-phuoc-an")
    rows = listed(wb)
    assert [(r[1], r[2], r[3]) for r in rows] == [
        ("Biểu mẫu 1", "G7", "not-a-number"),
        ("Biểu mẫu 1", "H7", "negative-count"),
        ("Biểu mẫu 2", "E8", "rate-out-of-range"),
    ]
    assert [r[0] for r in rows] == [1, 2, 3]
    for sheet, cell, code in ((r[1], r[2], r[3]) for r in rows):
        target = wb[sheet][cell]
        message = next(r[5] for r in rows if r[2] == cell)
        assert target.comment.text.startswith(message + "\nCách sửa: "), code
        assert target.fill.fgColor.rgb == RED
    assert wb["Biểu mẫu 1"]["H7"].value == -1


def test_text_in_the_copy_stays_text(inbox, out):
    link = '=HYPERLINK("http://x","Xã Phước Hiệp")'
    set_cells(unit_file(inbox, "x-phuoc-hiep"), "Biểu mẫu 1", {"B7": Text(link)})
    set_cells(unit_file(inbox, "x-phuoc-an"), "Biểu mẫu 1", {"G7": Text("=1+1")})

    run_cli("run", inbox, "--out", out)

    for code, cell, typed in (("x-phuoc-hiep", "B7", link), ("x-phuoc-an", "G7", "=1+1")):
        wb = feedback(out, code)
        assert (wb["Biểu mẫu 1"][cell].value, wb["Biểu mẫu 1"][cell].data_type) == (typed, "s")
        assert wb["Biểu mẫu 1"][cell].comment is not None
        written = [c for r in wb["Phản hồi"].iter_rows() for c in r if c.value is not None]
        assert all(c.data_type in ("s", "n") for c in written), code
    hiep = listed(feedback(out, "x-phuoc-hiep"))
    assert [r[3] for r in hiep] == ["unit-unknown"] and link in hiep[0][5]


def test_a_warning_is_orange_and_a_note_only_a_comment(inbox, out):
    set_cells(unit_file(inbox, "x-phuoc-an"), "Biểu mẫu 1", {"H7": Text("1.234"), "I7": Text("3")})
    before = openpyxl.load_workbook(unit_file(inbox, "x-phuoc-an"))["Biểu mẫu 1"]["I7"].fill.fgColor.rgb

    run_cli("run", inbox, "--out", out)

    wb = feedback(out, "x-phuoc-an")
    codes = {(r[2], r[3], r[4]) for r in listed(wb)}
    assert ("H7", "value-ambiguous", "Cảnh báo") in codes and ("I7", "value-interpreted", "Thông tin") in codes
    ws = wb["Biểu mẫu 1"]
    assert ws["H7"].fill.fgColor.rgb == ORANGE and "Cách sửa: " in ws["H7"].comment.text
    assert ws["I7"].fill.fgColor.rgb == before and "Cách sửa: " in ws["I7"].comment.text


def test_a_problem_without_a_cell_is_only_listed(inbox, out):
    path = unit_file(inbox, "x-phuoc-loc")
    wb = openpyxl.load_workbook(path)
    del wb["Biểu mẫu 2"]
    wb.save(path)

    run_cli("run", inbox, "--out", out)

    copy = feedback(out, "x-phuoc-loc")
    rows = listed(copy)
    assert [(r[1], r[2], r[3]) for r in rows] == [(None, None, "form-missing")]
    assert "Biểu mẫu 2" in rows[0][5]
    commented = [c for ws in copy.worksheets[1:] for r in ws.iter_rows() for c in r if c.comment]
    assert commented == []


def test_no_copy_for_clean_unreadable_or_non_workbook_files(inbox, out):
    unit_file(inbox, "x-phuoc-an").write_bytes(b"%PDF-1.4 not a workbook")
    (inbox / "ghi-chu.txt").write_text("gửi kèm", encoding="utf-8")
    set_cells(unit_file(inbox, "x-phuoc-son"), "Biểu mẫu 1", {"C7": 6})

    result = run_cli("run", inbox, "--out", out)

    assert result.exit_code == 1  # the PDF is an error in the log …
    assert not (out / "phan-hoi").exists() or not list((out / "phan-hoi").iterdir())  # … but gets no copy


def test_a_copy_sent_back_is_read_like_the_original_and_old_marks_are_cleared(inbox, out, tmp_path):
    run_cli("run", inbox, "--out", out)
    sent = out / "phan-hoi" / "bao-cao-x-phuoc-son.xlsx"

    # The unit fixes C7 in the copy, makes a new mistake, and sends the copy back.
    resent = unit_file(inbox, "x-phuoc-son")
    shutil.copy(sent, resent)
    set_cells(resent, "Biểu mẫu 1", {"C7": 6, "H7": -1})
    result = run_cli("run", inbox, "--out", out)

    assert "Đơn vị đã báo cáo: 14/14." in result.output
    wb = feedback(out, "x-phuoc-son")
    assert wb.sheetnames == ["Phản hồi", "Biểu mẫu 1", "Biểu mẫu 2"]
    assert [r[2:4] for r in listed(wb)] == [["H7", "negative-count"]]
    fixed = wb["Biểu mẫu 1"]["C7"]
    assert fixed.comment is None and fixed.fill.fgColor.rgb != RED
    assert wb["Biểu mẫu 1"]["H7"].comment is not None

    # Once everything is fixed, the stale copy goes away.
    set_cells(resent, "Biểu mẫu 1", {"H7": 4})
    result = run_cli("run", inbox, "--out", out)
    assert result.exit_code == 0, result.output
    assert not (out / "phan-hoi" / "bao-cao-x-phuoc-son.xlsx").exists()


def test_feedback_never_writes_into_the_inbox(tmp_path):
    from consolidate.sample import make_sample_inbox

    out = tmp_path / "outbox"
    inbox = out / "phan-hoi"  # the clerk points the tool at last run's feedback folder
    make_sample_inbox(inbox)
    before = checksums(inbox)

    result = run_cli("run", inbox, "--out", out)

    assert result.exit_code == 2
    assert checksums(inbox) == before
    assert not list(out.glob("tong-hop-*"))


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (Debian package libreoffice-calc-nogui) is not installed")
def test_the_copy_opens_in_libreoffice(inbox, out, tmp_path):
    import subprocess

    run_cli("run", inbox, "--out", out)
    subprocess.run(
        ["soffice", "--headless", f"-env:UserInstallation=file://{tmp_path}/lo", "--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76",
         "--outdir", str(tmp_path / "csv"), str(out / "phan-hoi" / "bao-cao-x-phuoc-son.xlsx")],
        check=True, capture_output=True, timeout=180,
    )
    text = (tmp_path / "csv" / "bao-cao-x-phuoc-son.csv").read_text(encoding="utf-8")
    assert "Kết quả kiểm tra tệp bao-cao-x-phuoc-son.xlsx" in text  # the first sheet is the feedback
    assert "total-mismatch" in text


def test_write_outputs_returns_the_district_files_and_the_copies(inbox, out):
    from consolidate import pipeline
    from consolidate.outputs import write_outputs

    outputs = write_outputs(pipeline.run(inbox), out)

    assert dict(outputs) == {
        "workbook": out / "tong-hop-tuy-phuoc.xlsx",
        "log": out / "nhat-ky-loi-tuy-phuoc.csv",
        "html": out / "tong-hop-tuy-phuoc.html",
    }
    assert all(p.is_file() for p in outputs.values())
    assert outputs.feedback == [out / "phan-hoi" / "bao-cao-x-phuoc-son.xlsx"]
    assert outputs.feedback_dir == out / "phan-hoi"


def test_a_stray_cell_far_away_does_not_stall_the_copy(inbox, out):
    set_cells(unit_file(inbox, "x-phuoc-son"), "Biểu mẫu 1", {"XFD1048576": "x"})
    run_cli("run", inbox, "--out", out)
    ws = feedback(out, "x-phuoc-son")["Biểu mẫu 1"]
    assert ws["C7"].comment is not None and ws["XFD1048576"].value == "x"
