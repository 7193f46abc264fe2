"""The speed harness in benchmarks/ still works: a 3-file inbox, the read floors, the table.

The whole consolidate run is not measured here (it takes seconds); the
harness itself is exercised on real files and real child processes.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _harness():
    spec = importlib.util.spec_from_file_location("benchmarks_run", ROOT / "benchmarks" / "run.py")
    module = sys.modules.get(spec.name)
    if module is None:
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses look their module up there
        spec.loader.exec_module(module)
    return module


def _columns(table: str) -> list[str]:
    return [c.strip() for c in table.splitlines()[0].strip().strip("|").split("|")]


def test_the_harness_builds_an_inbox_reads_it_and_renders_the_table(tmp_path):
    bench = _harness()
    inbox, units_csv = bench.synth.build(tmp_path / "cache", 3, jobs=1, log=lambda *_: None)
    assert sorted(p.name for p in inbox.iterdir()) == [bench.synth.file_name(i) for i in (1, 2, 3)]
    assert len(units_csv.read_text(encoding="utf-8").splitlines()) == 1 + 1 + 3  # header, root, 3 units

    row = bench.measure_size(3, inbox, units_csv, tmp_path / "out", repeat=1, timeout=60,
                             log=lambda *_: None, which=("calamine", "openpyxl", "run"))
    assert row.openpyxl.ok and row.openpyxl.seconds > 0
    assert row.openpyxl.rss_mib > 0 or not hasattr(os, "wait4")  # Windows: no peak RSS of a child, NaN
    assert row.run.ok and row.summary["files"] == 3 and row.summary["units"] == 3  # the command itself ran
    assert row.calamine.ok or row.calamine.missing == "not installed"  # python-calamine is optional

    table = bench.render_table([row])
    assert _columns(table) == list(bench.COLUMNS)
    assert table.splitlines()[2].startswith("| 3 |")


def test_the_verdicts_say_by_how_much_a_target_is_missed():
    bench = _harness()

    def result(seconds: float, rss: float = 100.0):
        return bench.Result([bench.Sample(seconds, rss, 0)])

    slow = bench.Row(3321, result(0.5), result(15.0), result(8.0, 200.0))
    assert bench.target_and_verdict(slow) == ("≤ 2 s", "missed by 6.0 s (4.0× the target)")
    fast = bench.Row(10000, result(1.0), result(40.0), result(2.0))
    assert bench.target_and_verdict(fast)[1] == "met (2.0×)"
    smaller = bench.Row(1000, result(0.1), result(0.5), result(1.0, 100.0))
    assert "**missed**" in bench.memory_verdict([smaller, slow])  # 100 → 200 MiB is not flat
