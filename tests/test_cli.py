"""The commands as people use them: a commune checks its file, a script reads JSON, a clerk sets up a district."""

from __future__ import annotations

import json

import pytest

from conftest import read_log, run_cli, set_cells, unit_file


def test_a_commune_checks_its_file_before_sending(inbox):
    result = run_cli("check", unit_file(inbox, "x-phuoc-son"))
    assert result.exit_code == 1
    assert result.output.splitlines()[:3] == [
        "Tệp bao-cao-x-phuoc-son.xlsx (Xã Phước Sơn): 1 lỗi, 0 cảnh báo.",
        "  [Lỗi] Biểu mẫu 1!C7: Tổng số 7 ≠ 6 + 0 + 0 (= 6).",
        "      Cách sửa: Tổng số phải bằng tổng ba cột thành phần: sửa Tổng số thành 6 hoặc sửa lại các cột thành phần.",
    ]


def test_a_clean_file_checks_clean(inbox):
    path = unit_file(inbox, "x-phuoc-an")
    result = run_cli("check", path)
    assert result.exit_code == 0, result.output
    assert "hợp lệ, có thể gửi" in result.output


def test_check_reports_several_files_and_each_cell(inbox):
    a, b = unit_file(inbox, "x-phuoc-an"), unit_file(inbox, "x-phuoc-hoa")
    set_cells(b, "Biểu mẫu 2", {"E9": 130})
    result = run_cli("check", a, b)
    assert result.exit_code == 1
    assert "Tệp bao-cao-x-phuoc-an.xlsx (Xã Phước An): hợp lệ, có thể gửi." in result.output
    assert "  [Lỗi] Biểu mẫu 2!E9: Ô “Tỷ lệ số hóa hồ sơ – (ii) Kết quả sau khi chuyển giao” ghi 130" in result.output


def test_json_summary_for_scripts(inbox, out):
    unit_file(inbox, "x-phuoc-an").unlink()
    result = run_cli("run", inbox, "--out", out, "--json")
    summary = json.loads(result.output)
    assert (summary["units_expected"], summary["units_reported"]) == (14, 13)
    assert summary["units_missing"] == ["Xã Phước An"]
    errors = [p for p in summary["problems"] if p["severity"] == "error"]
    assert summary["errors"] == 2 and len(errors) == 2
    assert {row["code"] for row in summary["by_code"] if row["severity"] == "error"} == {"total-mismatch",
                                                                                         "unit-not-reported"}
    assert summary["outputs"]["workbook"].endswith("tong-hop-tuy-phuoc.xlsx")


def test_quiet_prints_nothing_but_keeps_the_exit_code(inbox, out):
    result = run_cli("run", inbox, "--out", out, "--quiet")
    assert (result.exit_code, result.output) == (1, "")
    assert len(read_log(out)) == 1


def test_the_summary_counts_problems_by_code(inbox, out):
    result = run_cli("run", inbox, "--out", out)
    assert "  Lỗi       Tổng số không khớp     1" in result.output  # the kind in words; the code is in --json


def test_a_new_district_starts_from_init_and_runs_with_its_config(inbox, out, tmp_path):
    folder = tmp_path / "cau-hinh"
    result = run_cli("init", folder)
    assert result.exit_code == 0
    assert sorted(p.name for p in folder.iterdir()) == ["cau-hinh.toml", "dhis2-anh-xa.csv", "don-vi.xlsx"]
    assert run_cli("init", folder).exit_code == 2  # never overwrites a clerk's edited files silently
    assert run_cli("init", folder, "--force").exit_code == 0

    result = run_cli("run", inbox, "--out", out, "--config", folder / "cau-hinh.toml")
    assert "Đơn vị đã báo cáo: 14/14." in result.output  # a district's example: Tuy Phước's own units


def test_a_units_file_with_a_broken_tree_is_refused_before_any_reading(inbox, out, tmp_path):
    units = tmp_path / "don-vi.csv"
    units.write_text("Mã,Tên đơn vị,Cấp,Mã đơn vị cấp trên\nh,Huyện A,huyện,\nx1,Xã Một,xã,h\nx2,Xã Hai,xã,khong-co\n",
                     encoding="utf-8")
    result = run_cli("run", inbox, "--out", out, "--units", units)
    assert result.exit_code == 2
    assert "dòng 4, cột “Mã đơn vị cấp trên”: không có đơn vị mã “khong-co”" in result.output
    assert not out.exists()


def test_the_command_as_the_clerk_types_it_keeps_its_exit_code(inbox, out):
    """Through the console script's own entry (which exits with the collector frozen), not CliRunner."""
    import gc
    import subprocess
    import sys

    from consolidate import cli

    done = subprocess.run([sys.executable, "-m", "consolidate", "run", str(inbox), "--out", str(out), "--json"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr  # the sample inbox has one error on purpose
    summary = json.loads(done.stdout)
    assert summary["units_reported"] == 14 and summary["errors"] == 1
    assert (out / "tong-hop-tuy-phuoc.xlsx").is_file()
    try:
        with pytest.raises(SystemExit) as ended:
            cli.entry(["--version"])
        assert ended.value.code == 0
        assert gc.get_freeze_count() > 0  # what the console script leaves behind as it exits
    finally:
        gc.unfreeze()  # this test process goes on
