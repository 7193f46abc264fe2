"""The CSV twin of the error log, for mail merges and scripts.

Its columns and severities are the "Nhật ký lỗi" sheet's, in Vietnamese, so a clerk who opens it in
Excel reads what the workbook says; where the sheet names each kind in words, the CSV keeps the
codes, the stable identifiers a script filters on (and ``--json`` keeps English keys for programs)."""

from __future__ import annotations

import csv
from pathlib import Path

from .files import atomic_target
from ..core.problems import Problem

# The sheet's headings, with the code where the sheet names the kind in words: scripts filter on it.
COLUMNS = ("STT", "Tệp", "Trang tính", "Ô", "Đơn vị", "Mã lỗi", "Mức độ", "Nội dung", "Cách khắc phục")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def inert(text: str) -> str:
    """A value a spreadsheet will show as text, never run (OWASP CSV injection advice)."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def log_row(n: int, p: Problem) -> list[str]:
    """Row ``n`` of the log as the sheet shows it: its number, where, the code, the severity's label, what, how to fix."""
    return [str(n), *(inert(str(v)) for v in (p.file, p.sheet, p.cell, p.unit, p.code, p.severity_label,
                                              p.message, p.how_to_fix))]


def write_log_csv(problems: list[Problem], path: Path) -> Path:
    """UTF-8 with BOM so Excel shows the Vietnamese; written atomically."""
    with atomic_target(path) as tmp, open(tmp, "w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(COLUMNS)
        writer.writerows(log_row(n, p) for n, p in enumerate(problems, start=1))
    return path
