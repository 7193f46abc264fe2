"""Hostile and broken input: nothing crashes the run, nothing is lost, nothing gets in."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import openpyxl
import pytest

import hostile
from consolidate.core.accounting import violations
from consolidate.app import run as run_pipeline
from consolidate.read.reader import Unreadable, load_calamine
from conftest import checksums, merged, read_log, run_cli, unit_file

GOOD = "bao-cao-cap-huyen.xlsx"


def cli(inbox: Path, out: Path, timeout: int = 180) -> subprocess.CompletedProcess:
    """The real command in its own process: a crash or a hang cannot hide behind the test runner."""
    return subprocess.run(
        [sys.executable, "-m", "consolidate", "run", str(inbox), "--out", str(out)],
        capture_output=True, text=True, timeout=timeout,
    )


@pytest.fixture
def hostile_inbox(inbox: Path, tmp_path: Path) -> dict[str, str]:
    """The sample inbox with a broken or malicious file in place of ten units' reports."""
    secret = tmp_path / "secret.txt"
    secret.write_text("MAT-KHAU-BI-MAT", encoding="utf-8")
    src = tmp_path / "good.xlsx"
    unit_file(inbox, "x-phuoc-an").rename(src)
    cases = {
        "rong.xlsx": lambda p: p.write_bytes(b""),
        "hong-nua-chung.xlsx": lambda p: hostile.truncated(src, p),
        "thuc-ra-la-pdf.xlsx": lambda p: p.write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n"),
        "thuc-ra-la-anh.xlsx": lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64),
        "co-mat-khau.xlsx": lambda p: hostile.encrypted(src, p),
        "bom-zip.xlsx": lambda p: hostile.zip_bomb(p),
        "billion-laughs.xlsx": lambda p: hostile.billion_laughs(src, p),
        "xxe.xlsx": lambda p: hostile.external_entity(src, p, secret),
    }
    expected = {
        "rong.xlsx": "file-unreadable",
        "hong-nua-chung.xlsx": "file-unreadable",
        "thuc-ra-la-pdf.xlsx": "file-unreadable",
        "thuc-ra-la-anh.xlsx": "file-unreadable",
        "co-mat-khau.xlsx": "file-encrypted",
        "bom-zip.xlsx": "file-unsafe",
        "billion-laughs.xlsx": "file-unsafe",
        "xxe.xlsx": "file-unsafe",
    }
    for name, make in cases.items():
        make(inbox / name)
    # Huge sheets and a stray far cell still hold good data: they stand for three real units.
    for code, make in (("x-phuoc-hiep", hostile.junk_rows), ("x-phuoc-hoa", hostile.junk_columns),
                       ("x-phuoc-hung", hostile.stray_far_corner)):
        path = unit_file(inbox, code)
        good = path.with_suffix(".orig")
        path.rename(good)
        make(good, path)
        good.unlink()
        expected[path.name] = "sheet-truncated"
    return expected


def test_a_hostile_inbox_is_one_clean_run(inbox, out, hostile_inbox):
    before = checksums(inbox)

    done = cli(inbox, out)

    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert checksums(inbox) == before
    log = read_log(out)
    for name, code in hostile_inbox.items():
        entries = [e for e in log if e["file"] == name]
        assert [e["code"] for e in entries] == [code], (name, entries)
    # the three units behind huge sheets are merged; only Phước An (whose file was replaced) is missing
    assert "Đơn vị đã báo cáo: 13/14." in done.stdout
    assert [e["unit"] for e in log if e["code"] == "unit-not-reported"] == ["Xã Phước An"]
    everything = (out / "nhat-ky-loi-tuy-phuoc.csv").read_text(encoding="utf-8-sig")
    assert "MAT-KHAU-BI-MAT" not in everything
    assert "lollol" not in everything
    wb = merged(out)
    hiep = next(r for r in wb["Biểu mẫu 1"].iter_rows(min_row=7, values_only=True) if r[1] == "Xã Phước Hiệp")
    assert hiep[2:10] == (6, 6, 0, 0, 4, 2, 3, 6)


def test_the_message_for_each_broken_file_says_what_it_is(inbox, out, hostile_inbox):
    cli(inbox, out)
    messages = {e["file"]: e["message"] for e in read_log(out) if e["file"] in hostile_inbox}
    assert messages["rong.xlsx"] == "Không mở được tệp như một bảng tính (tệp rỗng, 0 byte)."
    assert "PDF" in messages["thuc-ra-la-pdf.xlsx"]
    assert "ảnh" in messages["thuc-ra-la-anh.xlsx"]
    assert messages["co-mat-khau.xlsx"] == "Tệp được đặt mật khẩu nên không đọc được."
    assert "zip bomb" in messages["bom-zip.xlsx"]
    assert "XML nguy hiểm" in messages["xxe.xlsx"]
    assert "1048576 dòng × 16384 cột" in messages["bao-cao-x-phuoc-hung.xlsx"]


def test_a_crashing_reader_is_contained_in_its_worker(inbox, tmp_path):
    """python-calamine aborts the whole process on a stray far cell; here only the worker dies."""
    stray = hostile.stray_far_corner(unit_file(inbox, "x-phuoc-an"), tmp_path / "stray.xlsx")
    with pytest.raises(Unreadable) as caught:
        load_calamine(stray)
    assert caught.value.problem_cls.code == "file-unreadable"


def test_an_interrupted_run_never_replaces_a_good_workbook(inbox, out, tmp_path):
    run_cli("run", inbox, "--out", out)
    good = (out / "tong-hop-tuy-phuoc.xlsx").read_bytes()
    unit_file(inbox, "x-phuoc-an").unlink()  # the next run would write something different
    script = textwrap.dedent(f"""
        import os, signal, sys
        import xlsxwriter.workbook as w
        close = w.Workbook.close
        def close_then_die(self):
            close(self)            # the temporary file is complete on disk...
            os._exit(137)          # ...and the process dies before renaming it (as if killed; portable)
        w.Workbook.close = close_then_die
        from consolidate.cli import main
        main(["run", {str(inbox)!r}, "--out", {str(out)!r}])
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120)
    if hasattr(os, "fork"):  # the workbook is written by a child process: it dies, the run says so, exit 2
        assert done.returncode == 2
        assert "Lỗi nghiêm trọng" in done.stderr.decode()
    else:  # Windows: written in the run's own process, which dies with it
        assert done.returncode != 0
    assert (out / "tong-hop-tuy-phuoc.xlsx").read_bytes() == good
    assert list(out.glob(".~*.tmp")), (sorted(p.name for p in out.iterdir()), done.stderr.decode())  # the half-finished work is only a hidden temp

    run_cli("run", inbox, "--out", out)
    assert not list(out.glob(".*.tmp"))  # and the next run clears it
    assert (out / "tong-hop-tuy-phuoc.xlsx").read_bytes() != good


def test_the_provenance_sheet_traces_every_file(inbox, out):
    (inbox / "ghi-chu.txt").write_text("x", encoding="utf-8")
    (inbox / "bao-cao-x-phuoc-an.xlsx").write_bytes(b"")
    run_cli("run", inbox, "--out", out)
    ws = merged(out)["Nguồn dữ liệu"]
    rows = {r[1]: r for r in ws.iter_rows(min_row=5, values_only=True)}  # under the title and the header
    assert set(rows) == {p.name for p in inbox.iterdir()}
    son = rows["bao-cao-x-phuoc-son.xlsx"]
    import hashlib
    digest = hashlib.sha256((inbox / "bao-cao-x-phuoc-son.xlsx").read_bytes()).hexdigest()
    assert (son[4], son[7]) == (digest[:12], digest)  # printed short; whole, outside the print area
    assert son[2] == (inbox / "bao-cao-x-phuoc-son.xlsx").stat().st_size
    assert (son[5], son[6]) == ("Xã Phước Sơn", "Đã tổng hợp")
    assert rows["ghi-chu.txt"][6].startswith("Bỏ qua")
    assert rows["bao-cao-x-phuoc-an.xlsx"][6].startswith("Không dùng được: Không mở được tệp")


def test_every_file_and_unit_is_accounted_for(inbox, hostile_inbox):
    assert violations(run_pipeline(inbox)) == []


def test_a_broken_accounting_stops_the_run_with_exit_2(inbox, out, monkeypatch):
    import consolidate.app as app

    real = app.run

    def losing(*args, **kwargs):
        result = real(*args, **kwargs)
        result.problems = [p for p in result.problems if p.code != "unit-not-reported"]
        return result

    unit_file(inbox, "x-phuoc-an").unlink()
    monkeypatch.setattr(app, "run", losing)
    result = run_cli("run", inbox, "--out", out)
    assert result.exit_code == 2
    assert "Xã Phước An chưa báo cáo mà không có dòng nào trong nhật ký lỗi." in result.output


def test_text_typed_by_a_unit_is_never_a_formula_in_any_output(inbox, out):
    path = unit_file(inbox, "x-phuoc-an")
    wb = openpyxl.load_workbook(path)
    for cell, text in (("G7", "=HYPERLINK(\"http://evil\",\"5\")"), ("H7", "+cmd|' /C calc'!A0"), ("I7", "@SUM(1+1)")):
        wb["Biểu mẫu 1"][cell] = text
        wb["Biểu mẫu 1"][cell].data_type = "s"
    wb.save(path)

    run_cli("run", inbox, "--out", out)

    for workbook in [*out.glob("*.xlsx"), *out.glob("phan-hoi/*.xlsx")]:
        for ws in openpyxl.load_workbook(workbook):
            for row in ws.iter_rows():
                for c in row:
                    if isinstance(c.value, str) and ("evil" in c.value or "calc" in c.value or "@SUM" in c.value):
                        assert c.data_type == "s", (workbook.name, ws.title, c.coordinate)
    csv_text = (out / "nhat-ky-loi-tuy-phuoc.csv").read_text(encoding="utf-8-sig")
    for line in csv_text.splitlines()[1:]:
        assert not any(field.startswith(("=", "+", "-", "@")) for field in line.split(","))
