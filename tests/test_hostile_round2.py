"""Hostile content, second round (issue 21, items 13, 14 and 6): what the first screens did not see.

A sheet saved as UTF-16; conditional formats, validations, linked pictures, hyperlinks and DTDs
that reach outside the workbook; a package that inflates to a gigabyte. Each is logged in
Vietnamese, the run goes on, and neither kind of feedback copy carries it back to the unit.
"""

from __future__ import annotations

import html
import re
import shutil
import zipfile
from pathlib import Path

import openpyxl
import pytest

import hostile
from conftest import force_copy_kind, read_log, run_cli, unit_file
from consolidate.app import check
from consolidate.app import run as run_pipeline
from consolidate.ooxml.external import is_external
from consolidate.read import pool as reading_pool

AN = "bao-cao-x-phuoc-an.xlsx"


@pytest.fixture(params=["patched", "openpyxl"])
def copy_kind(request, monkeypatch):
    """Both ways a feedback copy is made: the unit's package patched, or rebuilt with openpyxl
    (as for a package the patcher does not understand). Checks that the way asked for was the one taken."""
    rebuilt = force_copy_kind(request.param, monkeypatch)
    yield request.param
    assert (AN in rebuilt) == (request.param == "openpyxl"), rebuilt


def _send(inbox: Path, made: Path) -> Path:
    an = unit_file(inbox, "x-phuoc-an")
    shutil.copy(made, an)
    return an


def _parts(copy: Path) -> dict[str, str]:
    """Every XML part of a copy as text, decoded by its byte-order mark (whatever wrote it)."""
    found = {}
    with zipfile.ZipFile(copy) as zf:
        for name in zf.namelist():
            data = zf.read(name)
            if name.endswith((".png", ".bin", ".jpeg")):
                continue
            encoding = "utf-16" if data.startswith((b"\xff\xfe", b"\xfe\xff")) else "utf-8-sig"
            found[name] = data.decode(encoding)
    return found


def _unit_parts(copy: Path) -> dict[str, str]:
    """The parts of the unit's own content: not our 'Phản hồi' sheet, nor our comments, which quote
    the log's messages (a formula or an address written as plain text, which nothing runs)."""
    parts = _parts(copy)
    ours = {n for n, text in parts.items() if "Kết quả kiểm tra tệp" in text}
    return {n: t for n, t in parts.items() if n not in ours and "comments" not in n and "vmlDrawing" not in n}


def _codes(out: Path, code: str) -> list[tuple[str, str]]:
    return sorted((e["sheet"], e["cell"]) for e in read_log(out) if e["file"] == AN and e["code"] == code)


# 13. A sheet stored as UTF-16 ------------------------------------------------------------


def test_a_utf16_sheet_is_screened_as_its_utf8_twin_on_every_reading_path(inbox, tmp_path):
    an = _send(inbox, hostile.utf16_external_formulas(unit_file(inbox, "x-phuoc-an"), tmp_path / "utf16.xlsx"))
    expected = sorted(("Biểu mẫu 1", cell) for cell in hostile.UTF16_FORMULAS)

    def externals(problems) -> list[tuple[str, str]]:
        return sorted((p.sheet, p.cell) for p in problems if p.file == AN and p.code == "formula-external")

    ((_, found),) = check([an])
    assert externals(found) == expected
    small = tmp_path / "small"
    small.mkdir()
    shutil.copy(an, small)
    assert externals(run_pipeline(small).problems) == expected
    assert len(list(inbox.iterdir())) >= reading_pool.MIN_FILES  # the workers' fast reader screens first
    large = run_pipeline(inbox)
    assert externals(large.problems) == expected
    assert large.used["x-phuoc-an"] == AN  # its figures are read, as from the UTF-8 file
    assert not [p for p in large.problems if p.file == AN and p.severity == "error"]


def test_a_utf16_sheets_formulas_reaching_outside_stay_out_of_both_copies(inbox, out, tmp_path, copy_kind):
    _send(inbox, hostile.utf16_external_formulas(unit_file(inbox, "x-phuoc-an"), tmp_path / "utf16.xlsx"))

    run_cli("run", inbox, "--out", out)

    assert _codes(out, "formula-external") == sorted(("Biểu mẫu 1", c) for c in hostile.UTF16_FORMULAS)
    copy = out / "phan-hoi" / AN
    ws = openpyxl.load_workbook(copy)["Biểu mẫu 1"]
    for cell, (_, value) in hostile.UTF16_FORMULAS.items():
        assert ws[cell].value == int(value), cell  # the value the unit saw, not the formula
        assert "liên kết ra ngoài tệp" in ws[cell].comment.text
    formulas = [html.unescape(f) for text in _parts(copy).values()
                for f in re.findall(r"<(?:\w+:)?f(?:\s[^>]*)?>([^<]*)</", text)]
    assert not [f for f in formulas if is_external(f)]
    everything = "".join(_unit_parts(copy).values())
    assert "WEBSERVICE" not in everything.upper() and "evil.example" not in everything


# 14. What reaches outside besides the cells' formulas ------------------------------------


def test_rules_and_validations_reaching_outside_are_logged_and_left_out_of_both_copies(inbox, out, tmp_path,
                                                                                       copy_kind):
    _send(inbox, hostile.external_rules(unit_file(inbox, "x-phuoc-an"), tmp_path / "rules.xlsx"))

    result = run_cli("run", inbox, "--out", out)

    assert "Traceback" not in result.output
    assert _codes(out, "content-external") == [("Biểu mẫu 1", "B8"), ("Biểu mẫu 1", "C7:J7")]
    messages = [e["message"] for e in read_log(out) if e["code"] == "content-external"]
    assert any("Định dạng có điều kiện" in m and "WEBSERVICE" in m for m in messages)
    assert any("Kiểm tra dữ liệu" in m and "[1]Sheet1" in m for m in messages)
    copy = out / "phan-hoi" / AN
    ws = openpyxl.load_workbook(copy)["Biểu mẫu 1"]
    rules = [f for cf in ws.conditional_formatting for rule in cf.rules for f in rule.formula]
    assert rules == [html.unescape(hostile.INTERNAL_CF)]  # the rule of its own stays
    lists = [dv.formula1 for dv in ws.data_validations.dataValidation]
    assert lists == ["0"]  # the template's whole-number check stays
    sheets = "".join(t for n, t in _unit_parts(copy).items() if n.startswith("xl/worksheets/"))
    assert "WEBSERVICE" not in sheets and "[1]" not in sheets and "evil.example" not in sheets


def test_linked_pictures_and_hyperlinks_to_a_share_are_logged_and_left_out_of_both_copies(inbox, out, tmp_path,
                                                                                          copy_kind):
    _send(inbox, hostile.external_links(unit_file(inbox, "x-phuoc-an"), tmp_path / "links.xlsx"))

    run_cli("run", inbox, "--out", out)

    log = [e for e in read_log(out) if e["file"] == AN and e["code"] == "content-external"]
    assert sorted(e["sheet"] for e in log) == ["Biểu mẫu 1"] * 3
    assert [e["cell"] for e in log if "hyperlink" in e["message"]] == ["B8"]
    for address in (hostile.SMB_PICTURE, hostile.WEB_PICTURE, hostile.SMB_LINK):
        assert [e for e in log if address in e["message"]], address
    copy = out / "phan-hoi" / AN
    parts = _unit_parts(copy)
    for name, text in parts.items():
        assert not re.search(r"""TargetMode\s*=\s*["']External""", text), name
        assert "may-chu-la" not in text and "evil.example" not in text, name
    drawings = [t for n, t in parts.items() if n.startswith("xl/drawings/") and n.endswith(".xml")]
    assert not [d for d in drawings if "r:link" in d]
    wb = openpyxl.load_workbook(copy)
    assert wb["Biểu mẫu 1"]["B8"].hyperlink is None
    assert [c.value for c in wb["Biểu mẫu 1"][7]][2:4] == [c.value for c in
                                                         openpyxl.load_workbook(unit_file(inbox, "x-phuoc-an"))
                                                         ["Biểu mẫu 1"][7]][2:4]


@pytest.mark.parametrize("part", ["xl/theme/theme1.xml", hostile.SHEET1, "docProps/app.xml"])
def test_a_dtd_named_by_address_is_logged_and_left_out_of_both_copies(inbox, out, tmp_path, copy_kind, part):
    _send(inbox, hostile.external_dtd(unit_file(inbox, "x-phuoc-an"), tmp_path / "dtd.xlsx", part))

    run_cli("run", inbox, "--out", out)

    log = [e for e in read_log(out) if e["file"] == AN and e["code"] == "content-external"]
    assert len(log) == 1 and part in log[0]["message"] and hostile.EXTERNAL_DTD in log[0]["message"]
    assert not [e for e in read_log(out) if e["file"] == AN and e["severity"] == "error"]
    for name, text in _parts(out / "phan-hoi" / AN).items():
        assert "<!DOCTYPE" not in text, name


def test_what_reaches_outside_is_logged_by_check_and_by_a_small_run(inbox, tmp_path):
    """The workers' fast reader never takes such a file: every path gives the same log."""
    an = unit_file(inbox, "x-phuoc-an")
    made = hostile.external_links(an, tmp_path / "links.xlsx")
    made = hostile.external_rules(made, tmp_path / "both.xlsx")
    assert reading_pool._fast_read(made, AN) is None
    _send(inbox, made)

    ((_, found),) = check([an])
    small = tmp_path / "small"
    small.mkdir()
    shutil.copy(an, small)
    for problems in (found, run_pipeline(small).problems):
        assert sum(p.code == "content-external" for p in problems) == 5


# 6. A package that inflates far beyond what a report needs -------------------------------

from consolidate.core import formats  # noqa: E402

OLD_RATIO, OLD_PART, OLD_TOTAL = 1000, 256 << 20, 1 << 30  # the bounds before issue 21: a 3 MB file inflated to 1 GB


def _sizes(path: Path) -> list[tuple[int, float]]:
    with zipfile.ZipFile(path) as zf:
        return [(i.file_size, i.file_size / i.compress_size) for i in zf.infolist() if i.file_size > 1 << 20]


def test_a_part_compressed_just_over_the_bound_is_refused_and_the_run_goes_on(inbox, out):
    bomb = hostile.inflating(inbox / "bao-cao-nen.xlsx", parts=1, part_bytes=16 << 20, ratio=1.4 * formats.MAX_RATIO)
    ((size, ratio),) = _sizes(bomb)
    assert formats.MAX_RATIO < ratio < OLD_RATIO and size < OLD_PART  # within the old bounds, over the new

    result = run_cli("run", inbox, "--out", out)

    log = [e for e in read_log(out) if e["file"] == bomb.name]
    assert [e["code"] for e in log] == ["file-unsafe"], log
    assert "zip bomb" in log[0]["message"] and f"{formats.MAX_RATIO} lần" in log[0]["message"]
    assert "Đơn vị đã báo cáo: 14/14" in result.output and "Traceback" not in result.output
    assert (out / "tong-hop-tuy-phuoc.xlsx").exists()


@pytest.mark.parametrize("parts, part_bytes", [(1, formats.MAX_PART_BYTES + (1 << 20)),
                                               (2, formats.MAX_TOTAL_BYTES // 2 + (1 << 20))],
                         ids=["one-part", "whole-package"])
def test_a_package_just_over_the_size_bound_is_refused(tmp_path, parts, part_bytes):
    bomb = hostile.inflating(tmp_path / "bao-cao-lon.xlsx", parts=parts, part_bytes=part_bytes,
                             ratio=formats.MAX_RATIO / 2)
    sizes = _sizes(bomb)
    assert all(ratio < formats.MAX_RATIO and size < OLD_PART for size, ratio in sizes)  # no ratio to catch it
    assert formats.MAX_TOTAL_BYTES < sum(size for size, _ in sizes) < OLD_TOTAL or parts == 1

    ((_, found),) = check([bomb])

    assert [(p.code, p.file) for p in found] == [("file-unsafe", bomb.name)]
    assert "giải nén ra dung lượng quá lớn" in found[0].message


def test_a_real_sized_workbook_of_9_mb_is_read(tmp_path):
    real = hostile.real_sized(tmp_path / "bao-cao-9mb.xlsx", megabytes=9)
    assert 8 << 20 < real.stat().st_size < 10 << 20

    ((_, found),) = check([real])

    assert formats.sniff(real) == "xlsx"
    assert not [p for p in found if p.code.startswith("file-")]
    assert [p.code for p in found if p.code == "sheet-truncated"]  # opened and read, within the bounds
