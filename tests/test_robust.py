"""One file never stops the run, and the output set is replaced as a whole (issue 13, section 3).

Each story builds the inbox a clerk might really have, runs the command and
reads what the clerk would read: the exit code, the log, the outputs.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import openpyxl
import pytest

import hostile
from conftest import checksums, merged, read_log, run_cli, unit_file

PROJECT = Path(__file__).resolve().parents[1]


def command(*args: object, timeout: int = 180) -> subprocess.CompletedProcess:
    """The real command in its own process, as the clerk starts it."""
    return subprocess.run([sys.executable, "-m", "consolidate", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, cwd=PROJECT)


def log_of(out: Path, code: str) -> list[dict[str, str]]:
    return [e for e in read_log(out) if e["code"] == code]


def provenance(out: Path) -> dict[str, tuple]:
    return {r[1]: r for r in merged(out)["Nguồn dữ liệu"].iter_rows(min_row=2, values_only=True)}


# The four run-stoppers -------------------------------------------------------------


def test_a_file_deleted_between_listing_and_reading_is_one_log_entry(inbox, out, monkeypatch):
    import consolidate.app as app

    real = app.discover

    def then_deleted(folder):  # a unit's clerk deletes the file while the run starts
        found = real(folder)
        unit_file(inbox, "x-phuoc-an").unlink()
        return found

    monkeypatch.setattr(app, "discover", then_deleted)
    result = run_cli("run", inbox, "--out", out)

    assert result.exit_code == 1, result.output
    (entry,) = [e for e in read_log(out) if e["file"] == "bao-cao-x-phuoc-an.xlsx"]
    assert entry["code"] == "file-unreadable"
    assert "bị xóa" in entry["message"]
    assert provenance(out)["bao-cao-x-phuoc-an.xlsx"][6].startswith("Không dùng được")


def test_a_file_name_that_is_not_utf8_is_read_and_shown_with_a_replacement_mark(inbox, out):
    odd = os.fsencode(inbox) + b"/bao-cao-ph\xf6\xf4\xf9c-an.xlsx"  # a name saved by an old program
    os.rename(os.fsencode(unit_file(inbox, "x-phuoc-an")), odd)
    before = checksums(inbox)

    result = run_cli("run", inbox, "--out", out, "--json")

    assert result.exit_code == 1, result.output
    shown = "bao-cao-ph\ufffd\ufffd\ufffdc-an.xlsx"
    (entry,) = log_of(out, "file-name-undecodable")
    assert entry["file"] == shown and shown in entry["message"]
    assert json.loads(result.output)["units_reported"] == 14  # the file was read all the same
    assert provenance(out)[shown][6] == "Đã tổng hợp"
    assert shown in (out / "tong-hop-tuy-phuoc.html").read_text(encoding="utf-8")
    assert checksums(inbox) == before


def test_a_file_name_of_245_bytes_gets_its_feedback_copy(inbox, out):
    name = "bao-cao-x-phuoc-son-" + "đ" * 110 + ".xlsx"  # 245 bytes: Phước Sơn's file has an error
    assert len(name.encode()) == 245
    unit_file(inbox, "x-phuoc-son").rename(inbox / name)

    result = run_cli("run", inbox, "--out", out)

    assert result.exit_code == 1, result.output
    assert [e["code"] for e in read_log(out) if e["file"] == name] == ["total-mismatch"]
    assert (out / "phan-hoi" / name).is_file()
    assert not [p for p in out.rglob("*") if p.name.startswith(".")]


def test_a_feedback_copy_whose_name_cannot_be_created_is_a_note(inbox, out):
    # 251 bytes on disk; shown with three 3-byte marks instead of three odd bytes it is 257: too long
    odd = b"bao-cao-x-phuoc-son-\xf6\xf4\xf9" + "đ".encode() * 111 + b".xlsx"
    assert len(odd) == 250
    os.rename(os.fsencode(unit_file(inbox, "x-phuoc-son")), os.fsencode(inbox) + b"/" + odd)

    result = run_cli("run", inbox, "--out", out)

    assert result.exit_code == 1, result.output
    (note,) = log_of(out, "feedback-not-written")
    assert "255 byte" in note["message"]
    assert [e["code"] for e in read_log(out) if e["file"] == note["file"]] == [
        "file-name-undecodable", "total-mismatch", "feedback-not-written"]
    assert not (out / "phan-hoi").exists() or not list((out / "phan-hoi").iterdir())


def test_a_count_that_reads_as_infinity_is_an_error_on_its_cell(inbox, out):
    path = unit_file(inbox, "x-phuoc-an")
    wb = openpyxl.load_workbook(path)
    wb["Biểu mẫu 1"]["C7"] = "=" + "9" * 400  # a formula saved without its value
    wb["Biểu mẫu 1"]["G7"] = "1e400"
    wb["Biểu mẫu 1"]["G7"].data_type = "s"
    wb.save(path)
    hien = unit_file(inbox, "x-phuoc-hiep")  # and a number stored as 1e400 in the sheet itself
    hostile.rewrite(hien, hien, {hostile.SHEET1: lambda x: x.replace('<c r="G7" s="8"><v>4</v>', '<c r="G7" s="8"><v>1e400</v>')})

    result = run_cli("run", inbox, "--out", out)

    assert result.exit_code == 1, result.output
    by_cell = {(e["file"], e["cell"]): e for e in read_log(out) if e["severity"] == "error"}
    assert by_cell[("bao-cao-x-phuoc-an.xlsx", "C7")]["code"] == "formula-without-value"
    assert by_cell[("bao-cao-x-phuoc-an.xlsx", "G7")]["code"] == "not-a-number"
    assert by_cell[("bao-cao-x-phuoc-hiep.xlsx", "G7")]["code"] == "not-a-number"
    ws = merged(out)["Biểu mẫu 1"]
    an = next(r for r in ws.iter_rows(min_row=7, values_only=True) if r[1] == "Xã Phước An")
    assert an[2].startswith("=999") and an[6] == "1e400"  # shown as typed, as text
    assert "Xã Phước An" in (out / "tong-hop-tuy-phuoc.html").read_text(encoding="utf-8")


# Stalls and floods ------------------------------------------------------------------


def test_a_workbook_of_one_amplified_shared_string_is_checked_and_merged_in_seconds(inbox, out, tmp_path):
    """12,000 cells showing one 1 MB string: once over five minutes of `check`, now a note."""
    bomb = hostile.amplified_shared_string(tmp_path / "khuech-dai.xlsx")

    checked = command("check", bomb, timeout=120)

    assert checked.returncode == 1, checked.stderr
    assert "ký tự đầu" in checked.stdout
    hostile.copy(bomb, inbox / "khuech-dai.xlsx")
    done = command("run", inbox, "--out", out, timeout=120)
    assert done.returncode == 1, done.stderr
    codes = [e["code"] for e in read_log(out) if e["file"] == "khuech-dai.xlsx"]
    assert codes.count("text-truncated") == 2 and "feedback-not-written" in codes
    (budget,) = [e for e in log_of(out, "text-truncated") if "1.000.000" in e["message"]]
    assert budget["sheet"] == "Biểu mẫu 1" and budget["cell"]
    assert not (out / "phan-hoi" / "khuech-dai.xlsx").exists()
    assert "Đơn vị đã báo cáo: 14/14." in done.stdout


def test_library_warnings_and_clean_up_errors_stay_off_the_console(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    from consolidate.write.sample import make_sample_inbox

    src = tmp_path / "all"
    make_sample_inbox(src)
    ext = ('<extLst><ext uri="{CCE6A557-97BC-4b89-ADB6-D9C93CAAB3DF}" '
           'xmlns:x14="http://schemas.microsoft.com/office/spreadsheetml/2009/9/main">'
           '<x14:dataValidations count="0"/></ext></extLst>')
    # a small inbox (read in this process by openpyxl), one file with a data-validation extension
    for code in ("x-phuoc-son", "x-phuoc-an"):
        hostile.copy(src / f"bao-cao-{code}.xlsx", inbox / f"bao-cao-{code}.xlsx")
    with_ext = hostile.rewrite(src / "bao-cao-x-phuoc-hoa.xlsx", inbox / "bao-cao-x-phuoc-hoa.xlsx",
                               {hostile.SHEET1: lambda x: x.replace("</worksheet>", ext + "</worksheet>")})

    for done in (command("check", with_ext), command("run", inbox, "--out", tmp_path / "out")):
        assert done.returncode == 1 or done.returncode == 0, done.stderr
        assert "Warning" not in done.stderr and "Traceback" not in done.stderr, done.stderr


def test_an_error_in_a_library_objects_clean_up_is_not_printed(inbox):
    """A zip a library leaves half-built fails in ZipFile.__del__: Python prints "Exception ignored
    … Traceback" unless the run keeps such clean-up errors to itself."""
    script = textwrap.dedent(f"""
        import io, zipfile, openpyxl
        load = openpyxl.load_workbook
        def leaky_load(*args, **kwargs):
            buf = io.BytesIO()
            zf = zipfile.ZipFile(buf, "w")
            zf.writestr("a", "b")
            buf.close()      # the library's zip is left half-built...
            del zf           # ...and fails while the garbage collector closes it
            return load(*args, **kwargs)
        openpyxl.load_workbook = leaky_load
        from consolidate.cli import main
        main(["check", {str(unit_file(inbox, "x-phuoc-an"))!r}])
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=PROJECT)
    assert done.returncode == 0, done.stderr
    assert "Exception ignored" not in done.stderr and "Traceback" not in done.stderr, done.stderr


# Links and folders ------------------------------------------------------------------


def test_links_leading_outside_dangling_links_and_unreadable_folders_are_logged_not_followed(
        inbox, out, tmp_path, monkeypatch):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    unit_file(inbox, "x-phuoc-an").rename(elsewhere / "bao-cao-x-phuoc-an.xlsx")
    (inbox / "loi-tat-phuoc-an.xlsx").symlink_to(elsewhere / "bao-cao-x-phuoc-an.xlsx")
    (inbox / "thu-muc-ngoai").symlink_to(elsewhere, target_is_directory=True)
    (inbox / "da-xoa.xlsx").symlink_to(tmp_path / "khong-con.xlsx")
    (inbox / "xa-phuoc-hiep").mkdir()
    unit_file(inbox, "x-phuoc-hiep").rename(inbox / "xa-phuoc-hiep" / "bao-cao.xlsx")
    locked = str(inbox / "xa-phuoc-hiep")
    real_scandir = os.scandir

    def refusing(path="."):  # a sub-folder the clerk's account may not open
        if os.fspath(path) == locked:
            raise PermissionError(13, "Permission denied", locked)
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", refusing)
    result = run_cli("run", inbox, "--out", out)

    assert result.exit_code == 1, result.output  # not 2: everything is accounted for
    by_file = {e["file"]: e["code"] for e in read_log(out) if e["file"]}
    assert by_file["loi-tat-phuoc-an.xlsx"] == "file-link-outside"
    assert by_file["thu-muc-ngoai"] == "file-link-outside"
    assert by_file["da-xoa.xlsx"] == "file-link-broken"
    assert by_file["xa-phuoc-hiep"] == "folder-unreadable"
    missing = {e["unit"] for e in log_of(out, "unit-not-reported")}
    assert missing == {"Xã Phước An", "Xã Phước Hiệp"}  # the file outside the inbox was not read
    rows = provenance(out)
    assert rows["loi-tat-phuoc-an.xlsx"][4] == ""  # not even hashed through the link
    assert rows["xa-phuoc-hiep"][6].startswith("Bỏ qua")


# The output set -------------------------------------------------------------------


@pytest.mark.parametrize("held", ["tong-hop-tuy-phuoc.xlsx", "phan-hoi/bao-cao-x-phuoc-son.xlsx"])
def test_an_output_open_in_excel_leaves_the_whole_previous_set_in_place(inbox, out, monkeypatch, held):
    assert run_cli("run", inbox, "--out", out).exit_code == 1
    before = checksums(out)
    unit_file(inbox, "x-phuoc-an").unlink()  # the next run writes something different everywhere
    held_path = os.path.abspath(out / held)
    real_replace = os.replace

    def excel_holds(src, dst, *args, **kwargs):  # Windows refuses to replace or move an open workbook
        if held_path in (os.path.abspath(src), os.path.abspath(dst)):
            raise PermissionError(13, "The process cannot access the file", str(dst))
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", excel_holds)
    result = run_cli("run", inbox, "--out", out)

    assert result.exit_code == 2
    assert f"Đóng tệp {Path(held).name} trong Excel rồi chạy lại" in result.output
    assert checksums(out) == before  # every file as it was; no temporary left behind
    monkeypatch.setattr(os, "replace", real_replace)
    assert run_cli("run", inbox, "--out", out).exit_code == 1  # closed: the next run goes through
    assert any(e["unit"] == "Xã Phước An" for e in log_of(out, "unit-not-reported"))


def _lock(out: Path, pid: int) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    lock = out / ".consolidate.lock"
    lock.write_text(json.dumps({"pid": pid, "host": socket.gethostname(), "time": "2026-12-05T00:00:00"}))
    return lock


def test_a_second_run_into_a_busy_folder_says_another_run_is_using_it(inbox, out, monkeypatch):
    import consolidate.write.lock as run_lock

    monkeypatch.setattr(run_lock, "LOCK_WAIT", 0.5)
    _lock(out, os.getpid())  # a live run holds the folder

    result = run_cli("run", inbox, "--out", out)

    assert result.exit_code == 2
    assert f"Thư mục {out} đang được một lần chạy khác sử dụng" in result.output
    assert not list(out.glob("*.csv")) and not list(out.glob("*.xlsx"))


def test_a_second_run_waits_for_the_first_to_finish(inbox, out):
    lock = _lock(out, os.getpid())
    threading.Timer(1.0, lock.unlink).start()  # the first run finishes a second later

    started = time.monotonic()
    result = run_cli("run", inbox, "--out", out)

    assert result.exit_code == 1, result.output
    assert time.monotonic() - started >= 1.0
    assert read_log(out) and not lock.exists()


def test_a_lock_left_by_a_run_that_died_is_taken_over(inbox, out):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    lock = _lock(out, int(dead.stdout))

    result = run_cli("run", inbox, "--out", out)

    assert result.exit_code == 1, result.output
    assert read_log(out) and not lock.exists()


def test_two_runs_into_one_folder_both_finish_and_leave_one_agreeing_set(inbox, out):
    runs = [subprocess.Popen([sys.executable, "-m", "consolidate", "run", str(inbox), "--out", str(out), "-q"],
                             cwd=PROJECT, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [(p.wait(timeout=180), p.stderr.read()) for p in runs]

    assert [code for code, _ in results] == [1, 1], results
    assert not [p.name for p in out.rglob("*") if p.name.startswith(".")]
    assert len(read_log(out)) == 1


def test_a_writer_outside_a_run_never_deletes_a_young_temporary_of_another_writer(tmp_path):
    """Without the run's lock (a test, `consolidate template`), only temporaries an hour old are swept."""
    from consolidate.write.files import atomic_target, temp_path

    target = tmp_path / "nhat-ky-loi-tuy-phuoc.csv"
    young, old = temp_path(target, "aaaa1111"), temp_path(target, "bbbb2222")
    young.write_text("another run is writing this")
    old.write_text("left by a run killed yesterday")
    os.utime(old, (time.time() - 7200, time.time() - 7200))

    with atomic_target(target) as tmp:
        tmp.write_text("file,sheet\n")

    assert target.read_text() == "file,sheet\n"
    assert young.exists() and not old.exists()
    assert len(young.name.encode()) <= 20  # short whatever the target's name


def test_a_run_killed_while_replacing_its_outputs_is_undone_by_the_next(inbox, out):
    assert run_cli("run", inbox, "--out", out).exit_code == 1
    before = checksums(out)
    unit_file(inbox, "x-phuoc-an").unlink()
    script = textwrap.dedent(f"""
        import os, signal
        import consolidate.write.files as files
        set_aside = files._set_aside
        calls = []
        def dies_on_the_third(*args):
            calls.append(1)
            if len(calls) == 3:   # two outputs replaced, the power goes off
                os.kill(os.getpid(), signal.SIGKILL)
            return set_aside(*args)
        files._set_aside = dies_on_the_third
        from consolidate.cli import main
        main(["run", {str(inbox)!r}, "--out", {str(out)!r}])
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=180, cwd=PROJECT)
    assert done.returncode == -9
    assert checksums(out) != before  # half of the new set is in place

    from consolidate.write.files import OutputSet
    from consolidate.write.lock import output_lock

    with output_lock(out), OutputSet(out):  # what the next run does first
        recovered = {name: digest for name, digest in checksums(out).items() if name != ".consolidate.lock"}
    assert recovered == before
