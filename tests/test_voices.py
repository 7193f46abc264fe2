"""Each reader gets the fix in their own voice: the commune is told what to change in its own file
(feedback copy, ``check``), the district clerk what to do about the commune (log, page, terminal)."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest

from consolidate.core import problems as P
from conftest import Text, force_copy_kind, merged, read_log, run_cli, set_cells, unit_file

# Words that only make sense to the district clerk: asking "the unit", its units list, its inbox, its run.
CLERK_WORDS = ("với đơn vị", "danh sách đơn vị báo cáo", "liên hệ", "đề nghị đơn vị", "hỏi đơn vị",
               "bổ sung đơn vị", "chạy lại", "--out", "thư mục báo cáo", "khỏi thư mục", "phan-hoi")

AMBIGUOUS_FOR_CLERK = P.ValueAmbiguous.hint
AMBIGUOUS_FOR_UNIT = P.ValueAmbiguous.unit_hint
UNKNOWN_FOR_CLERK = P.UnitUnknown.hint
UNKNOWN_FOR_UNIT = P.UnitUnknown.unit_hint


TOLD_TO_UNITS = {code: cls for code, cls in P.CATALOGUE.items() if not cls.clerk_only}


@pytest.mark.parametrize("cls", list(TOLD_TO_UNITS.values()), ids=list(TOLD_TO_UNITS))
def test_no_fix_told_to_a_unit_speaks_to_the_clerk(cls):
    told = (cls.unit_hint or cls.hint).lower()
    assert not [w for w in CLERK_WORDS if w in told], told


def test_only_the_clerks_own_run_and_exports_are_for_the_clerk_alone():
    """A problem of a unit's file must have words for the unit; only the store, the exports and the
    run's own units list need none."""
    alone = sorted(code for code, cls in P.CATALOGUE.items() if cls.clerk_only)
    assert alone == ["export-field-unmapped", "export-period-invalid", "export-unit-unmapped",
                     "history-not-read", "history-not-recorded", "sample-units-list"]


def test_the_clerk_and_the_unit_are_told_different_things_where_it_matters():
    assert "với đơn vị" in AMBIGUOUS_FOR_CLERK and "với đơn vị" not in AMBIGUOUS_FOR_UNIT
    assert "danh sách đơn vị báo cáo" in UNKNOWN_FOR_CLERK and "danh sách" not in UNKNOWN_FOR_UNIT
    problem = P.UnitNameInterpreted(typed="Phước An", name="Xã Phước An")
    assert problem.unit_how_to_fix == "Không cần làm gì; lần sau nên ghi đúng tên “Xã Phước An”."
    total = P.TotalMismatch(total=7, own=6, seconded=0, bcci=0, expected=6)
    assert total.unit_how_to_fix == total.how_to_fix  # a fix in the unit's own cells fits both


@pytest.fixture
def mistyped(inbox: Path) -> Path:
    """Phước An types a thousands separator; Phước Hiệp misspells its own name."""
    set_cells(unit_file(inbox, "x-phuoc-an"), "Biểu mẫu 1", {"H7": Text("1.234")})
    set_cells(unit_file(inbox, "x-phuoc-hiep"), "Biểu mẫu 1", {"B7": "Xã Phước Hiệpp"})
    return inbox


def phan_hoi_hints(path: Path) -> dict[str, str]:
    """Code → the "Cách khắc phục" column of the copy's "Phản hồi" sheet (which names each kind in words)."""
    code_of = {cls.title: code for code, cls in P.CATALOGUE.items()}
    rows = [[c.value for c in r] for r in openpyxl.load_workbook(path)["Phản hồi"].iter_rows()]
    start = next(i for i, r in enumerate(rows) if r[:7] and r[6] == "Cách khắc phục") + 1
    return {code_of[r[3]]: r[6] for r in rows[start:] if r[0] is not None}


@pytest.fixture(params=["patched", "openpyxl"])
def copy_kind(request, monkeypatch):
    """Both ways a feedback copy is made: the unit's package patched, or rebuilt with openpyxl.
    Yields the list of files copied with openpyxl, checked after the test."""
    rebuilt = force_copy_kind(request.param, monkeypatch)
    yield rebuilt
    assert bool(rebuilt) == (request.param == "openpyxl"), rebuilt


def test_the_feedback_copy_tells_the_commune_what_to_do_in_its_file(mistyped, out, copy_kind):
    run_cli("run", mistyped, "--out", out)

    an, hiep = (out / "phan-hoi" / f"bao-cao-{c}.xlsx" for c in ("x-phuoc-an", "x-phuoc-hiep"))
    assert phan_hoi_hints(an)["value-ambiguous"] == AMBIGUOUS_FOR_UNIT
    assert phan_hoi_hints(hiep)["unit-unknown"] == UNKNOWN_FOR_UNIT
    comment = openpyxl.load_workbook(an)["Biểu mẫu 1"]["H7"].comment.text
    assert "Cách sửa: " + AMBIGUOUS_FOR_UNIT in comment
    comment = openpyxl.load_workbook(hiep)["Biểu mẫu 1"]["B7"].comment.text
    assert "Cách sửa: " + UNKNOWN_FOR_UNIT in comment
    for path in (an, hiep):
        copy = openpyxl.load_workbook(path)
        text = " ".join(str(c.value) for ws in copy for r in ws.iter_rows() for c in r if c.value) + " ".join(
            c.comment.text for ws in copy for r in ws.iter_rows() for c in r if c.comment)
        assert AMBIGUOUS_FOR_CLERK not in text and UNKNOWN_FOR_CLERK not in text


def test_the_run_log_keeps_the_clerks_wording(mistyped, out):
    run_cli("run", mistyped, "--out", out)

    hints = {e["code"]: e["hint"] for e in read_log(out)}
    assert hints["value-ambiguous"] == AMBIGUOUS_FOR_CLERK and hints["unit-unknown"] == UNKNOWN_FOR_CLERK
    sheet = [str(c.value) for r in merged(out)["Nhật ký lỗi"].iter_rows() for c in r if c.value]
    assert AMBIGUOUS_FOR_CLERK in sheet and UNKNOWN_FOR_CLERK in sheet and AMBIGUOUS_FOR_UNIT not in sheet
    (page,) = out.glob("tong-hop-*.html")
    html = page.read_text(encoding="utf-8")
    assert "Kiểm tra lại với đơn vị; nhập số không có dấu phân cách hàng nghìn." in html
    assert "Sửa tên đơn vị cho đúng danh sách, hoặc bổ sung đơn vị vào danh sách đơn vị báo cáo." in html


def test_check_tells_the_commune_what_to_do_in_its_file(mistyped):
    an, hiep = unit_file(mistyped, "x-phuoc-an"), unit_file(mistyped, "x-phuoc-hiep")

    text = run_cli("check", an, hiep).output
    entries = json.loads(run_cli("check", an, hiep, "--json").output)

    assert f"      Cách sửa: {AMBIGUOUS_FOR_UNIT}" in text and f"      Cách sửa: {UNKNOWN_FOR_UNIT}" in text
    assert AMBIGUOUS_FOR_CLERK not in text and UNKNOWN_FOR_CLERK not in text
    hints = {p["code"]: p["hint"] for e in entries for p in e["problems"]}
    assert hints == {"value-ambiguous": AMBIGUOUS_FOR_UNIT, "unit-unknown": UNKNOWN_FOR_UNIT}
