"""What a Windows PC does differently: no POSIX modules, a code-page stdout, Ctrl+C.

These run everywhere; .ci/run also runs the whole suite in a Windows-like Python
(tests/windows_sim), where ``resource`` and ``fcntl`` are missing, there is no fork,
and a redirected stdout is cp1258.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import WINDOWS_SIM, checksums, run_cli

SIM = Path(__file__).parent / "windows_sim"
INTERRUPTED = "Đã dừng theo yêu cầu (Ctrl+C); kết quả của lần chạy trước vẫn giữ nguyên."


def windows_like(**extra: str) -> dict[str, str]:
    """The environment of a Windows-like child Python: tests/windows_sim first on its path."""
    path = os.pathsep.join(p for p in (str(SIM), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path, "CONSOLIDATE_WINDOWS_SIM": "1", **extra}


def consolidate(*args: object, env: dict[str, str] | None = None, code: str | None = None,
                timeout: int = 180) -> subprocess.CompletedProcess:
    """The command in its own process, stdout and stderr redirected (pipes), as bytes."""
    cmd = [sys.executable, "-c", code, *map(str, args)] if code else [sys.executable, "-m", "consolidate", *map(str, args)]
    return subprocess.run(cmd, capture_output=True, timeout=timeout, env=env or dict(os.environ))


def test_the_simulation_is_windows_like():
    """The Windows-like Python lacks what Windows lacks, in the children it spawns as well."""
    probe = textwrap.dedent("""
        import json, multiprocessing, os, sys
        def missing(name):
            try:
                __import__(name)
            except ImportError:
                return True
            return False
        print(json.dumps({"resource": missing("resource"), "fcntl": missing("fcntl"), "fork": hasattr(os, "fork"),
                          "methods": multiprocessing.get_all_start_methods(), "encoding": sys.stdout.encoding}))
        try:
            multiprocessing.get_context("fork")
        except ValueError:
            pass
        else:
            sys.exit("fork context available")
    """)
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, env=windows_like(PYTHONIOENCODING="cp1258"),
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"resource": True, "fcntl": True, "fork": False, "methods": ["spawn"],
                                       "encoding": "cp1258"}


def test_help_starts_without_posix_modules():
    """`import resource` at module level made even --help end in a traceback on Windows."""
    done = consolidate("--help", env=windows_like(PYTHONIOENCODING="cp1258"))
    assert done.returncode == 0, done.stderr.decode("utf-8", "replace")
    assert "Gộp báo cáo Excel" in done.stdout.decode("utf-8")


@pytest.mark.parametrize("code_page", ["cp1258", "cp1252"])
def test_a_redirected_summary_and_json_survive_a_windows_code_page(inbox, out, code_page):
    """`consolidate run inbox/ > ketqua.txt` and `--json | program` on Windows: the ANSI code page
    cannot encode Vietnamese; the output is UTF-8 and the exit code is the run's own (1: the sample
    has one error), not a traceback's."""
    env = windows_like(PYTHONIOENCODING=code_page)

    text = consolidate("run", inbox, "--out", out, env=env)
    as_json = consolidate("run", inbox, "--out", out, "--json", env=env)

    assert text.returncode == 1, text.stderr.decode("utf-8", "replace")
    assert b"Traceback" not in text.stderr
    assert "Đơn vị đã báo cáo: 14/14." in text.stdout.decode("utf-8")
    assert "[Lỗi] bao-cao-x-phuoc-son.xlsx Biểu mẫu 1!C7 – Xã Phước Sơn: Tổng số 7 ≠ 6" in text.stdout.decode("utf-8")
    assert as_json.returncode == 1, as_json.stderr.decode("utf-8", "replace")
    summary = json.loads(as_json.stdout.decode("utf-8"))
    assert summary["problems"][0]["message"] == "Tổng số 7 ≠ 6 + 0 + 0 (= 6)."


def test_check_and_errors_on_stderr_survive_a_windows_code_page(inbox, tmp_path):
    env = windows_like(PYTHONIOENCODING="cp1258")
    done = consolidate("check", inbox / "bao-cao-x-phuoc-son.xlsx", env=env)
    assert done.returncode == 1, done.stderr.decode("utf-8", "replace")
    assert "Tệp bao-cao-x-phuoc-son.xlsx (Xã Phước Sơn): 1 lỗi, 0 cảnh báo." in done.stdout.decode("utf-8")

    units = tmp_path / "don-vi.csv"
    units.write_text("Mã,Tên đơn vị,Cấp,Mã đơn vị cấp trên\nh,Huyện A,huyện,\nx1,Xã Một,xã,khong-co\n", encoding="utf-8")
    refused = consolidate("run", inbox, "--out", tmp_path / "out", "--units", units, env=env)
    assert refused.returncode == 2
    assert "không có đơn vị mã “khong-co”" in refused.stderr.decode("utf-8")


def test_a_terminal_that_cannot_show_vietnamese_gets_question_marks_not_an_error():
    """A console in a legacy code page keeps it: UTF-8 bytes would be garbage there."""
    import io

    from consolidate.console import make_safe

    class Terminal(io.TextIOWrapper):
        def isatty(self) -> bool:
            return True

    raw = io.BytesIO()
    term = Terminal(raw, encoding="cp1258")
    make_safe(term)
    term.write("Xã Phước Sơn")
    term.flush()
    assert term.encoding == "cp1258" and raw.getvalue() == "Xã Phước Sơn".encode("cp1258", "replace") == b"X? Ph\xfd?c S\xf5n"

    pipe = io.TextIOWrapper(io.BytesIO(), encoding="cp1252")
    make_safe(pipe)
    assert (pipe.encoding, pipe.errors) == ("utf-8", "replace")
    pipe.write("tệp\udcff")  # a file name with an undecodable byte, as os.listdir gives it
    pipe.flush()


def _interrupting(where: str, inbox: Path, out: Path) -> str:
    """A script that runs the command and presses Ctrl+C (SIGINT, as the terminal sends it) in ``where``."""
    module, name = where.rsplit(".", 1)
    return textwrap.dedent(f"""
        import signal, sys
        import {module} as target
        real = target.{name}
        def interrupted(*args, **kwargs):
            signal.raise_signal(signal.SIGINT)
            return real(*args, **kwargs)
        target.{name} = interrupted
        from consolidate.cli import entry
        entry(["run", {str(inbox)!r}, "--out", {str(out)!r}])
    """)


@pytest.mark.parametrize("where", ["consolidate.app.read_files", "consolidate.app.consolidate"])
def test_ctrl_c_says_so_in_vietnamese_exits_130_and_keeps_the_previous_outputs(inbox, out, where):
    assert run_cli("run", inbox, "--out", out).exit_code == 1
    before = checksums(out)
    (inbox / "bao-cao-x-phuoc-an.xlsx").unlink()  # the next run would write something else

    done = consolidate(code=_interrupting(where, inbox, out))

    stderr = done.stderr.decode("utf-8")
    assert done.returncode == 130, stderr
    assert stderr.strip() == INTERRUPTED
    assert "Traceback" not in stderr and "Aborted" not in stderr
    assert checksums(out) == before


def test_ctrl_c_in_the_windows_like_python(inbox, out):
    done = consolidate(code=_interrupting("consolidate.app.read_files", inbox, out),
                       env=windows_like(PYTHONIOENCODING="cp1258"))
    assert done.returncode == 130
    assert done.stderr.decode("utf-8").strip() == INTERRUPTED
    assert not out.exists() or not any(out.iterdir())


@pytest.mark.skipif(not WINDOWS_SIM, reason="only in the simulated-Windows run of .ci/run")
def test_this_run_is_the_windows_like_one():
    """The suite is really running without what Windows lacks (not silently on plain Linux)."""
    import multiprocessing

    with pytest.raises(ImportError):
        import resource  # noqa: F401
    assert not hasattr(os, "fork") and multiprocessing.get_all_start_methods() == ["spawn"]
