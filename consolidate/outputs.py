"""Where a run's results go and under which names."""

from __future__ import annotations

from pathlib import Path

from .log_writer import write_log_csv
from .pipeline import RunResult
from .workbook_writer import write_workbook


def output_paths(result: RunResult, out: Path) -> dict[str, Path]:
    code = result.registry.root.code
    return {
        "workbook": out / f"tong-hop-{code}.xlsx",
        "log": out / f"nhat-ky-loi-{code}.csv",
    }


def write_outputs(result: RunResult, out: Path) -> dict[str, Path]:
    paths = output_paths(result, out)
    write_workbook(result, paths["workbook"])
    write_log_csv(result.problems, paths["log"])
    return paths
