"""The merged workbook is written on the other core: its result, its error and its death all reach the run."""

from __future__ import annotations

import os
import signal
import threading

import pytest

from consolidate.write import background
from consolidate.write import outputs
from consolidate import app
from conftest import needs_fork, run_cli


def test_the_value_comes_back():
    join = background.start(lambda: {"rows": 14, "name": "Xã Phước Sơn"})
    assert join() == {"rows": 14, "name": "Xã Phước Sơn"}


def test_an_error_in_the_child_is_raised_in_the_parent():
    def full_disk():
        raise OSError(28, "No space left on device")

    join = background.start(full_disk)
    with pytest.raises(OSError, match="No space left"):
        join()


@needs_fork("without it the work runs in this process, which a kill would end")
def test_a_child_that_is_killed_is_a_failure_not_a_silent_success():
    join = background.start(lambda: os.kill(os.getpid(), signal.SIGKILL))
    with pytest.raises(background.ChildDied, match="-9"):
        join()


def test_without_fork_the_work_is_done_here_and_its_error_waits_for_the_join(monkeypatch):
    """Windows has no fork: the work runs at once in this process, but, as with a child, its error
    reaches the caller only when it asks for the result, after its own work meanwhile."""
    monkeypatch.delattr(os, "fork", raising=False)
    done = []

    def full_disk():
        done.append("workbook")
        raise OSError(28, "No space left on device")

    join = background.start(full_disk)
    done.append("log")
    with pytest.raises(OSError, match="No space left"):
        join()
    assert done == ["workbook", "log"]
    assert background.start(lambda: 14)() == 14


def test_a_failed_workbook_fails_the_run_even_though_the_other_outputs_went_on(inbox, out, monkeypatch):
    def no_space(result, path):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(outputs, "write_workbook", no_space)
    with pytest.raises(OSError, match="No space left"):
        outputs.write_outputs(app.run(inbox), out)
    assert not (out / "tong-hop-tuy-phuoc.xlsx").exists()

    result = run_cli("run", inbox, "--out", out)
    assert result.exit_code == 2
    assert "Lỗi nghiêm trọng" in result.output and "ổ đĩa đã đầy" in result.output  # said in Vietnamese


def test_no_fork_while_other_threads_run_as_under_consolidate_serve():
    """The clerk's run in `consolidate serve` shares its process with the web server's threads: a
    forked child would inherit a lock one of them holds, held forever. There the work is done here."""
    from consolidate.read import pool  # only this test looks at the reading pool's choice

    stop = threading.Event()
    server_thread = threading.Thread(target=stop.wait, daemon=True)
    server_thread.start()
    try:
        assert background.start(os.getpid)() == os.getpid()
        assert pool._start_method() == "spawn"
    finally:
        stop.set()
        server_thread.join()
    if hasattr(os, "fork"):
        assert background.start(os.getpid)() != os.getpid()  # alone again: a child does it
