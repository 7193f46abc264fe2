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
from conftest import checksums, run_cli  # noqa: E402

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
    assert stderr.strip() == INTERRUPTED_WRITTEN.format(out=out)
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
        assert stderr.strip() == INTERRUPTED_WRITTEN.format(out=out)
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
        assert said in (INTERRUPTED_STARTING, INTERRUPTED, INTERRUPTED_WRITTEN.format(out=out)), stderr
        assert (said == INTERRUPTED_WRITTEN.format(out=out)) == replaced, (said, replaced)
        if not replaced:
            assert after == before
    else:  # the run ended before the Ctrl+C arrived, or ignored it while ending: it finished
        assert run.returncode == 1 and replaced, stderr
