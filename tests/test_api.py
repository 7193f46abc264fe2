"""The public API (``consolidate/__init__.py``): what another program calls, without the CLI."""

from __future__ import annotations

import subprocess
import sys

import consolidate
from conftest import checksums, run_cli, unit_file


def test_import_consolidate_stays_cheap():
    """The names are loaded on first use: importing the package loads no reader, writer or pandas."""
    code = ("import sys, consolidate; "
            "print(sorted(m for m in sys.modules if m.startswith(('consolidate.', 'pandas', 'openpyxl', 'xlsxwriter'))))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "['consolidate.core', 'consolidate.core.quiet']"


def test_every_public_name_resolves():
    for name in consolidate.__all__:
        assert getattr(consolidate, name) is not None, name
    assert callable(consolidate.check)  # the function, not the consolidate.checks package


def test_a_run_through_the_api_writes_what_the_cli_writes(inbox, tmp_path):
    assert run_cli("run", inbox, "--out", tmp_path / "cli").exit_code == 1  # the sample has one error
    store = tmp_path / "api" / "lich-su.sqlite"  # the history the CLI keeps beside its outputs by default
    result = consolidate.run(inbox, consolidate.default_registry(), consolidate.default_settings(), history=store)
    assert consolidate.record(result, store) is None
    paths = consolidate.write_outputs(result, tmp_path / "api")
    assert set(paths) == {"workbook", "log", "html"}
    assert len(result.errors) == 1
    assert checksums(tmp_path / "api") == checksums(tmp_path / "cli")
    with consolidate.open_store(store) as api, consolidate.open_store(tmp_path / "cli" / "lich-su.sqlite") as cli:
        assert [o[:-2] for o in api.observations()] == [o[:-2] for o in cli.observations()]  # but the run's time


def test_checking_one_file_through_the_api(inbox):
    [(submission, problems)] = consolidate.check([unit_file(inbox, "x-phuoc-son")])
    assert submission.name == "bao-cao-x-phuoc-son.xlsx"
    assert [p.code for p in problems if p.severity == "error"] == ["total-mismatch"]


def test_timings_name_the_steps(inbox, tmp_path):
    timings = consolidate.Timings()
    result = consolidate.run(inbox, timings=timings)
    from consolidate import app

    app.write(result, tmp_path / "out", timings)
    assert {"discover", "read", "validate", "consolidate", "write.html", "write.workbook", "accounting"} <= set(timings.seconds)
