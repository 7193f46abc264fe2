"""The CSV twin of the error log, for mail merges and scripts."""

from __future__ import annotations

import csv
from pathlib import Path

from .files import atomic_target
from ..core.problems import Problem

COLUMNS = ("file", "sheet", "cell", "unit", "code", "severity", "message", "hint")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def inert(text: str) -> str:
    """A value a spreadsheet will show as text, never run (OWASP CSV injection advice)."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def write_log_csv(problems: list[Problem], path: Path) -> Path:
    """UTF-8 with BOM so Excel shows the Vietnamese; written atomically."""
    with atomic_target(path) as tmp, open(tmp, "w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS)
        writer.writeheader()
        for p in problems:
            writer.writerow({k: inert(v) for k, v in p.as_row().items()})
    return path
