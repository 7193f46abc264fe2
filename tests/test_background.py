"""The merged workbook is written on the other core: its result, its error and its death all reach the run."""

from __future__ import annotations

import os
import signal

import pytest

from consolidate import background, outputs, pipeline
from conftest import run_cli


def test_the_value_comes_back():
    join = background.start(lambda: {"rows": 14, "name": "Xã Phước Sơn"})
    assert join() == {"rows": 14, "name": "Xã Phước Sơn"}


def test_an_error_in_the_child_is_raised_in_the_parent():
    def full_disk():
        raise OSError(28, "No space left on device")

    join = background.start(full_disk)
    with pytest.raises(OSError, match="No space left"):
        join()


def test_a_child_that_is_killed_is_a_failure_not_a_silent_success():
    join = background.start(lambda: os.kill(os.getpid(), signal.SIGKILL))
    with pytest.raises(background.ChildDied, match="-9"):
        join()


def test_a_failed_workbook_fails_the_run_even_though_the_other_outputs_went_on(inbox, out, monkeypatch):
    def no_space(result, path):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(outputs, "write_workbook", no_space)
    with pytest.raises(OSError, match="No space left"):
        outputs.write_outputs(pipeline.run(inbox), out)
    assert not (out / "tong-hop-tuy-phuoc.xlsx").exists()

    result = run_cli("run", inbox, "--out", out)
    assert result.exit_code == 2
    assert "Lỗi nghiêm trọng" in result.output and "No space left" in result.output
