"""A clerk reads every line the command prints: help, usage errors and the CSV log are Vietnamese.

click writes its own headings and usage errors in English; none of them may reach a user.
"""

from __future__ import annotations

import csv

import pytest

from conftest import run_cli, unit_file

# click's English, as it prints it (headings, help texts, usage errors, "[default: …]").
CLICK_ENGLISH = ("Usage:", "Options:", "Commands:", "Show this message and exit", "Show the version and exit",
                 "[default:", "Error:", "Missing argument", "Missing option", "does not exist", "No such option",
                 "No such command", "Did you mean", "Try '", "for help", "Invalid value", "Aborted!",
                 "requires an argument", "does not take a value", "unexpected extra argument", "is a file",
                 "is a directory", "[OPTIONS]", "COMMAND [ARGS]", "DIRECTORY", "FILE", ", version ")
COMMANDS = ("run", "check", "template", "init", "export")


def assert_vietnamese(text: str) -> None:
    found = [phrase for phrase in CLICK_ENGLISH if phrase in text]
    assert not found, f"click's English reaches the user: {found}\n{text}"


@pytest.mark.parametrize("args", [("--help",), ("-h",), *((c, "--help") for c in COMMANDS)])
def test_every_help_page_is_vietnamese(args):
    result = run_cli(*args)
    assert result.exit_code == 0
    assert_vietnamese(result.output)
    assert result.output.startswith("Cách dùng: consolidate")
    assert "Tùy chọn:" in result.output and "Hiện hướng dẫn này rồi thoát." in result.output


def test_the_top_level_help_shows_each_command_whole():
    result = run_cli("--help")
    assert "Lệnh:" in result.output and "…" not in result.output and "..." not in result.output.split("Lệnh:")[1]
    assert "check     Kiểm tra tệp báo cáo của đơn vị trước khi gửi." in result.output
    assert "--version   Hiện số phiên bản rồi thoát." in result.output


def test_defaults_are_said_in_the_help_text():
    result = run_cli("run", "--help")
    assert "Thư mục ghi kết quả (mặc định: outbox)." in result.output


def test_the_version_is_vietnamese():
    result = run_cli("--version")
    assert result.exit_code == 0 and "phiên bản" in result.output
    assert_vietnamese(result.output)


@pytest.mark.parametrize("args, says", [
    (("run",), "Lỗi: Thiếu THƯ_MỤC."),
    (("run", "khong-co-thu-muc"), "Lỗi: THƯ_MỤC: không tìm thấy thư mục “khong-co-thu-muc”."),
    (("run", "--bogus", "x"), "Lỗi: Không có tùy chọn “--bogus”"),
    (("bogus",), "Lỗi: Không có lệnh “bogus”; các lệnh là: check, export, form, history, init, links, run, serve, template."),
    (("check",), "Lỗi: Thiếu TỆP..."),
    (("check", "khong-co.xlsx"), "Lỗi: TỆP...: không tìm thấy tệp “khong-co.xlsx”."),
    (("check", "--units", "khong-co.csv", "khong-co.xlsx"), "Lỗi: --units: không tìm thấy tệp “khong-co.csv”."),
    (("init",), "Lỗi: Thiếu THƯ_MỤC."),
    (("template", "--out"), "Lỗi: Tùy chọn “--out” cần một giá trị ngay sau nó."),
])
def test_usage_errors_are_vietnamese_and_exit_2(args, says):
    result = run_cli(*args)
    assert result.exit_code == 2
    assert_vietnamese(result.output)
    assert says in result.output
    assert "Cách dùng: consolidate" in result.output and "--help” để xem hướng dẫn." in result.output


def test_a_folder_where_a_file_is_wanted_and_back(inbox):
    as_file = run_cli("check", inbox)
    as_folder = run_cli("run", unit_file(inbox, "x-phuoc-an"))
    extra = run_cli("run", inbox, "thua")
    flag = run_cli("run", inbox, "--json=1")
    for result in (as_file, as_folder, extra, flag):
        assert result.exit_code == 2
        assert_vietnamese(result.output)
    assert f"“{inbox}” là một thư mục, không phải tệp." in as_file.output
    assert "là một tệp, không phải thư mục." in as_folder.output
    assert "Lỗi: Thừa tham số: thua." in extra.output
    assert "Lỗi: Tùy chọn “--json” không nhận giá trị." in flag.output


def test_the_group_alone_shows_its_help():
    result = run_cli()
    assert result.exit_code == 2
    assert_vietnamese(result.output)
    assert "Lệnh:" in result.output


def test_our_own_refusals_keep_their_words(inbox, tmp_path):
    result = run_cli("run", inbox, "--out", inbox / "ket-qua")
    assert result.exit_code == 2
    assert_vietnamese(result.output)
    assert "Lỗi: Thư mục kết quả (--out) không được nằm trong thư mục báo cáo nhận về." in result.output


def test_the_csv_log_has_the_log_sheets_columns_and_severities(inbox, out):
    run_cli("run", inbox, "--out", out)
    (path,) = out.glob("nhat-ky-loi-*.csv")
    with open(path, encoding="utf-8-sig", newline="") as fh:
        header, *rows = list(csv.reader(fh))
    assert header == ["STT", "Tệp", "Trang tính", "Ô", "Đơn vị", "Mã lỗi", "Mức độ", "Nội dung", "Cách khắc phục"]
    assert rows == [["1", "bao-cao-x-phuoc-son.xlsx", "Biểu mẫu 1", "C7", "Xã Phước Sơn", "total-mismatch", "Lỗi",
                     "Tổng số 7 ≠ 6 + 0 + 0 (= 6).",
                     "Tổng số phải bằng tổng ba cột thành phần: sửa Tổng số thành 6 hoặc sửa lại các cột thành phần."]]
