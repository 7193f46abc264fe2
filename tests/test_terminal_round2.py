"""Issue 21, the clerk's terminal: Ctrl+C at any moment, names that would drive the terminal, two runs
taking the same stale lock, and a console with nothing on it but the tool's own Vietnamese lines."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from consolidate.write.lock import LOCK_NAME

ROOT = Path(__file__).resolve().parent.parent


def _python(code: str, *args: str, **kwargs: object) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), *args], cwd=ROOT, **kwargs)


# 17. Two runs that find the same stale lock --------------------------------------------------------

RACER = """
    import sys, time
    from pathlib import Path
    from consolidate.write import lock
    from consolidate.write.files import OutputError
    from consolidate.write.lock import output_lock

    folder, me, trials, slow = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4] == "slow"
    signals = folder.parent
    if slow:  # this run is held up right after it found the lock's run gone (a busy computer, a slow share)
        real_alive, judged = lock._alive, []

        def _alive(pid):
            alive = real_alive(pid)
            if not alive and not judged:
                judged.append(pid)
                (signals / f"judged-{me}").write_text("")
                while not (signals / f"go-on-{me}").exists():
                    time.sleep(0.002)
            return alive

        lock._alive = _alive
    for n in range(trials):
        deadline = time.monotonic() + 60
        go = signals / f"go-{n}"
        while not go.exists():  # spinning: both racers leave within microseconds of each other
            if time.monotonic() > deadline:
                sys.exit(3)
        try:
            with output_lock(folder, wait=0):
                (signals / f"won-{n}-{me}").write_text("")
                while not (signals / f"release-{n}").exists() and time.monotonic() < deadline:
                    time.sleep(0.002)
        except OutputError:
            (signals / f"busy-{n}-{me}").write_text("")
"""


def _dead_pid() -> int:
    """The number of a process that has ended (a run that died)."""
    done = subprocess.Popen([sys.executable, "-c", "pass"])
    done.wait()
    return done.pid


def _wait_for(condition, what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"waited {seconds} s for {what}")
        time.sleep(0.005)


def _plant_stale_lock(folder: Path, dead: int) -> None:
    (folder / LOCK_NAME).write_text(json.dumps(
        {"pid": dead, "host": socket.gethostname(), "time": "2024-01-01T08:00:00", "os_lock": False}), encoding="utf-8")


def _verdict(signals: Path, n: int, name: str) -> str | None:
    found = [v for v in ("won", "busy") if (signals / f"{v}-{n}-{name}").exists()]
    return found[0] if found else None


def test_a_run_held_up_after_finding_the_lock_stale_does_not_take_the_lock_another_run_took(tmp_path):
    """Run b finds the dead run's lock stale and is held up a moment; meanwhile run a removes the
    stale lock and takes the folder. Run b must then find a's lock, not remove it as the stale one
    (before: it did, and both runs wrote into the folder)."""
    folder = tmp_path / "outbox"
    folder.mkdir()
    _plant_stale_lock(folder, _dead_pid())
    b = _python(RACER, str(folder), "b", "1", "slow")
    a = None
    try:
        (tmp_path / "go-0").touch()
        _wait_for(lambda: (tmp_path / "judged-b").exists(), "run b to judge the lock")
        a = _python(RACER, str(folder), "a", "1", "fast")
        _wait_for(lambda: _verdict(tmp_path, 0, "a") is not None, "run a")
        (tmp_path / "go-on-b").touch()
        _wait_for(lambda: _verdict(tmp_path, 0, "b") is not None, "run b")
        assert (_verdict(tmp_path, 0, "a"), _verdict(tmp_path, 0, "b")) == ("won", "busy")
        (tmp_path / "release-0").touch()
        assert a.wait(timeout=60) == 0 and b.wait(timeout=60) == 0
        assert not (folder / LOCK_NAME).exists()  # a let go of its own lock
    finally:
        for racer in (a, b):
            if racer is not None and racer.poll() is None:
                racer.kill()
                racer.wait()


def test_two_runs_that_find_the_same_stale_lock_never_both_take_it(tmp_path):
    """A run died and left its lock; four runs start at once. In every trial exactly one gets the
    folder and the others are told it is busy (before: two took it in 2 to 5 trials of 10)."""
    trials, names = 20, ("a", "b", "c", "d")
    folder = tmp_path / "outbox"
    folder.mkdir()
    dead = _dead_pid()
    racers = [_python(RACER, str(folder), name, str(trials), "fast") for name in names]
    try:
        for n in range(trials):
            _plant_stale_lock(folder, dead)
            (tmp_path / f"go-{n}").touch()
            outcome = {name: None for name in names}

            def all_said() -> bool:
                outcome.update({name: _verdict(tmp_path, n, name) for name in outcome})
                return None not in outcome.values()

            _wait_for(all_said, f"every racer in trial {n}")
            assert list(outcome.values()).count("won") == 1, f"trial {n}: {outcome}"
            (tmp_path / f"release-{n}").touch()
            _wait_for(lambda: not (folder / LOCK_NAME).exists(), f"the winner of trial {n} to let go")
        for racer in racers:
            assert racer.wait(timeout=60) == 0
    finally:
        for racer in racers:
            if racer.poll() is None:
                racer.kill()
                racer.wait()


# 15. Ctrl+C at any moment ------------------------------------------------------------------------

from consolidate.cli.reporting import INTERRUPTED_WRITTEN  # noqa: E402
from consolidate.core.formats import FEEDBACK_DIR  # noqa: E402
from consolidate.terminal import INTERRUPTED, INTERRUPTED_STARTING  # noqa: E402
from conftest import checksums, needs_fork, run_cli  # noqa: E402

# What the console script pip writes (setup.cfg: consolidate = consolidate.cli:entry), word for word,
# after ``prelude``: the place where a test presses Ctrl+C.
CONSOLE_SCRIPT = """
    import signal, sys
    {prelude}
    import re
    from consolidate.cli import entry
    if __name__ == '__main__':
        sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])
        sys.exit(entry())
"""

# Ctrl+C while click is being imported: the console script's first ~0.2 s
WHILE_IMPORTING = """
    class CtrlC:
        def find_spec(self, name, path=None, target=None):
            if name == "click":
                sys.meta_path.remove(self)
                signal.raise_signal(signal.SIGINT)
            return None

    sys.meta_path.insert(0, CtrlC())
"""

# Ctrl+C right after the summary printed "Kết quả:"
AFTER_RESULTS = """
    import click
    real_echo = click.echo

    def echo(message=None, *args, **kwargs):
        real_echo(message, *args, **kwargs)
        if message == "Kết quả:":
            signal.raise_signal(signal.SIGINT)

    click.echo = echo
"""

# Ctrl+C while the new output set replaces the previous one: after its second file is in place
DURING_COMMIT = """
    import consolidate.write.files as files
    real_replace, moved = files.os.replace, []

    def replace(src, dst):
        real_replace(src, dst)
        if ".~" in str(src) and ".~" not in str(dst):  # a new file put in place (not a backup set aside)
            moved.append(dst)
            if len(moved) == 2:
                signal.raise_signal(signal.SIGINT)

    files.os.replace = replace
"""


def _written(out: Path) -> str:
    return INTERRUPTED_WRITTEN.format(out=out, feedback=f" (cả thư mục {FEEDBACK_DIR})")


def _console(prelude: str, *args: str) -> subprocess.CompletedProcess:
    code = CONSOLE_SCRIPT.format(prelude=textwrap.indent(textwrap.dedent(prelude), "    ").strip())
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args], capture_output=True, cwd=ROOT,
                          timeout=300)


def _no_python_on(stderr: str) -> None:
    assert "Traceback" not in stderr and "Exception ignored" not in stderr and "KeyboardInterrupt" not in stderr, stderr


def _second_round(inbox: Path, out: Path) -> dict[str, str]:
    """A first run's outputs, and an inbox that makes the next run's differ (Phước An's figure)."""
    from conftest import set_cells, unit_file

    assert run_cli("run", inbox, "--out", out).exit_code == 1
    before = checksums(out)
    set_cells(unit_file(inbox, "x-phuoc-an"), "Biểu mẫu 1", {"B7": 987})
    return before


def test_ctrl_c_while_the_program_is_still_loading_is_one_vietnamese_line(inbox, out):
    done = _console(WHILE_IMPORTING, "run", str(inbox), "--out", str(out))
    stderr = done.stderr.decode("utf-8")
    _no_python_on(stderr)
    assert done.returncode == 130
    assert stderr.strip() == INTERRUPTED_STARTING
    assert not out.exists()


def test_ctrl_c_after_the_results_are_listed_says_the_new_outputs_are_there(inbox, out):
    before = _second_round(inbox, out)
    done = _console(AFTER_RESULTS, "run", str(inbox), "--out", str(out))
    stderr = done.stderr.decode("utf-8")
    _no_python_on(stderr)
    assert done.returncode == 130
    assert stderr.strip() == _written(out)
    after = checksums(out)
    changed = {name for name in before if after.get(name) != before[name]}
    assert f"{FEEDBACK_DIR}/bao-cao-x-phuoc-an.xlsx" not in before  # An had no copy: it had no error
    assert {"nhat-ky-loi-tuy-phuoc.csv", "tong-hop-tuy-phuoc.xlsx", "tong-hop-tuy-phuoc.html"} <= changed


def test_ctrl_c_while_the_outputs_are_replaced_says_what_the_folder_then_holds(inbox, out):
    """Pressed halfway through the replacement: the set is finished (a Ctrl+C waits for it) and the
    line says so; never a mix of old and new files."""
    before = _second_round(inbox, out)
    done = _console(DURING_COMMIT, "run", str(inbox), "--out", str(out))
    stderr = done.stderr.decode("utf-8")
    _no_python_on(stderr)
    assert done.returncode == 130
    after = checksums(out)
    new = {name for name in before if after.get(name) != before[name]}
    if stderr.strip() == INTERRUPTED:
        assert after == before
    else:
        assert stderr.strip() == _written(out)
        assert {"nhat-ky-loi-tuy-phuoc.csv", "tong-hop-tuy-phuoc.xlsx", "tong-hop-tuy-phuoc.html"} <= new
    assert not [p for p in out.rglob("*") if p.name.startswith(".~")]  # no temporary, no backup, no journal


def _loaded(pid: int, markers: tuple[str, ...]) -> bool:
    try:
        maps = Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False
    return any(marker in maps for marker in markers)


# Extension modules that the commands load (click, the readers, the writers), not Python's own start-up
LOADING_COMMANDS = ("/_decimal.", "/pyexpat.", "/_elementtree.", "/_csv.")


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="watches the process through /proc (Linux)")
@pytest.mark.parametrize("moment", ["loading", "0.5 s", "1 s", "1.5 s", "Kết quả:"])
def test_ctrl_c_from_the_terminal_at_any_moment_never_shows_python(inbox, out, moment):
    """The console script as the clerk starts it, and a real Ctrl+C (SIGINT) at one moment of the
    run. Whatever it interrupts, stderr holds Vietnamese lines only, and the line about the outputs
    tells the truth about the folder."""
    before = _second_round(inbox, out)
    script = Path(sys.executable).with_name("consolidate")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "consolidate"]
    run = subprocess.Popen([*command, "run", str(inbox), "--out", str(out)], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        deadline = time.monotonic() + 120
        if moment == "loading":
            while run.poll() is None and not _loaded(run.pid, LOADING_COMMANDS) and time.monotonic() < deadline:
                time.sleep(0.001)
        elif moment == "Kết quả:":
            for line in run.stdout:
                if line.decode("utf-8").strip() == "Kết quả:":
                    break
        else:
            time.sleep(float(moment.split()[0]))
        if run.poll() is None:
            run.send_signal(2)  # SIGINT, what Ctrl+C sends
        stdout, stderr = run.communicate(timeout=120)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    stderr = stderr.decode("utf-8")
    _no_python_on(stderr)
    after = checksums(out)
    replaced = after["nhat-ky-loi-tuy-phuoc.csv"] != before["nhat-ky-loi-tuy-phuoc.csv"]
    if run.returncode == 130:
        said = stderr.strip().splitlines()[-1]
        assert said in (INTERRUPTED_STARTING, INTERRUPTED, _written(out)), stderr
        assert (said == _written(out)) == replaced, (said, replaced)
        if not replaced:
            assert after == before
    else:  # the run ended before the Ctrl+C arrived, or ignored it while ending: it finished
        assert run.returncode == 1 and replaced, stderr


# 16. Names that would drive the terminal -----------------------------------------------------------

import re  # noqa: E402

from conftest import unit_file  # noqa: E402

RETITLE = "\x1b]0;cua-so-bi-doi-ten\x07"  # ESC ] 0 ; … BEL: sets the terminal window's title
REVERSED = "\u202e"  # RIGHT-TO-LEFT OVERRIDE: "bao-cao-\u202exslx.exe" shows as "bao-cao-exe.xlsx"
# What a terminal obeys: C0 but newline, DEL, C1, the bidirectional controls; the colours click itself
# adds (ESC [ … m, only on a terminal) are not in a pipe.
RAW_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _consolidate(*args: object, **env: str) -> subprocess.CompletedProcess:
    script = Path(sys.executable).with_name("consolidate")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "consolidate"]
    return subprocess.run([*command, *map(str, args)], capture_output=True, timeout=600, env={**os.environ, **env})


def test_a_file_name_that_would_retitle_the_terminal_is_shown_escaped_by_run_and_check(inbox, out):
    """Phước Sơn's file (it has an error, so the console names it) sent under a name with an escape
    sequence in it, and another with a right-to-left override: the console shows both escaped."""
    son = unit_file(inbox, "x-phuoc-son").rename(inbox / f"bao-cao-{RETITLE}-son.xlsx")
    an = unit_file(inbox, "x-phuoc-an").rename(inbox / f"bao-cao-{REVERSED}xslx.exe")

    ran = _consolidate("run", inbox, "--out", out)
    checked = _consolidate("check", son, an)
    checked_json = _consolidate("check", "--json", son)

    for done in (ran, checked, checked_json):
        for stream in (done.stdout, done.stderr):
            text = stream.decode("utf-8")
            assert not RAW_CONTROL.search(text), repr(text)
    shown = "bao-cao-\\x1b]0;cua-so-bi-doi-ten\\x07-son.xlsx"
    assert shown in ran.stdout.decode("utf-8") and ran.returncode == 1
    assert f"Tệp {shown} (Xã Phước Sơn): 1 lỗi" in checked.stdout.decode("utf-8")
    assert "Tệp bao-cao-\\u202exslx.exe (Xã Phước An): hợp lệ" in checked.stdout.decode("utf-8")
    assert json.loads(checked_json.stdout)[0]["file"] == son.name  # a program still reads the name as it is


# 18. A console of the tool's own Vietnamese lines, whatever the inbox holds -------------------------

import gc  # noqa: E402
import random  # noqa: E402
import zipfile  # noqa: E402

import openpyxl  # noqa: E402

import hostile  # noqa: E402
from legacy_files import write_ods, write_xls  # noqa: E402
from xlsx_flavours import MACROSHEET_REL, as_saved_by_excel, macro_workbook  # noqa: E402



def test_a_macro_workbook_leaves_no_half_closed_zip_for_the_collector(inbox, out, monkeypatch):
    """The copy of an .xlsm that the patcher leaves to openpyxl kept its macro parts in a zip that
    nothing closed; when the collector ran, its clean-up failed on a closed file and Python printed
    "Exception ignored in: ZipFile.__del__ … ValueError" on the clerk's console."""
    son = unit_file(inbox, "x-phuoc-son")
    macro_workbook(son, son.with_suffix(".xlsm"))
    son.unlink()
    failed_cleanups = []
    monkeypatch.setattr(sys, "unraisablehook", failed_cleanups.append)

    assert run_cli("run", inbox, "--out", out).exit_code == 1
    gc.collect()  # what the collector does at any later moment of the process

    assert [f"{u.exc_type.__name__}: {u.exc_value} in {u.object!r}" for u in failed_cleanups] == []
    with zipfile.ZipFile(out / FEEDBACK_DIR / "bao-cao-x-phuoc-son.xlsm") as copy:
        assert "Phản hồi" in copy.read("xl/workbook.xml").decode("utf-8")


def _cells_of(path: Path) -> dict[tuple[int, int], object]:
    ws = openpyxl.load_workbook(path, data_only=True).worksheets[0]
    return {(c.row - 1, c.column - 1): c.value for row in ws.iter_rows() for c in row if c.value is not None}


def _mixed_inbox(inbox: Path, tmp_path: Path) -> list[Path]:
    """The sample inbox plus everything a careless or hostile unit sends: broken zips, fuzzed bytes,
    macro workbooks, legacy and OpenDocument files, a password, empty files, a PDF, XML bombs."""
    rng = random.Random(21)
    good = sorted(inbox.glob("*.xlsx"))
    seed = good[0].read_bytes()
    made = []

    def add(name: str, data: bytes | None = None) -> Path:
        path = inbox / name
        if data is not None:
            path.write_bytes(data)
        made.append(path)
        return path

    hostile.truncated(good[1], add("bao-cao-cat-doi.xlsx"))
    add("bao-cao-zip-hong.xlsx", b"PK\x03\x04" + bytes(rng.randrange(256) for _ in range(3000)))
    for n in range(4):  # the sample's bytes with a few hundred of them changed at random
        fuzzed = bytearray(seed)
        for _ in range(50 * (n + 1)):
            fuzzed[rng.randrange(len(fuzzed))] = rng.randrange(256)
        add(f"bao-cao-nhieu-{n}.xlsx", bytes(fuzzed))
    add("bao-cao-rac.xlsx", bytes(rng.randrange(256) for _ in range(5000)))
    add("bao-cao-rac.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(rng.randrange(256) for _ in range(4000)))
    macro_workbook(good[2], add("bao-cao-macro.xlsm"))
    macro_workbook(good[3], add("bao-cao-macro-4.xlsm"), MACROSHEET_REL)
    write_xls(add("bao-cao-cu.xls"), _cells_of(good[4]))
    write_ods(add("bao-cao-libreoffice.ods"), _cells_of(good[5]))
    hostile.encrypted(good[6], add("bao-cao-mat-khau.xlsx"))
    add("bao-cao-rong.xlsx", b"")
    add("bao-cao-rong.xls", b"")
    add("cong-van.pdf", b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")
    hostile.billion_laughs(good[7], add("bao-cao-bom-xml.xlsx"))
    secret = tmp_path / "mat-khau.txt"
    secret.write_text("bí mật", encoding="utf-8")
    hostile.external_entity(good[8], add("bao-cao-xxe.xlsx"), secret)
    hostile.stray_far_corner(good[9], add("bao-cao-o-xa.xlsx"))
    hostile.external_formulas(good[10], add("bao-cao-cong-thuc.xlsx"))
    excel = add("bao-cao-excel.xlsx", seed)
    as_saved_by_excel(excel)
    add(f"bao-cao-{RETITLE}.xlsx", seed)
    add("~$bao-cao-x-phuoc-an.xlsx", b"\x00" * 165)  # Excel's lock file beside an open workbook
    return [*good, *made]


# A line of the tool speaks Vietnamese: it has a letter only Vietnamese writes; or it is one of the
# lines that list what was written, an indented path. Anything else (a traceback, a library's warning,
# "Exception ignored in …", an English message) is not the tool's.
VIETNAMESE_LETTER = re.compile("[ăâđêôơưĂÂĐÊÔƠƯàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ"
                               "ÀÁẢÃẠẰẮẲẴẶẦẤẨẪẬÈÉẺẼẸỀẾỂỄỆÌÍỈĨỊÒÓỎÕỌỒỐỔỖỘỜỚỞỠỢÙÚỦŨỤỪỨỬỮỰỲÝỶỸỴ]")
LIBRARY_WORDS = re.compile(r"Traceback|Exception|Error\b|Warning\b|warn\(|ignored|File \"|line \d+, in|"
                           r"KeyboardInterrupt|Aborted|zipfile|openpyxl|calamine|\.py\b")


def foreign_lines(output: str, out: Path) -> list[str]:
    """The lines of ``output`` that are not the tool's own (see above); empty ones excepted."""
    foreign = []
    for line in output.splitlines():
        if not line.strip():
            continue
        own = VIETNAMESE_LETTER.search(line) or (line.startswith("  ") and Path(line.strip()).is_relative_to(out))
        if not own or LIBRARY_WORDS.search(line) or RAW_CONTROL.search(line):
            foreign.append(line)
    return foreign


def test_the_console_check_can_tell_python_from_the_tool(out):
    """The check below fails on what reached the console before (so it can fail at all)."""
    leaked = textwrap.dedent("""\
        Exception ignored in: <function ZipFile.__del__ at 0x7fa57e7adda0>
        Traceback (most recent call last):
          File "/usr/lib/python3.11/zipfile.py", line 1874, in __del__
            self.close()
        ValueError: I/O operation on closed file.
        /venv/lib/python3.11/site-packages/openpyxl/reader/excel.py:227: UserWarning: Data Validation extension is not supported and will be removed
          warn(msg)
        Lỗi nghiêm trọng, không tổng hợp được: lỗi của chương trình (mã ValueError); hãy báo cho người quản trị.
        Tệp bao-cao-\x1b]0;x\x07.xlsx: hợp lệ, có thể gửi.
        Error: Missing argument 'INBOX'.
    """)
    assert len(foreign_lines(leaked, out)) == len(leaked.splitlines())
    own = f"Đã đọc 14 tệp báo cáo trong inbox.\n  Lỗi       total-mismatch     1\nKết quả:\n  {out / 'a.xlsx'}\n"
    assert foreign_lines(own, out) == []


def test_a_large_mixed_inbox_puts_only_the_tools_vietnamese_lines_on_the_console(inbox, out, tmp_path):
    files = _mixed_inbox(inbox, tmp_path)

    ran = _consolidate("run", inbox, "--out", out)
    checked = _consolidate("check", *files)

    assert ran.returncode == 1 and checked.returncode == 1, ran.stderr.decode("utf-8")
    assert (out / FEEDBACK_DIR / "bao-cao-macro.xlsm").exists()  # the copy went through openpyxl (item 18)
    for done in (ran, checked):
        for stream in (done.stdout, done.stderr):
            assert foreign_lines(stream.decode("utf-8"), out) == []
    assert "bao-cao-mat-khau.xlsx" in checked.stdout.decode("utf-8")


# Ctrl+C in an at-fork hook: the run forks its workbook writer, and logging runs a hook in the parent then
IN_A_FORK_HOOK = """
    import os
    pressed = []

    def after_fork():
        if not pressed:
            pressed.append(1)
            signal.raise_signal(signal.SIGINT)

    os.register_at_fork(after_in_parent=after_fork)
"""


@needs_fork("presses Ctrl+C in the hook a fork runs")
def test_ctrl_c_that_lands_in_a_fork_hook_still_stops_the_run_in_vietnamese(inbox, out):
    """Python cannot raise KeyboardInterrupt in an at-fork hook: it printed "Exception ignored in …
    KeyboardInterrupt" and the run went on as if nothing had been pressed."""
    before = _second_round(inbox, out)
    done = _console(IN_A_FORK_HOOK, "run", str(inbox), "--out", str(out))
    stderr = done.stderr.decode("utf-8")
    _no_python_on(stderr)
    assert done.returncode == 130
    assert stderr.strip() == INTERRUPTED
    assert checksums(out) == before
