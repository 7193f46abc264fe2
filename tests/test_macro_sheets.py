"""A unit's .xlsm with an Excel 4.0 macro sheet and a VBA project: the feedback copy carries neither back.

The macro sheet runs EXEC("calc.exe") as the file opens (a defined name Auto_Open points at it);
the VBA project is code too. The copy the district sends is the district's document: both
kinds of copy (the patched package and the openpyxl fallback) leave every macro out, and the
log says so truthfully, in Vietnamese.
"""

from __future__ import annotations

import re
import shutil
import zipfile
from pathlib import Path

import openpyxl
import pytest

from conftest import force_copy_kind, read_log, run_cli, unit_file
from xlsx_flavours import MACROSHEET_REL, WORKSHEET_REL, read_parts, write_parts
from xlsx_flavours import macro_workbook as any_macro_workbook


def macro_workbook(src: Path, dst: Path, relationship: str) -> Path:
    """The hostile kind: a hidden macro sheet, Auto_Open and a VBA project."""
    return any_macro_workbook(src, dst, relationship, hostile=True)


AN = "bao-cao-x-phuoc-an.xlsm"


@pytest.fixture(params=["patched", "openpyxl"])
def copy_kind(request, monkeypatch):
    """Both ways a feedback copy is made (as in test_hostile_round2): the unit's package patched, or
    rebuilt with openpyxl. Checks that the way asked for was the one taken."""
    rebuilt = force_copy_kind(request.param, monkeypatch)
    yield request.param
    assert (AN in rebuilt) == (request.param == "openpyxl"), rebuilt


@pytest.mark.parametrize("relationship", [WORKSHEET_REL, MACROSHEET_REL], ids=["worksheet-rel", "macrosheet-rel"])
def test_a_macro_workbooks_feedback_copy_carries_no_macro_back(inbox, out, copy_kind, relationship):
    an = unit_file(inbox, "x-phuoc-an")
    macro_workbook(an, an.with_suffix(".xlsm"), relationship)
    an.unlink()

    run_cli("run", inbox, "--out", out)

    copy = out / "phan-hoi" / AN
    assert copy.exists()  # the unit's own suffix: Excel opens an .xlsm by that name (see ooxml.macros)
    with zipfile.ZipFile(copy) as zf:
        names = zf.namelist()
        assert zf.testzip() is None
        parts = {name: zf.read(name) for name in names}
    assert not [n for n in names if "macrosheet" in n.lower() or "vbaproject" in n.lower()], names
    # the unit's parts: not our 'Phản hồi' sheet, which quotes the log's messages as plain text
    unit = {n: d for n, d in parts.items() if "Kết quả kiểm tra tệp".encode() not in d}
    everything = b"".join(unit.values())
    assert b"EXEC(" not in everything and b"calc.exe" not in everything and b"HALT(" not in everything
    assert b"macrosheet" not in everything.lower()
    assert b"Auto_Open" not in everything and b"Macro1" not in everything
    assert not [n for n, d in unit.items() if b"vbaProject" in d and n != "[Content_Types].xml"]
    types = parts["[Content_Types].xml"].decode("utf-8")
    assert not re.search(r'<Override[^>]*vbaProject', types)  # a Default for .bin names no part
    assert "application/vnd.ms-excel.sheet.macroEnabled.main+xml" in types  # matches the .xlsm suffix
    wb = openpyxl.load_workbook(copy)
    assert "Macro1" not in wb.sheetnames and wb.sheetnames[0] == "Phản hồi"
    assert "Biểu mẫu 1" in wb.sheetnames

    logged = [e for e in read_log(out) if e["file"] == AN]
    macros = [e for e in logged if e["code"] == "macro-removed"]
    assert [e["sheet"] for e in macros] == ["Macro1", ""], logged
    assert "Trang macro Excel 4.0 “Macro1”" in macros[0]["message"] and "bản phản hồi đã bỏ" in macros[0]["message"]
    assert "VBA" in macros[1]["message"] and "bản phản hồi đã bỏ" in macros[1]["message"]
    # the macro sheet's formulas are not said to be "left out" one by one, as if the sheet stayed
    assert not [e for e in logged if e["code"] == "formula-external" and e["sheet"] == "Macro1"]
    feedback = wb["Phản hồi"]
    shown = " ".join(str(c.value) for row in feedback.iter_rows() for c in row if c.value)
    assert "Trang macro Excel 4.0" in shown


def test_a_plain_xlsm_copy_still_opens_as_an_xlsm(inbox, out, tmp_path):
    """An .xlsm with nothing but a VBA project: the copy keeps its name and a macro-enabled content type
    (Excel refuses an .xlsm whose workbook says it is an .xlsx), without the project."""
    an = unit_file(inbox, "x-phuoc-an")
    parts = read_parts(macro_workbook(an, tmp_path / "m.xlsm", MACROSHEET_REL))
    made = {name: data for name, data in parts.items() if "macrosheet" not in name}
    made["xl/workbook.xml"] = made["xl/workbook.xml"].replace(
        b'<sheet name="Macro1" sheetId="9" state="hidden" r:id="rId99"/>', b"").replace(
        b'<definedName name="_xlnm.Auto_Open" hidden="1">Macro1!$A$1</definedName>', b"")
    made["xl/_rels/workbook.xml.rels"] = made["xl/_rels/workbook.xml.rels"].replace(
        f'<Relationship Id="rId99" Type="{MACROSHEET_REL}" Target="macrosheets/sheet1.xml"/>'.encode(), b"")
    write_parts(an.with_suffix(".xlsm"), made)
    an.unlink()

    run_cli("run", inbox, "--out", out)

    copy = out / "phan-hoi" / AN
    with zipfile.ZipFile(copy) as zf:
        assert "xl/vbaProject.bin" not in zf.namelist()
        assert b"vbaProject" not in zf.read("xl/_rels/workbook.xml.rels")
        assert b"macroEnabled.main" in zf.read("[Content_Types].xml")
    assert [e["sheet"] for e in read_log(out) if e["file"] == AN and e["code"] == "macro-removed"] == [""]
    shutil.copy(copy, tmp_path / "again.xlsm")
    assert openpyxl.load_workbook(tmp_path / "again.xlsm", keep_vba=True).sheetnames[0] == "Phản hồi"
