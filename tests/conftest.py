"""Shared helpers: a realistic inbox built from the seed report, the CLI, the outputs."""

from __future__ import annotations

import csv
import hashlib
import os
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from consolidate.cli import main
from consolidate.core.formats import HISTORY_NAME
from consolidate.core.problems import SEVERITY_LABELS
from consolidate.write.sample import make_sample_inbox


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    """The sample inbox: the 14 units of report 362/UBND, Phước Sơn's real error included."""
    folder = tmp_path / "inbox"
    make_sample_inbox(folder)
    return folder


@pytest.fixture
def out(tmp_path: Path) -> Path:
    return tmp_path / "outbox"


def run_cli(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


class Text(str):
    """A value typed as text ('=1+1 in Excel), never a formula."""


def set_cells(path: Path, sheet: str, values: dict[str, object]) -> None:
    """Type values into a submission as a unit would, in Excel."""
    wb = openpyxl.load_workbook(path)
    for cell, value in values.items():
        wb[sheet][cell] = str(value) if isinstance(value, Text) else value
        if isinstance(value, Text):
            wb[sheet][cell].data_type = "s"
    wb.save(path)


# The CSV log's Vietnamese columns and severity labels, read back under the keys of ``--json`` and
# ``Problem.as_row`` (what the tests compare with), so the tests do not depend on the wording.
LOG_KEYS = {"STT": "n", "Tệp": "file", "Trang tính": "sheet", "Ô": "cell", "Đơn vị": "unit", "Mã lỗi": "code",
            "Mức độ": "severity", "Nội dung": "message", "Cách khắc phục": "hint"}
SEVERITIES = {label: severity for severity, label in SEVERITY_LABELS.items()}


def read_log(out: Path) -> list[dict[str, str]]:
    (csv_path,) = out.glob("nhat-ky-loi-*.csv")
    with open(csv_path, encoding="utf-8-sig", newline="") as fh:
        rows = [{LOG_KEYS[k]: v for k, v in row.items()} for row in csv.DictReader(fh)]
    for row in rows:
        row["severity"] = SEVERITIES[row["severity"]]
        del row["n"]
    return rows


def merged(out: Path, data_only: bool = True) -> openpyxl.Workbook:
    (path,) = out.glob("tong-hop-*.xlsx")
    return openpyxl.load_workbook(path, data_only=data_only)


def checksums(folder: Path) -> dict[str, str]:
    """Every file's digest, but the history store's (lich-su.sqlite, and its journal left by a run killed
    while its figures were not yet committed, which the next open rolls back): a database that records
    each run's time, not an output of the run (tests/test_history.py checks what it holds)."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.name.startswith(HISTORY_NAME)
    }


def unit_file(inbox: Path, code: str) -> Path:
    return inbox / f"bao-cao-{code}.xlsx"


# Windows, or the Windows-like Python of .ci/run (tests/windows_sim): no os.fork, only spawn.
WINDOWS_SIM = os.environ.get("CONSOLIDATE_WINDOWS_SIM") == "1"


def needs_fork(why: str):
    """Skip where there is no os.fork (Windows, the simulated-Windows run), saying why the test needs it."""
    return pytest.mark.skipif(not hasattr(os, "fork"), reason=f"needs os.fork (absent on Windows): {why}")


def force_copy_kind(kind: str, monkeypatch) -> list[str]:
    """A feedback copy made one way: the unit's package "patched", or rebuilt with "openpyxl" (as for a package
    the patcher does not understand). The list it returns fills with the files rebuilt with openpyxl, for
    the test to check that the way asked for was the one taken."""
    from consolidate.write.feedback import patched

    rebuilt: list[str] = []
    fallback = patched._openpyxl_copy

    def openpyxl_copy(sub, *args):
        rebuilt.append(sub.name)
        return fallback(sub, *args)

    def unsupported(*args):
        raise ValueError("a package the patcher does not understand")

    monkeypatch.setattr(patched, "_openpyxl_copy", openpyxl_copy)
    if kind == "openpyxl":
        monkeypatch.setattr(patched, "_patched_copy", unsupported)
    return rebuilt
