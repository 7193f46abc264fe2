"""A commune checks its own file before sending: ``check`` must say what the district's ``run`` will
say about that file, with the same units table and settings, and never "có thể gửi" for a file the
district will reject."""

from __future__ import annotations

import json
from pathlib import Path

from consolidate.core import problems as P
from conftest import read_log, run_cli, set_cells, unit_file

# What only the whole inbox can tell: a value far from the other units', a unit that sent nothing,
# two files for one unit. ``check`` sees one file and leaves these to the run.
NEEDS_THE_OTHERS = {"outlier", "unit-not-reported", "group-not-reported", "superseded", "duplicate-file",
                    "resubmission-conflict", "changed-since-previous"}
SAMPLE_SETTINGS = Path(__file__).parent.parent / "consolidate" / "data" / "tuy-phuoc" / "report.toml"


def settings_for_another_period(tmp_path: Path) -> Path:
    """The district's settings file for the next round: only the periods differ from the sample's."""
    text = SAMPLE_SETTINGS.read_text(encoding="utf-8")
    text = text.replace("từ 01/01/2024 – 30/4/2024", "từ 01/01/2025 – 30/4/2025")
    text = text.replace("Từ 01/5 – 25/7/2024", "Từ 01/5 – 25/7/2025")
    path = tmp_path / "cau-hinh.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_misspelt_unit_name_is_refused_with_the_closest_name(inbox):
    path = unit_file(inbox, "x-phuoc-an")
    set_cells(path, "Biểu mẫu 1", {"B7": "Xã Phước Ann"})

    result = run_cli("check", path)

    assert result.exit_code == 1, result.output
    assert "có thể gửi" not in result.output
    assert "Tệp bao-cao-x-phuoc-an.xlsx (Xã Phước Ann): 1 lỗi, 0 cảnh báo." in result.output
    assert ("  [Lỗi] Biểu mẫu 1!B7: Đơn vị “Xã Phước Ann” không có trong danh sách đơn vị báo cáo"
            " (có phải: Xã Phước An,") in result.output


def test_check_uses_the_districts_own_units_table(inbox, tmp_path):
    """A district whose units table names communes the embedded sample does not know."""
    units = tmp_path / "don-vi.csv"
    units.write_text("Mã,Tên đơn vị,Cấp,Mã đơn vị cấp trên\nh,Huyện Mới,huyện,\nx1,Xã Phước An,xã,h\n"
                     "x2,Xã Bình Minh,xã,h\n", encoding="utf-8")
    an, hoa = unit_file(inbox, "x-phuoc-an"), unit_file(inbox, "x-phuoc-hoa")

    known = run_cli("check", an, "--units", units)
    unknown = run_cli("check", hoa, "--units", units)

    assert known.exit_code == 0 and "hợp lệ, có thể gửi" in known.output
    assert unknown.exit_code == 1
    assert "Đơn vị “Xã Phước Hòa” không có trong danh sách đơn vị báo cáo" in unknown.output


def test_a_file_for_another_period_is_refused_as_the_run_would(inbox, out, tmp_path):
    config = settings_for_another_period(tmp_path)
    path = unit_file(inbox, "x-phuoc-an")

    checked = run_cli("check", path, "--config", config)
    run_cli("run", inbox, "--out", out, "--config", config)

    assert checked.exit_code == 1
    assert "có thể gửi" not in checked.output
    assert "Tiêu đề cột ghi kỳ “01/01/2024 – 30/4/2024”, khác kỳ của báo cáo này “từ 01/01/2025 – 30/4/2025”" in checked.output
    assert [e["code"] for e in read_log(out) if e["file"] == path.name] == ["period-mismatch"]


def test_check_says_what_the_run_says_about_the_same_file(inbox, out):
    """The same problems and messages; only the fix is told to the commune instead of the clerk."""
    path = unit_file(inbox, "x-phuoc-an")
    set_cells(path, "Biểu mẫu 1", {"C7": 9, "H7": -1})
    set_cells(path, "Biểu mẫu 2", {"D8": 99, "E9": 130})

    checked = json.loads(run_cli("check", path, "--json").output)
    run_cli("run", inbox, "--out", out)

    def key(e: dict, for_unit: bool = False) -> tuple:
        hint = (P.CATALOGUE[e["code"]].unit_hint or e["hint"]) if for_unit else e["hint"]
        return e["code"], e["severity"], e["sheet"], e["cell"], e["unit"], e["message"], hint

    (entry,) = checked
    from_run = sorted(key(e, for_unit=True) for e in read_log(out)
                      if e["file"] == path.name and e["code"] not in NEEDS_THE_OTHERS)
    assert sorted(key(e) for e in entry["problems"]) == from_run
    assert {"total-mismatch", "negative-count", "rate-out-of-range", "below-target"} <= {e[0] for e in from_run}


def test_json_lists_each_file_with_its_verdict_for_programs(inbox):
    clean, wrong = unit_file(inbox, "x-phuoc-an"), unit_file(inbox, "x-phuoc-son")

    result = run_cli("check", clean, wrong, "--json")

    assert result.exit_code == 1
    first, second = json.loads(result.output)
    assert first == {"file": "bao-cao-x-phuoc-an.xlsx", "units": ["Xã Phước An"], "verdict": "ok",
                     "errors": 0, "warnings": 0, "notes": 0, "problems": []}
    assert (second["verdict"], second["errors"], second["warnings"]) == ("errors", 1, 0)
    (problem,) = second["problems"]
    assert problem == {
        "file": "bao-cao-x-phuoc-son.xlsx", "sheet": "Biểu mẫu 1", "cell": "C7", "unit": "Xã Phước Sơn",
        "code": "total-mismatch", "severity": "error", "message": "Tổng số 7 ≠ 6 + 0 + 0 (= 6).",
        "hint": "Tổng số phải bằng tổng ba cột thành phần: sửa Tổng số thành 6 hoặc sửa lại các cột thành phần.",
    }


def test_a_warning_alone_lets_the_file_go_and_json_says_so(inbox):
    path = unit_file(inbox, "x-phuoc-an")
    set_cells(path, "Biểu mẫu 2", {"D8": 99})  # the target typed above the result: below target

    result = run_cli("check", path, "--json")

    assert result.exit_code == 0
    ((entry),) = json.loads(result.output)
    assert (entry["verdict"], entry["warnings"], [p["code"] for p in entry["problems"]]) == (
        "warnings", 1, ["below-target"])


def test_notes_come_after_errors_and_warnings_and_are_counted(inbox):
    path = unit_file(inbox, "x-phuoc-an")
    set_cells(path, "Biểu mẫu 1", {"B7": "Phước An", "C7": 9})  # a name without "Xã": read, with a note
    set_cells(path, "Biểu mẫu 2", {"D8": 99})

    result = run_cli("check", path)

    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0] == "Tệp bao-cao-x-phuoc-an.xlsx (Phước An): 1 lỗi, 1 cảnh báo, 1 thông tin."
    labels = [line.split("]")[0].strip() + "]" for line in lines[1:] if line.startswith("  [")]
    assert labels == ["[Lỗi]", "[Cảnh báo]", "[Thông tin]"]


def test_a_file_with_only_notes_can_be_sent_and_says_how_many(inbox):
    path = unit_file(inbox, "x-phuoc-an")
    set_cells(path, "Biểu mẫu 1", {"B7": "Phước An"})

    result = run_cli("check", path)

    assert result.exit_code == 0
    assert result.output.splitlines()[0] == "Tệp bao-cao-x-phuoc-an.xlsx (Phước An): hợp lệ, có thể gửi (1 thông tin)."


def excel_lock_file(report: Path) -> Path:
    """What Excel leaves beside a report while it is open: "~$" + the name, 165 bytes naming the user."""
    lock = report.with_name("~$" + report.name[2:])
    lock.write_bytes(bytes([5]) + "Admin".encode() + b"\x20" * 49 + "Admin".encode("utf-16-le") + b"\x00" * 100)
    return lock


def test_check_skips_excel_lock_files_and_hidden_files_as_the_run_does(inbox, tmp_path):
    """A commune types ``consolidate check *.xlsx`` with its report still open in Excel."""
    report = unit_file(inbox, "x-phuoc-an")
    lock = excel_lock_file(report)
    hidden = inbox / ".bao-cao-cu.xlsx"  # an old copy, hidden: the run would not read it either
    hidden.write_bytes(unit_file(inbox, "x-phuoc-son").read_bytes())  # Phước Sơn's total mismatch

    result = run_cli("check", lock, hidden, report)

    assert result.exit_code == 0, result.output  # only the real report counts, and it is fine
    lines = result.output.splitlines()
    assert lines[0] == f"Tệp {lock.name}: bỏ qua, không kiểm tra."
    assert lines[1] == "      Lý do: đây là tệp khóa tạm của Excel, loại tệp mà huyện cũng bỏ qua khi tổng hợp."
    assert f"Tệp {hidden.name}: bỏ qua, không kiểm tra." in lines
    assert "      Lý do: đây là tệp ẩn, loại tệp mà huyện cũng bỏ qua khi tổng hợp." in lines
    verdicts = [line for line in lines if "hợp lệ" in line or "lỗi" in line]
    assert verdicts == ["Tệp bao-cao-x-phuoc-an.xlsx (Xã Phước An): hợp lệ, có thể gửi."]


def test_a_skipped_file_neither_passes_nor_fails_in_json(inbox):
    wrong = unit_file(inbox, "x-phuoc-son")
    lock = excel_lock_file(wrong)

    result = run_cli("check", lock, wrong, "--json")

    assert result.exit_code == 1  # Phước Sơn's own error, not the lock file
    skipped, checked = json.loads(result.output)
    assert (skipped["file"], skipped["verdict"], skipped["errors"], skipped["notes"]) == (lock.name, "skipped", 0, 1)
    assert [p["code"] for p in skipped["problems"]] == ["file-skipped"]
    assert (checked["verdict"], checked["errors"]) == ("errors", 1)
    assert run_cli("check", lock).exit_code == 0
