"""Edge cases found in review: each was a way to lose or misread a row."""

from __future__ import annotations

import dataclasses
import shutil

import openpyxl

from consolidate import app
from consolidate.core import results
from consolidate.write.outputs import write_outputs
from consolidate.settings.report import default_settings
from conftest import read_log, run_cli, set_cells, unit_file
from test_province import build_mau_inbox, district_mau, province


def codes_for(out, name):
    return [(e["cell"], e["code"]) for e in read_log(out) if e["file"] == name]


def test_a_unit_marked_not_reported_in_a_district_stays_not_reported_at_the_province(tmp_path):
    tp = tmp_path / "tp"
    from consolidate.write.sample import make_sample_inbox

    make_sample_inbox(tp)
    unit_file(tp, "x-phuoc-an").unlink()
    write_outputs(app.run(tp), tmp_path / "tp-out")
    write_outputs(app.run(build_mau_inbox(tmp_path / "mau"), district_mau()), tmp_path / "mau-out")
    inbox = tmp_path / "tinh"
    inbox.mkdir()
    for wb in [*(tmp_path / "tp-out").glob("*.xlsx"), *(tmp_path / "mau-out").glob("*.xlsx")]:
        shutil.copy(wb, inbox)

    result = app.run(inbox, province())

    assert result.status["x-phuoc-an"].state == results.MISSING
    assert not [p for p in result.problems if p.unit == "Xã Phước An" and p.code != "unit-not-reported"]
    assert result.count(results.REPORTED) == 17


def test_a_district_workbook_for_another_period_is_not_merged_by_the_province(tmp_path):
    from consolidate.write.sample import make_sample_inbox

    old = dataclasses.replace(default_settings(), period_before="từ 01/01/2023 – 30/4/2023")
    tp = app.run(make_sample_inbox(tmp_path / "tp")[0].parent, settings=old)
    write_outputs(tp, tmp_path / "tp-out")
    inbox = tmp_path / "tinh"
    inbox.mkdir()
    shutil.copy(tmp_path / "tp-out" / "tong-hop-tuy-phuoc.xlsx", inbox)
    result = app.run(inbox, province())
    assert [p.code for p in result.problems if p.file == "tong-hop-tuy-phuoc.xlsx"][-1] == "period-mismatch"


def test_a_cleared_data_row_is_reported_not_silently_lost(inbox, out):
    path = unit_file(inbox, "x-phuoc-an")
    set_cells(path, "Biểu mẫu 1", {f"{c}7": None for c in "ABCDEFGHIJ"})
    run_cli("run", inbox, "--out", out)
    assert ("B7", "form-empty") in codes_for(out, path.name)


def test_a_commune_whose_name_looks_like_a_district_heading_is_still_read(inbox, out):
    path = unit_file(inbox, "x-phuoc-an")
    set_cells(path, "Biểu mẫu 1", {"B7": "Tịnh Phong", **{f"{c}7": None for c in "CDEFGHIJ"}})
    run_cli("run", inbox, "--out", out)
    got = codes_for(out, path.name)
    assert ("B7", "unit-unknown") in got  # not in Tuy Phước's registry, but not silently dropped


def test_one_unit_typed_in_two_rows_uses_the_first_and_says_so(inbox, out):
    path = unit_file(inbox, "x-phuoc-an")
    set_cells(path, "Biểu mẫu 1", {"A8": 2, "B8": "Phước An", **{f"{c}8": 9 for c in "CDEFGHIJ"}})
    run_cli("run", inbox, "--out", out)
    entry = next(e for e in read_log(out) if e["code"] == "unit-repeated")
    assert (entry["file"], entry["cell"], entry["unit"]) == (path.name, "B8", "Xã Phước An")
    assert "B7, B8" in entry["message"]
    ws = openpyxl.load_workbook(out / "tong-hop-tuy-phuoc.xlsx", data_only=True)["Biểu mẫu 1"]
    row = next(r for r in ws.iter_rows(min_row=7, values_only=True) if r[1] == "Xã Phước An")
    assert row[2:10] == (5, 5, 0, 0, 5, 3, 3, 4)


def test_a_sum_over_a_whole_sheet_does_not_stall_the_run(inbox, out):
    path = unit_file(inbox, "x-phuoc-an")
    set_cells(path, "Biểu mẫu 1", {"C7": "=SUM(D7:XFD1048576)"})
    result = run_cli("run", inbox, "--out", out)
    assert result.exit_code == 1
    assert ("C7", "total-mismatch") in codes_for(out, path.name)  # sums what was read: D7:J7


def test_a_unit_line_above_the_table_does_not_hide_the_table(inbox, out):
    path = unit_file(inbox, "x-phuoc-an")

    def split(wb):
        ws = wb["Biểu mẫu 1"]
        ws.unmerge_cells("A3:J3")
        ws["A3"], ws["C3"] = "Đơn vị:", "Xã Phước An"

    wb = openpyxl.load_workbook(path)
    split(wb)
    wb.save(path)
    run_cli("run", inbox, "--out", out)
    assert codes_for(out, path.name) == []


def test_a_name_shared_by_two_districts_in_a_lone_file_says_which_they_are(tmp_path):
    from consolidate.write.sample import make_sample_inbox

    make_sample_inbox(tmp_path / "all")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(tmp_path / "all" / "bao-cao-cap-huyen.xlsx", inbox)
    result = app.run(inbox, province())
    (p,) = [p for p in result.problems if p.code == "unit-ambiguous"]
    assert p.message == ("Tên “Cấp huyện” có ở nhiều huyện (Cấp huyện – Huyện Tuy Phước, Cấp huyện – Huyện Mẫu) "
                         "nên không biết là đơn vị nào; số liệu của dòng này không được tổng hợp.")
