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
