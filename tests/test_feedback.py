"""The unit's story: it gets its own workbook back with each problem marked on the cell."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import openpyxl
import pytest

from consolidate.core import problems as P
from conftest import Text, checksums, run_cli, set_cells, unit_file

HEADER = ["STT", "Trang tính", "Ô", "Loại lỗi", "Mức độ", "Nội dung", "Cách khắc phục"]
CODE_OF = {cls.title: code for code, cls in P.CATALOGUE.items()}  # the sheet names each kind in words
RED = "FFFFC7CE"
ORANGE = "FFF8CBAD"


def feedback(out: Path, code: str) -> openpyxl.Workbook:
    return openpyxl.load_workbook(out / "phan-hoi" / f"bao-cao-{code}.xlsx")


def listed(wb: openpyxl.Workbook) -> list[list]:
    """The problem rows of the 'Phản hồi' sheet, below its header; each kind (in words) as its code."""
    ws = wb["Phản hồi"]
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=1)]
    start = next(i for i, r in enumerate(rows) if r[:7] == HEADER) + 1
    return [[*r[:3], CODE_OF[r[3]], *r[4:7]] for r in rows[start:] if r[0] is not None]


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
    copies = {p.name for p in (out / "phan-hoi").iterdir()} if (out / "phan-hoi").exists() else set()
    assert not copies & {"bao-cao-x-phuoc-an.xlsx", "ghi-chu.txt", "bao-cao-x-phuoc-son.xlsx"}  # … but gets no copy


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
    from consolidate.write.sample import make_sample_inbox

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
    assert "Tổng số không khớp" in text  # the kind in words, not its code


def test_write_outputs_returns_the_district_files_and_the_copies(inbox, out):
    from consolidate import app
    from consolidate.write.outputs import write_outputs

    outputs = write_outputs(app.run(inbox), out)

    assert dict(outputs) == {
        "workbook": out / "tong-hop-tuy-phuoc.xlsx",
        "log": out / "nhat-ky-loi-tuy-phuoc.csv",
        "html": out / "tong-hop-tuy-phuoc.html",
    }
    assert all(p.is_file() for p in outputs.values())
    assert outputs.feedback == [out / "phan-hoi" / "bao-cao-x-phuoc-son.xlsx"]
    assert outputs.feedback_dir == out / "phan-hoi"


def test_a_copy_that_cannot_be_made_is_not_linked_from_the_page(inbox, out, monkeypatch):
    """The page links each unit's feedback copy; one that could not be made (neither by patching
    nor with openpyxl) has no link, and its problems stay listed."""
    from consolidate.write.feedback import patched as fb
    from consolidate import app
    from consolidate.write.outputs import write_outputs

    monkeypatch.setattr(fb, "_write_copy", lambda *args: False)
    outputs = write_outputs(app.run(inbox), out)

    assert outputs.feedback == []
    html = outputs["html"].read_text(encoding="utf-8")
    assert "phan-hoi/bao-cao-x-phuoc-son.xlsx" not in html
    assert "Tổng số không khớp" in html and "bao-cao-x-phuoc-son.xlsx" in html


def test_a_stray_cell_far_away_does_not_stall_the_copy(inbox, out):
    set_cells(unit_file(inbox, "x-phuoc-son"), "Biểu mẫu 1", {"XFD1048576": "x"})
    run_cli("run", inbox, "--out", out)
    ws = feedback(out, "x-phuoc-son")["Biểu mẫu 1"]
    assert ws["C7"].comment is not None and ws["XFD1048576"].value == "x"


# The copy is the unit's own package, patched ---------------------------------
#
# The copy is made by editing the few parts that change in the unit's own
# package (consolidate/ooxml/patch.py); openpyxl's load and save is only the
# fallback, because it drops what it does not model.


@pytest.fixture
def patched_only(monkeypatch):
    """Fail the test if a copy falls back to openpyxl: these files must be patched."""
    from consolidate.write.feedback import patched as feedback

    def refuse(sub, problems, target):
        raise AssertionError(f"{sub.name} fell back to the openpyxl copy")

    monkeypatch.setattr(feedback, "_openpyxl_copy", refuse)


def test_the_sample_copy_is_patched_not_rebuilt(inbox, out, patched_only):
    run_cli("run", inbox, "--out", out)
    assert (out / "phan-hoi" / "bao-cao-x-phuoc-son.xlsx").is_file()


def test_the_copy_keeps_the_cached_values_of_formulas(inbox, out, patched_only):
    from consolidate.settings.units import default_registry
    from consolidate.settings.report import default_settings
    from consolidate.write.sample import form1_values, form2_values
    from consolidate.write.templates import write_template

    # Tổng số as the template's formula (xlsxwriter stores its value), and a negative count to report.
    unit = next(u for u in default_registry().reporting_units() if u.code == "x-phuoc-an")
    path = unit_file(inbox, "x-phuoc-an")
    write_template(unit, default_settings(), path, form1={**form1_values(unit.name), "printers": -1},
                   form2=form2_values(unit.name, unit.code), total_formula=True)

    run_cli("run", inbox, "--out", out)

    original = openpyxl.load_workbook(path, data_only=True)
    copy = feedback(out, "x-phuoc-an")
    assert openpyxl.load_workbook(path)["Biểu mẫu 1"]["C7"].value == "=D7+E7+F7"
    assert copy["Biểu mẫu 1"]["C7"].value == "=D7+E7+F7"
    cached = openpyxl.load_workbook(out / "phan-hoi" / "bao-cao-x-phuoc-an.xlsx", data_only=True)
    assert cached["Biểu mẫu 1"]["C7"].value == original["Biểu mẫu 1"]["C7"].value == 5
    for ws in original:
        mine = {c.coordinate: c.value for row in ws.iter_rows() for c in row}
        assert {c.coordinate: c.value for row in cached[ws.title].iter_rows() for c in row} == mine, ws.title
    assert copy["Biểu mẫu 1"]["H7"].fill.fgColor.rgb == RED


def test_parts_openpyxl_would_drop_come_back_byte_for_byte(inbox, out, patched_only):
    from xlsx_flavours import FOREIGN_PARTS, as_saved_by_excel, read_parts, undeclared_ignorable_prefixes

    path = unit_file(inbox, "x-phuoc-son")
    as_saved_by_excel(path)  # custom XML, an image, Excel's roots with mc:Ignorable prefixes, the unit's comments

    run_cli("run", inbox, "--out", out)

    sent, copy = read_parts(path), read_parts(out / "phan-hoi" / "bao-cao-x-phuoc-son.xlsx")
    for name in FOREIGN_PARTS:
        assert copy[name] == sent[name], name
    edited = {"[Content_Types].xml", "xl/workbook.xml", "xl/_rels/workbook.xml.rels", "xl/styles.xml",
              "xl/worksheets/sheet1.xml", "xl/comments1.xml", "xl/drawings/vmlDrawing1.vml"}
    assert {n for n in sent if n not in edited and copy.get(n) != sent[n]} == {"xl/calcChain.xml"}  # Excel rebuilds it
    assert "xl/calcChain.xml" not in copy
    for name, data in copy.items():
        if name.endswith((".xml", ".rels")):
            assert undeclared_ignorable_prefixes(data) == [], name
    root = re.compile(rb"<worksheet [^>]*>")
    sheet = "xl/worksheets/sheet1.xml"
    assert root.search(copy[sheet]).group(0) == root.search(sent[sheet]).group(0)  # the same prefixes, byte for byte
    wb = feedback(out, "x-phuoc-son")
    assert wb.sheetnames == ["Phản hồi", "Biểu mẫu 1", "Biểu mẫu 2"]
    assert wb["Biểu mẫu 1"]["C7"].fill.fgColor.rgb == RED
    assert wb["Biểu mẫu 1"]["C7"].border.left.style == "thin"  # only the fill of the unit's cell format changes
    assert wb["Biểu mẫu 1"]["C7"].protection.locked is False


def test_the_units_own_comments_stay(inbox, out, patched_only):
    from xlsx_flavours import UNIT_AUTHOR, UNIT_NOTES, as_saved_by_excel

    as_saved_by_excel(unit_file(inbox, "x-phuoc-son"))  # notes on B7 and on C7, the cell with the error

    run_cli("run", inbox, "--out", out)

    ws = feedback(out, "x-phuoc-son")["Biểu mẫu 1"]
    assert (ws["B7"].comment.author, ws["B7"].comment.text) == (UNIT_AUTHOR, f"{UNIT_AUTHOR}:\n{UNIT_NOTES['B7']}")
    ours = ws["C7"].comment
    assert ours.author == "Kiểm tra báo cáo"
    assert ours.text.startswith("Tổng số 7 ≠ 6 + 0 + 0 (= 6).\nCách sửa: ")
    assert ours.text.endswith(f"\n\n— Ghi chú có sẵn của đơn vị ({UNIT_AUTHOR}) —\n{UNIT_AUTHOR}:\n{UNIT_NOTES['C7']}")
    assert [c.coordinate for r in ws.iter_rows() for c in r if c.comment] == ["B7", "C7"]


@pytest.mark.parametrize("path", ["patched", "openpyxl"])
def test_the_units_own_note_comes_back_when_the_cell_is_fixed(inbox, out, monkeypatch, path):
    """Round 1 keeps the unit's note inside our comment; a fixed copy sent back gets the note back alone."""
    from consolidate.write.feedback import patched as feedback
    from consolidate.ooxml import patch as xlsx_patch
    from xlsx_flavours import UNIT_AUTHOR, UNIT_NOTES, as_saved_by_excel

    as_saved_by_excel(unit_file(inbox, "x-phuoc-son"))
    run_cli("run", inbox, "--out", out)
    copy = out / "phan-hoi" / "bao-cao-x-phuoc-son.xlsx"
    resent = inbox / "bao-cao-x-phuoc-son.xlsx"
    resent.write_bytes(copy.read_bytes())  # the unit sends its copy back, still with the error...
    set_cells(unit_file(inbox, "x-phuoc-an"), "Biểu mẫu 1", {"H7": -1})  # (another file keeps the run busy)
    if path == "openpyxl":
        def refuse(*args, **kwargs):
            raise xlsx_patch.Unsupported("forced")
        monkeypatch.setattr(feedback.X, "XlsxPatch", refuse)

    run_cli("run", inbox, "--out", tmp := out.parent / f"round2-{path}")
    ws = openpyxl.load_workbook(tmp / "phan-hoi" / "bao-cao-x-phuoc-son.xlsx")["Biểu mẫu 1"]
    assert ws["C7"].comment.text.count("Ghi chú có sẵn của đơn vị") == 1  # not nested round after round
    assert ws["C7"].comment.text.endswith(f"{UNIT_AUTHOR}:\n{UNIT_NOTES['C7']}")

    resent.write_bytes((tmp / "phan-hoi" / "bao-cao-x-phuoc-son.xlsx").read_bytes())
    set_cells(resent, "Biểu mẫu 1", {"C7": 6, "J7": -1})  # ...then fixes C7 (and breaks another cell)
    run_cli("run", inbox, "--out", tmp3 := out.parent / f"round3-{path}")
    ws = openpyxl.load_workbook(tmp3 / "phan-hoi" / "bao-cao-x-phuoc-son.xlsx")["Biểu mẫu 1"]
    assert (ws["C7"].comment.author, ws["C7"].comment.text) == (UNIT_AUTHOR, f"{UNIT_AUTHOR}:\n{UNIT_NOTES['C7']}")
    assert ws["J7"].comment.author == "Kiểm tra báo cáo"


def test_defined_names_still_point_at_their_sheets(inbox, out, patched_only):
    from xlsx_flavours import as_saved_by_excel

    path = unit_file(inbox, "x-phuoc-son")
    as_saved_by_excel(path)  # a print area on Biểu mẫu 2, a name local to Biểu mẫu 1, a global name
    original = openpyxl.load_workbook(path)

    run_cli("run", inbox, "--out", out)

    copy = feedback(out, "x-phuoc-son")
    assert copy["Biểu mẫu 2"].print_area == original["Biểu mẫu 2"].print_area == "'Biểu mẫu 2'!$A$1:$H$12"
    assert copy["Biểu mẫu 1"].defined_names["nguon"].attr_text == "'Biểu mẫu 1'!$B$7"
    assert "nguon" not in copy["Biểu mẫu 2"].defined_names and "nguon" not in copy["Phản hồi"].defined_names
    assert copy.defined_names["tong"].attr_text == "'Biểu mẫu 1'!$C$7"
    assert copy["Phản hồi"].print_title_rows == "$4:$4"


def test_a_copy_sent_back_unchanged_gets_one_fresh_set_of_marks(inbox, out, patched_only):
    run_cli("run", inbox, "--out", out)
    first = (out / "phan-hoi" / "bao-cao-x-phuoc-son.xlsx").read_bytes()
    unit_file(inbox, "x-phuoc-son").write_bytes(first)  # the unit sends our copy back as it was

    run_cli("run", inbox, "--out", out)

    wb = feedback(out, "x-phuoc-son")
    assert wb.sheetnames == ["Phản hồi", "Biểu mẫu 1", "Biểu mẫu 2"]
    assert [r[2:4] for r in listed(wb)] == [["C7", "total-mismatch"]]
    comments = [c for ws in wb.worksheets[1:] for r in ws.iter_rows() for c in r if c.comment]
    assert [c.coordinate for c in comments] == ["C7"]
    assert comments[0].comment.text.count("Cách sửa: ") == 1  # our old note is replaced, not stacked
    # the old sheet's print titles do not pass to the sheet now first: Biểu mẫu 1 keeps its own
    assert wb["Phản hồi"].print_title_rows == "$4:$4" and wb["Biểu mẫu 1"].print_title_rows == "$5:$6"


def test_a_missing_cell_is_added_to_be_marked(inbox, out, patched_only):
    from xlsx_flavours import read_parts, write_parts

    # A program that drops cells it considers empty: H7 of Biểu mẫu 1 is not in the file at all.
    path = unit_file(inbox, "x-phuoc-an")
    parts = read_parts(path)
    sheet = parts["xl/worksheets/sheet1.xml"].decode()
    parts["xl/worksheets/sheet1.xml"] = re.sub(r'<c r="H7"[^>]*>.*?</c>', "", sheet).encode()
    write_parts(path, parts)

    run_cli("run", inbox, "--out", out)

    ws = feedback(out, "x-phuoc-an")["Biểu mẫu 1"]
    assert ws["H7"].value is None and ws["H7"].comment is not None and ws["H7"].fill.fgColor.rgb == RED
    assert (ws["G7"].value, ws["I7"].value) == (5, 3)


def test_a_sheet_written_with_a_namespace_prefix_is_patched_too(inbox, out, patched_only):
    from xlsx_flavours import read_parts, write_parts

    # Some generators write <x:worksheet xmlns:x="…"><x:sheetData><x:row>…
    path = unit_file(inbox, "x-phuoc-son")
    parts = read_parts(path)
    sheet = parts["xl/worksheets/sheet1.xml"].decode()
    sheet = re.sub(r"<(/?)(?!\?)([A-Za-z]+)([\s/>])", r"<\1x:\2\3", sheet)
    sheet = sheet.replace('xmlns="http://schemas', 'xmlns:x="http://schemas', 1)
    parts["xl/worksheets/sheet1.xml"] = sheet.encode()
    write_parts(path, parts)

    run_cli("run", inbox, "--out", out)

    copy = read_parts(out / "phan-hoi" / "bao-cao-x-phuoc-son.xlsx")["xl/worksheets/sheet1.xml"].decode()
    assert "<x:legacyDrawing " in copy and "<legacyDrawing" not in copy
    ws = feedback(out, "x-phuoc-son")["Biểu mẫu 1"]
    assert ws["C7"].fill.fgColor.rgb == RED and ws["C7"].comment is not None and ws["C7"].value == 7


@pytest.mark.parametrize("failure", ["unsupported", "bug"])
def test_a_package_the_patcher_cannot_handle_still_gets_a_copy(inbox, out, monkeypatch, failure):
    from consolidate.write.feedback import patched as fb
    from consolidate.ooxml import patch as xlsx_patch

    if failure == "unsupported":
        def refuse(path, max_unpacked=None):
            raise xlsx_patch.Unsupported("something this patcher does not know")

        monkeypatch.setattr(fb.X, "XlsxPatch", refuse)
    else:
        def half_write(self, target):
            target.write_bytes(b"PK\x03\x04 half a zip")
            raise KeyError("a bug in the patcher")

        monkeypatch.setattr(xlsx_patch.XlsxPatch, "save", half_write)

    run_cli("run", inbox, "--out", out)

    wb = feedback(out, "x-phuoc-son")  # the openpyxl copy
    assert wb.sheetnames == ["Phản hồi", "Biểu mẫu 1", "Biểu mẫu 2"]
    assert wb["Biểu mẫu 1"]["C7"].fill.fgColor.rgb == RED and wb["Biểu mẫu 1"]["C7"].comment is not None
    assert not list((out / "phan-hoi").glob(".*"))  # the patcher's half-written file is gone


@pytest.mark.skipif(shutil.which("soffice") is None,
                    reason="LibreOffice (Debian package libreoffice-calc-nogui) is not installed")
def test_a_patched_excel_file_opens_in_libreoffice(inbox, out, tmp_path, patched_only):
    import subprocess

    from xlsx_flavours import as_saved_by_excel

    as_saved_by_excel(unit_file(inbox, "x-phuoc-son"))
    run_cli("run", inbox, "--out", out)
    subprocess.run(
        ["soffice", "--headless", f"-env:UserInstallation=file://{tmp_path}/lo", "--convert-to", "pdf",
         "--outdir", str(tmp_path / "pdf"), str(out / "phan-hoi" / "bao-cao-x-phuoc-son.xlsx")],
        check=True, capture_output=True, timeout=180,
    )
    pdf = tmp_path / "pdf" / "bao-cao-x-phuoc-son.pdf"
    assert pdf.is_file() and pdf.stat().st_size > 1000
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
        assert "Kết quả kiểm tra tệp bao-cao-x-phuoc-son.xlsx" in text  # the first sheet is the feedback
        assert "Tổng số không khớp" in text  # the kind in words, not its code


def test_a_copy_resaved_and_sent_back_is_patched_and_cleaned(inbox, out, patched_only):
    # As above, through a program that rewrites the package (here openpyxl: ns0: prefixes in
    # the VML drawing, r: declared on <legacyDrawing>, comments under xl/comments/).
    run_cli("run", inbox, "--out", out)
    resent = unit_file(inbox, "x-phuoc-son")
    shutil.copy(out / "phan-hoi" / "bao-cao-x-phuoc-son.xlsx", resent)
    set_cells(resent, "Biểu mẫu 1", {"C7": 6, "H7": -1})

    run_cli("run", inbox, "--out", out)

    wb = feedback(out, "x-phuoc-son")
    assert wb.sheetnames == ["Phản hồi", "Biểu mẫu 1", "Biểu mẫu 2"]
    fixed, marked = wb["Biểu mẫu 1"]["C7"], wb["Biểu mẫu 1"]["H7"]
    assert fixed.comment is None and fixed.fill.fgColor.rgb == "FFFFF2CC"  # the template's yellow input cell again
    assert marked.comment.text.startswith("Ô “Máy in” ghi -1") and marked.fill.fgColor.rgb == RED


def test_a_temporary_copy_left_by_a_killed_run_is_cleared(inbox, out):
    run_cli("run", inbox, "--out", out)
    stale = out / "phan-hoi" / ".bao-cao-x-phuoc-son-k3x9q1.xlsx.tmp"
    stale.write_bytes(b"half a workbook")

    run_cli("run", inbox, "--out", out)

    assert not stale.exists()
    assert sorted(p.name for p in (out / "phan-hoi").iterdir()) == ["bao-cao-x-phuoc-son.xlsx"]


# Big or broken sheets must not stall the copy -------------------------------------


def _many_problems(inbox: Path, cells: list[str]):
    """The run of the sample inbox, with a negative count reported on each of ``cells`` of x-phuoc-son."""
    from consolidate import app
    from consolidate.core import problems as P

    result = app.run(inbox)
    result.problems += [P.NegativeCount(file="bao-cao-x-phuoc-son.xlsx", sheet="Biểu mẫu 1", cell=cell,
                                        label=cell, value=-1) for cell in cells]
    return result


def test_a_drawing_with_unclosed_shapes_does_not_stall_the_copy(inbox, out, patched_only):
    import time

    from xlsx_flavours import read_parts, write_parts, as_saved_by_excel

    # VML is not checked well-formed: a damaged drawing may open shapes it never closes.
    path = unit_file(inbox, "x-phuoc-son")
    as_saved_by_excel(path)
    parts = read_parts(path)
    vml = parts["xl/drawings/vmlDrawing1.vml"].decode()
    parts["xl/drawings/vmlDrawing1.vml"] = vml.replace("</xml>", '<v:shape id="hong">' * 30_000 + "</xml>").encode()
    write_parts(path, parts)

    started = time.perf_counter()
    run_cli("run", inbox, "--out", out)

    assert time.perf_counter() - started < 30  # was minutes: each unclosed shape scanned to the end
    ws = feedback(out, "x-phuoc-son")["Biểu mẫu 1"]
    assert ws["C7"].comment.author == "Kiểm tra báo cáo" and ws["B7"].comment is not None


def test_many_problems_on_a_sheet_with_many_merges_and_a_wide_row(inbox, out, patched_only):
    import time

    from consolidate.write.feedback import patched as fb
    from consolidate.core.cells import address
    from xlsx_flavours import read_parts, write_parts

    # 20,000 merged ranges below the table and row 7 filled out to 16,000 columns, 300 problems on it.
    path = unit_file(inbox, "x-phuoc-son")
    parts = read_parts(path)
    sheet = parts["xl/worksheets/sheet1.xml"].decode()
    merges = "".join(f'<mergeCell ref="{address(r, 20)}:{address(r, 21)}"/>' for r in range(10, 20_010))
    sheet = sheet.replace('<mergeCells count="8">', f'<mergeCells count="20008">{merges}')
    wide = "".join(f'<c r="{address(7, c)}" s="8"><v>1</v></c>' for c in range(11, 16_011))
    sheet = sheet.replace('<c r="J7" s="8"><v>7</v></c>', '<c r="J7" s="8"><v>7</v></c>' + wide)
    parts["xl/worksheets/sheet1.xml"] = sheet.encode()
    write_parts(path, parts)
    cells = [address(7, c) for c in range(11, 16_011, 53)]
    result = _many_problems(inbox, cells)

    started = time.perf_counter()
    fb.write_feedback(result, out)

    assert time.perf_counter() - started < 15  # was ~40 s: each problem rescanned the merges and the row
    copy = openpyxl.load_workbook(out / "phan-hoi" / "bao-cao-x-phuoc-son.xlsx", read_only=True)
    row = next(copy["Biểu mẫu 1"].iter_rows(min_row=7, max_row=7))
    assert [c.value for c in row[10:12]] == [1, 1]
    assert len(listed_rows := [r for r in copy["Phản hồi"].iter_rows(min_row=5, values_only=True) if r[0]]) >= 300
    assert {r[2] for r in listed_rows} >= set(cells)


def test_the_feedback_sheet_lists_errors_then_warnings_then_notes(inbox, out):
    """A commune reads from the top: what must be fixed first, what is only said last, whatever the cells."""
    set_cells(unit_file(inbox, "x-phuoc-an"), "Biểu mẫu 1", {"D7": Text("5"), "H7": Text("1.234"), "J7": -1})

    run_cli("run", inbox, "--out", out)

    severities = [r[4] for r in listed(feedback(out, "x-phuoc-an"))]
    assert severities == sorted(severities, key=["Lỗi", "Cảnh báo", "Thông tin"].index)
    assert severities[0] == "Lỗi" and severities[-1] == "Thông tin" and "Cảnh báo" in severities
