"""The fast path: python-calamine in worker processes gives the same rows as the careful reader."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import openpyxl
import pytest

import hostile
from consolidate import app
from consolidate.core import results
from consolidate.read.discover import is_submission
from consolidate.read.reader import read_submission
from consolidate.read.pool import read_file, read_files, screen_package
from conftest import needs_fork, unit_file


def calamine_can_read(path: Path) -> bool:
    """The screen's verdict, the same whether it inflates parts itself (from the bytes) or through zipfile."""
    data = path.read_bytes()
    with zipfile.ZipFile(path) as zf:
        direct, through_zipfile = screen_package(zf, data), screen_package(zf)
    assert direct == through_zipfile
    return direct is not None


def test_the_screen_finds_any_cell_outside_the_bounds():
    """One regex stands for parsing every address: checked against the numbers themselves."""
    from consolidate.core.cells import column_letters
    from consolidate.read.pool import sheet_out_of_bounds

    for max_rows, max_cols in ((2000, 60), (20000, 60), (999, 26), (1000, 27), (9, 702), (1, 1)):
        def beyond(xml: str) -> bool:
            return sheet_out_of_bounds(xml.encode(), max_rows, max_cols)

        for col in (*range(1, 800), 16384, 16385, 18278):
            for row in (1, 9, 10, 99, 100, 999, 1000, 1001, 1999, 2000, 2001, 3000, 9999, 10000, 20001, 1048576):
                cell = f'<c r="{column_letters(col)}{row}" s="1"><v>1</v></c>'
                assert beyond(cell) == (row > max_rows or col > max_cols), (max_rows, max_cols, col, row)
        assert beyond(f'<row r="{max_rows + 1}" spans="1:3">') and not beyond(f'<row r="{max_rows}">')
        assert beyond(f'<c r="A0{max_rows + 1}">')  # a leading zero hides nothing
        assert not beyond('<cols><col min="1" max="99"/></cols><cfRule type="x"/>')  # other "c…" tags


def rows(sub):
    return [(r.unit, r.item, r.field, r.value, r.source) for r in sub.records]


def test_the_fast_path_reads_exactly_what_the_careful_one_does(inbox):
    paths = sorted(inbox.glob("*.xlsx"))
    assert all(calamine_can_read(p) for p in paths)
    pooled = read_files([(p, p.name) for p in paths], is_submission)
    for path, (kind, sub) in zip(paths, pooled):
        fast = read_file(path, path.name, is_submission, fast=True)[1]
        careful = read_submission(path, path.name, "xlsx")
        assert kind == "xlsx"
        assert rows(fast) == rows(careful) == rows(sub)
        assert [r.raw for r in sub.records] == [r.raw for r in careful.records]
        # sent back from a worker, a number typed as a number is still one object for value and raw
        assert all(r.raw is r.value for r in sub.records if type(r.raw) is float and r.field != "before")
        assert [p.code for p in fast.problems] == [p.code for p in careful.problems] == [p.code for p in sub.problems]


def test_the_pool_keeps_the_inbox_order_and_says_what_is_not_a_spreadsheet(inbox):
    (inbox / "ghi-chu.txt").write_text("Gửi kèm báo cáo", encoding="utf-8")
    (inbox / "scan.xlsx").write_bytes(b"%PDF-1.4 not a workbook")
    items = [(p, p.name) for p in sorted(inbox.iterdir())]
    done = []

    read = read_files(items, is_submission, lambda n, total: done.append((n, total)))

    kinds = {path.name: kind for (path, _), (kind, _) in zip(items, read)}
    assert kinds["ghi-chu.txt"] == "unknown" and kinds["scan.xlsx"] == "pdf"
    assert dict(zip([n for _, n in items], [sub is None for _, sub in read]))["ghi-chu.txt"]
    assert [sub.name for _, sub in read if sub is not None] == [n for _, n in items if n != "ghi-chu.txt"]
    assert done[-1] == (len(items), len(items))
    assert [n for n, _ in done] == sorted(n for n, _ in done)


def test_files_that_need_formats_or_error_cells_take_the_careful_path(inbox, tmp_path):
    path = unit_file(inbox, "x-phuoc-an")
    assert calamine_can_read(path)
    wb = openpyxl.load_workbook(path)
    wb["Biểu mẫu 2"]["E8"].number_format = "0.0%"
    wb.save(tmp_path / "percent.xlsx")
    wb = openpyxl.load_workbook(path)
    wb["Biểu mẫu 1"]["G7"] = "#REF!"
    wb.save(tmp_path / "error.xlsx")
    hostile.junk_rows(path, tmp_path / "big.xlsx", n=3000)
    for name in ("percent.xlsx", "error.xlsx", "big.xlsx"):
        assert not calamine_can_read(tmp_path / name), name


def test_a_part_larger_than_its_declared_size_is_not_for_calamine(inbox, tmp_path):
    """The screen inflates parts itself and trusts no size it has not seen: a lying directory sends
    the file to the careful reader."""
    path = unit_file(inbox, "x-phuoc-an")
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(hostile.SHEET1)
    # the central directory entry of sheet1: its uncompressed size (offset 24) made smaller
    entry = data.index(b"PK\x01\x02")
    while data[entry + 46 : entry + 46 + len(hostile.SHEET1)] != hostile.SHEET1.encode():
        entry = data.index(b"PK\x01\x02", entry + 4)
    data[entry + 24 : entry + 28] = (info.file_size // 2).to_bytes(4, "little")
    lying = tmp_path / "lying.xlsx"
    lying.write_bytes(bytes(data))

    with zipfile.ZipFile(lying) as zf:
        assert screen_package(zf, lying.read_bytes()) is None
    kind, sub = read_file(lying, "lying.xlsx", is_submission, fast=True)
    assert kind == "xlsx"  # read carefully, whatever that finds; never by calamine on a lie


def test_a_file_that_kills_its_worker_is_read_the_careful_way(inbox):
    """A stray far cell behind a small declared size aborts calamine: the run goes on regardless."""
    path = unit_file(inbox, "x-phuoc-an")
    good = path.with_suffix(".orig")
    path.rename(good)
    row = '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'
    hostile.rewrite(good, path, {hostile.SHEET1: lambda x: x.replace("</sheetData>", row + "</sheetData>")})
    good.unlink()
    assert not calamine_can_read(path)  # its <dimension> lies, its cells do not

    result = app.run(inbox)

    assert result.count(results.REPORTED) == 14
    assert [p.code for p in result.problems] == ["total-mismatch"]
    assert result.consolidated.form1["x-phuoc-an"]["computers"].value == 5.0


@needs_fork("the monkeypatched reader must reach the workers; spawned ones import their own "
            "(test_a_spawned_worker_that_dies_loses_only_its_batches covers spawn)")
def test_a_worker_that_dies_loses_nothing(inbox, monkeypatch):
    """Should calamine ever abort on a file the screening let through, the other files still arrive."""
    from consolidate.read import pool as reading_pool

    real = reading_pool.calamine_values

    def dies_on_phuoc_an(fh, max_rows, max_cols):
        sheets = real(fh, max_rows, max_cols)
        if any("Phước An" in str(v) for s in sheets for _, _, v in s["cells"]):
            os.abort()  # what calamine does on a 512 GiB sheet: no Python exception, the process is gone
        return sheets

    monkeypatch.setattr(reading_pool, "calamine_values", dies_on_phuoc_an)
    monkeypatch.setattr(reading_pool, "BATCH", 2)

    result = app.run(inbox)

    assert result.count(results.REPORTED) == 14
    assert [p.code for p in result.problems] == ["total-mismatch"]
    assert result.consolidated.form1["x-phuoc-an"]["computers"].value == 5.0


def test_a_part_that_unpacks_large_is_not_for_calamine(inbox, tmp_path):
    """A few hundred kilobytes can unpack to a sheet of many megabytes: the bounded reader takes it."""
    path = unit_file(inbox, "x-phuoc-an")
    # numbered text: compressed ~30×, as real XML may be (a run of one letter, ~1000×, is a zip bomb)
    padding = "<!-- " + "".join(f"{i} " + " " * 80 for i in range((9 << 20) // 86 + 1)) + " -->"
    hostile.rewrite(path, tmp_path / "padded.xlsx", {hostile.SHEET1: lambda x: x.replace("<sheetData>", padding + "<sheetData>")})
    assert (tmp_path / "padded.xlsx").stat().st_size < 1 << 20
    assert not calamine_can_read(tmp_path / "padded.xlsx")
    kind, sub = read_file(tmp_path / "padded.xlsx", "padded.xlsx", is_submission, fast=True)
    assert kind == "xlsx" and [r.value for r in sub.records if r.field == "computers"] == [5.0]


# Sheet XML that spreadsheet programs never write but calamine would accept, each hiding
# something the fast path must not read silently: a far cell, cells placed by position,
# an error cell (calamine: blank) or a percent format (calamine: 0.978 for 97.8 %).
ODD_SHEETS = {
    "lowercase address": '<row r="8"><c r="bz8"><v>1</v></c></row>',
    "single-quoted address": "<row r=\"8\"><c r='BZ8'><v>1</v></c></row>",
    "tab before the address": '<row r="8"><c\tr="BZ8"><v>1</v></c></row>',
    "address not first": '<row r="8"><c s="0" r="BZ8"><v>1</v></c></row>',
    "cells placed by position": '<row r="8">' + "<c><v>1</v></c>" * 70 + "</row>",
    "a row without its number": '<row><c r="A8"><v>1</v></c></row>',
    "a far row of unaddressed cells": '<row r="3000"><c><v>1</v></c></row>',
    "a namespace-prefixed cell": '<row r="8"><x:c xmlns:x="http://schemas.openxmlformats.org/'
                                 'spreadsheetml/2006/main" r="BZ8"><x:v>1</x:v></x:c></row>',
    "an error cell in single quotes": "<row r=\"8\"><c r=\"A8\" t='e'><v>#REF!</v></c></row>",
    "an error cell after a tab": '<row r="8"><c r="A8"\tt="e"><v>#REF!</v></c></row>',
}


@pytest.mark.parametrize("case", list(ODD_SHEETS))
def test_sheet_xml_in_an_unusual_form_goes_to_the_careful_reader(inbox, tmp_path, case):
    path = unit_file(inbox, "x-phuoc-an")
    odd = hostile.rewrite(path, tmp_path / "odd.xlsx",
                          {hostile.SHEET1: lambda x: x.replace("</sheetData>", ODD_SHEETS[case] + "</sheetData>")})
    assert not calamine_can_read(odd), case


def test_a_sheet_or_a_percent_format_under_another_name_is_still_screened(inbox, tmp_path):
    """Parts are screened by what they hold, not by where the package says they are."""
    path = unit_file(inbox, "x-phuoc-an")
    moved = tmp_path / "moved.xlsx"
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(moved, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == hostile.SHEET1:
                zout.writestr("xl/elsewhere/Sheet1.XML", data.replace(b"</sheetData>",
                              b'<row r="3000"><c r="A3000"><v>1</v></c></row></sheetData>'))
                continue
            if item.filename == "xl/_rels/workbook.xml.rels":
                data = data.replace(b"worksheets/sheet1.xml", b"elsewhere/Sheet1.XML")
            if item.filename == "[Content_Types].xml":
                data = data.replace(b"/xl/worksheets/sheet1.xml", b"/xl/elsewhere/Sheet1.XML")
            zout.writestr(item.filename, data)
    assert not calamine_can_read(moved)

    percent = hostile.rewrite(path, tmp_path / "percent.xlsx", {
        "xl/styles.xml": lambda x: x.replace(
            "</styleSheet>", "<extLst><ext><numFmt numFmtId = '10' formatCode='0.00%'/></ext></extLst></styleSheet>"),
    })
    assert not calamine_can_read(percent)


def test_the_screen_refuses_a_package_whose_entries_overlap_or_point_outside(inbox, tmp_path):
    """Two names for one stored part (a bomb that inflates the same bytes many times), and an
    entry whose offset lies before the file's start, are not what Excel writes."""
    from consolidate.read.pool import _inflate, _payload
    from consolidate.ooxml.package import stored_bytes
    from consolidate.ooxml.xml_text import Unsupported

    def _member(data, info):
        payload = _payload(data, info)
        return None if payload is None else _inflate(payload, info)

    path = unit_file(inbox, "x-phuoc-an")
    data = path.read_bytes()
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(hostile.SHEET1)
        assert _member(data, info) == zf.read(info)
        info.header_offset = -10  # zipfile allows this when the directory's offset is overstated
        assert _member(data, info) is None
        with pytest.raises(Unsupported):  # the feedback patcher reads parts the same way
            stored_bytes(data, info)

    twice = tmp_path / "twice.xlsx"
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(twice, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            zout.writestr(item, zin.read(item.filename))
        with pytest.warns(UserWarning, match="Duplicate name"):
            zout.writestr(hostile.SHEET1, zin.read(hostile.SHEET1))  # a second entry of the same name
    assert not calamine_can_read(twice)


def _mark_where_read(sub) -> None:
    sub.matched = {"read in": str(os.getpid())}


def test_each_submission_is_prepared_in_the_process_that_read_it(inbox, monkeypatch):
    """The caller's per-file work (matching units, the period) runs in the reading workers, on every
    core, and what it did to the submission comes back with it; a file the fast path refuses is
    prepared after its careful reading as well."""
    from consolidate.read import pool as reading_pool

    monkeypatch.setattr(reading_pool, "SPAWN_MIN_FILES", 8)  # without fork (Windows), a pool all the same
    (inbox / "broken.xlsx").write_bytes(b"PK\x03\x04 not really a zip")
    items = [(p, p.name) for p in sorted(inbox.glob("*.xlsx"))]

    read = read_files(items, is_submission, prepare=_mark_where_read)

    where = {sub.name: sub.matched.get("read in") for _, sub in read}
    assert all(where.values()), where
    assert any(pid != str(os.getpid()) for pid in where.values())  # workers did most of it
    assert read_files(items[:1], is_submission)[0][1].matched == {}  # no hook, nothing done


def test_a_part_screened_once_is_trusted_again_only_byte_for_byte(inbox, tmp_path):
    """The parts a template repeats (theme, styles, workbook) are screened once per process. A part
    that differs in any byte is screened again, even under the same name and of the same size."""
    from consolidate.read import pool as reading_pool

    reading_pool._SCREENED.clear()
    path = unit_file(inbox, "x-phuoc-an")
    assert calamine_can_read(path)
    remembered = len(reading_pool._SCREENED)
    assert remembered >= 3  # none of them a sheet: sheets hold each unit's own figures
    assert calamine_can_read(path) and len(reading_pool._SCREENED) == remembered

    same_size = hostile.rewrite(path, tmp_path / "percent.xlsx", {
        "xl/styles.xml": lambda x: x.replace('numFmtId="164" formatCode="0.0"', 'numFmtId="164" formatCode="00%"', 1),
    })
    with zipfile.ZipFile(same_size) as zf, zipfile.ZipFile(path) as original:
        assert zf.getinfo("xl/styles.xml").file_size == original.getinfo("xl/styles.xml").file_size
    assert not calamine_can_read(same_size)


def test_two_runs_in_one_process_each_prepare_only_their_own_files(inbox):
    """A service may run two districts at once in threads of one process: each run's files get that
    run's matching, never the other's and never none (small inboxes are read in this process)."""
    import threading

    files = sorted(inbox.glob("*.xlsx"))
    a_items, b_items = [(p, p.name) for p in files[:3]], [(p, p.name) for p in files[3:6]]
    a_reading, b_started, a_done = threading.Event(), threading.Event(), threading.Event()
    seen = {"a": 0, "b": 0}

    def a_is_submission(path, kind):
        seen["a"] += 1
        if seen["a"] == 2:
            a_reading.set()
            b_started.wait(5)  # run B begins while A is halfway
        return is_submission(path, kind)

    def b_is_submission(path, kind):
        seen["b"] += 1
        if seen["b"] == 2:
            a_done.wait(5)  # run A ends while B is halfway
        return is_submission(path, kind)

    def mark(tag):
        def prepare(sub):
            sub.matched = {"prepared by": tag}
        return prepare

    read = {}

    def run_a():
        read["a"] = read_files(a_items, a_is_submission, prepare=mark("a"))
        a_done.set()

    def run_b():
        b_started.set()
        read["b"] = read_files(b_items, b_is_submission, prepare=mark("b"))

    a = threading.Thread(target=run_a)
    a.start()
    assert a_reading.wait(10)
    b = threading.Thread(target=run_b)
    b.start()
    a.join(10)
    b.join(10)
    got = {run: [sub.matched.get("prepared by") for _, sub in found] for run, found in read.items()}
    assert got == {"a": ["a", "a", "a"], "b": ["b", "b", "b"]}


def _without_fork(monkeypatch) -> None:
    """This process as Windows has it: spawn is the only start method (the pool's choice)."""
    import multiprocessing

    from consolidate.read import pool as reading_pool

    monkeypatch.setattr(multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    monkeypatch.setattr(reading_pool, "SPAWN_MIN_FILES", 8)


def _dies_reading_phuoc_an(sub) -> None:
    """A prepare hook that kills the worker (never this process) on Phước An's file, as calamine
    aborting would: no exception, the process is gone."""
    import multiprocessing

    if multiprocessing.parent_process() is not None and sub.name == "bao-cao-x-phuoc-an.xlsx":
        os.abort()
    _mark_where_read(sub)


def test_without_fork_spawned_workers_read_and_prepare_the_same(inbox, monkeypatch):
    """Windows has no fork: the workers are spawned, their hooks reach them pickled, and the run reads
    exactly what it reads with forked workers (or none)."""
    forked = app.run(inbox)
    items = [(p, p.name) for p in sorted(inbox.glob("*.xlsx"))]
    _without_fork(monkeypatch)

    read = read_files(items, is_submission, prepare=_mark_where_read)
    spawned = app.run(inbox)

    assert any(sub.matched["read in"] != str(os.getpid()) for _, sub in read)  # workers did read
    assert [p.code for p in spawned.problems] == [p.code for p in forked.problems] == ["total-mismatch"]
    assert spawned.consolidated.form1 == forked.consolidated.form1


def test_a_spawned_worker_that_dies_loses_only_its_batches(inbox, monkeypatch):
    """Under spawn, as under fork, a worker's death costs only a re-reading of its files, carefully."""
    from consolidate.read import pool as reading_pool

    _without_fork(monkeypatch)
    monkeypatch.setattr(reading_pool, "BATCH", 2)
    items = [(p, p.name) for p in sorted(inbox.glob("*.xlsx"))]

    read = read_files(items, is_submission, prepare=_dies_reading_phuoc_an)

    assert [sub.name for _, sub in read] == [name for _, name in items]
    assert all(kind == "xlsx" and sub.records for kind, sub in read)
    where = {sub.name: sub.matched["read in"] for _, sub in read}
    assert where["bao-cao-x-phuoc-an.xlsx"] == str(os.getpid())  # read again here, carefully
    assert any(pid != str(os.getpid()) for pid in where.values())  # the other batches by the workers
