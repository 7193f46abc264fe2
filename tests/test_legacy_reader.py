""".xls and .ods submissions, read by python-calamine in a child: whatever the console's code page,
and never at the cost of a gigabyte for a few kilobytes."""

from __future__ import annotations

import time

import pytest

from consolidate.read import calamine_worker
from consolidate.read.biff import sheet_extents
from consolidate.app import run as run_pipeline
from consolidate.read.reader import Unreadable, load_calamine
from conftest import read_log, run_cli
from legacy_files import write_ods, write_xls

CELLS = {(0, 0): "UBND XÃ PHƯỚC SƠN", (1, 0): "Số hồ sơ tiếp nhận", (1, 1): 12, (2, 1): 3.5}


@pytest.mark.parametrize("code_page", ["cp1258", "cp1252"])
@pytest.mark.parametrize("write", [write_xls, write_ods], ids=["xls", "ods"])
def test_the_reader_child_speaks_utf8_whatever_the_code_page(tmp_path, monkeypatch, code_page, write):
    """On Windows a child's stdout is in the ANSI code page, which has no NFC Vietnamese: the child
    writes UTF-8 bytes and the parent reads them so."""
    monkeypatch.setenv("PYTHONIOENCODING", code_page)  # what a pipe's encoding is on Vietnamese Windows
    path = write(tmp_path / f"bao-cao.{write.__name__[-3:]}", CELLS)

    (grid,) = load_calamine(path)

    assert grid.title == "Biểu mẫu 1"
    assert {k: c.value for k, c in grid.cells.items()} == {(1, 1): "UBND XÃ PHƯỚC SƠN", (2, 1): "Số hồ sơ tiếp nhận",
                                                            (2, 2): 12.0, (3, 2): 3.5}


def test_the_extent_of_an_xls_sheet_is_read_from_its_records(tmp_path):
    """What calamine will allocate, known before it does: value cells only, blanks do not count."""
    small = write_xls(tmp_path / "small.xls", CELLS, declared=(65536, 256))  # a DIMENSIONS record alone costs nothing
    far = write_xls(tmp_path / "far.xls", {**CELLS, (65535, 255): 1})
    assert sheet_extents(small.read_bytes()) == [("Biểu mẫu 1", 3, 2)]
    assert sheet_extents(far.read_bytes()) == [("Biểu mẫu 1", 65536, 256)]


def test_a_small_xls_with_one_far_value_is_refused_before_calamine_allocates(tmp_path):
    """6 kB with values in A1 and IV65536: calamine would allocate 16 million cells (about 1 GB, over
    a second). It is one log entry instead, in well under a second, on every OS."""
    far = write_xls(tmp_path / "far.xls", {**CELLS, (65535, 255): 1})
    assert far.stat().st_size < 10_000

    started = time.perf_counter()
    with pytest.raises(Unreadable) as caught:
        load_calamine(far)

    assert time.perf_counter() - started < 5
    assert caught.value.problem_cls.code == "file-unreadable"
    assert caught.value.params["reason"] == ("trang “Biểu mẫu 1” có dữ liệu trải trên 65536 dòng × 256 cột, "
                                             "quá lớn đối với một báo cáo")


def test_a_small_ods_with_one_far_value_is_refused_before_calamine_allocates(tmp_path):
    """The same in OpenDocument: a row repeated 200,000 times, then one value 100 columns across;
    1 kB that calamine would make 1.2 GB of. Trailing empty rows, as LibreOffice writes them, cost
    nothing and do not count."""
    import zipfile

    from consolidate.read import ods_extent

    path = write_ods(tmp_path / "far.ods", CELLS)
    far_row = ('<table:table-row table:number-rows-repeated="200000"><table:table-cell/></table:table-row>'
               '<table:table-row><table:table-cell table:number-columns-repeated="100"/>'
               '<table:table-cell office:value-type="float" office:value="1"/></table:table-row>'
               '<table:table-row table:number-rows-repeated="1048000"><table:table-cell '
               'table:number-columns-repeated="1024"/></table:table-row>')
    with zipfile.ZipFile(path) as zf:
        parts = {i.filename: zf.read(i) for i in zf.infolist()}
    assert ods_extent.sheet_extents(path.read_bytes()) == [("Biểu mẫu 1", 3, 2)]
    parts["content.xml"] = parts["content.xml"].replace(b"</table:table>", far_row.encode() + b"</table:table>")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            zf.writestr(name, data, zipfile.ZIP_STORED if name == "mimetype" else zipfile.ZIP_DEFLATED)
    assert path.stat().st_size < 2000
    assert ods_extent.sheet_extents(path.read_bytes()) == [("Biểu mẫu 1", 200004, 101)]

    started = time.perf_counter()
    with pytest.raises(Unreadable) as caught:
        load_calamine(path)
    assert time.perf_counter() - started < 5
    assert caught.value.params["reason"] == ("trang “Biểu mẫu 1” có dữ liệu trải trên 200004 dòng × 101 cột, "
                                             "quá lớn đối với một báo cáo")


def test_many_sheets_each_within_the_bound_are_refused_together(tmp_path, monkeypatch):
    """Each sheet is allocated in turn: the bound is on all of them, or a file of many mid-sized
    sheets would take minutes."""
    monkeypatch.setattr(calamine_worker, "LEGACY_MAX_CELLS", 4)
    path = write_xls(tmp_path / "two.xls", CELLS)  # 3 × 2 = 6 cells
    with open(path, "rb") as fh:
        assert calamine_worker.too_large(fh) == {"error": "too-large", "sheet": "Biểu mẫu 1", "rows": 3, "cols": 2}
    monkeypatch.setattr(calamine_worker, "LEGACY_MAX_CELLS", 6)
    with open(path, "rb") as fh:
        assert calamine_worker.too_large(fh) is None
        assert fh.tell() == 0  # calamine reads it from the start


def test_a_heavy_legacy_file_is_refused_unread(tmp_path, monkeypatch):
    from consolidate.read import loading

    monkeypatch.setattr(loading, "LEGACY_MAX_BYTES", 1000)
    path = write_xls(tmp_path / "nang.xls", CELLS)
    with pytest.raises(Unreadable) as caught:
        load_calamine(path)
    reason = caught.value.params["reason"]
    assert reason.startswith("tệp nặng ") and reason.endswith(" MB, quá lớn đối với một báo cáo")


def test_a_far_value_in_an_xls_submission_is_one_log_entry(inbox, out):
    far = write_xls(inbox / "bao-cao-x-phuoc-an.xls", {**CELLS, (65535, 255): 1})
    (inbox / "bao-cao-x-phuoc-an.xlsx").unlink()

    result = run_cli("run", inbox, "--out", out)

    assert result.exit_code == 1
    entries = [(e["code"], e["message"]) for e in read_log(out) if e["file"] == far.name]
    assert entries == [("file-unreadable", "Không mở được tệp như một bảng tính (trang “Biểu mẫu 1” có dữ liệu "
                                           "trải trên 65536 dòng × 256 cột, quá lớn đối với một báo cáo).")]
    assert [p.code for p in run_pipeline(inbox).problems if p.file == far.name] == ["file-unreadable"]
