"""Read one .xls/.ods/.xlsb file's values in a child process, bounded, and print them as JSON.

python-calamine allocates a sheet's whole declared grid, and a hostile file can
make it abort the process (no ``try`` catches that); so it runs here, under a
memory limit, and the parent turns any crash into one log entry.

Usage: python -m consolidate.calamine_worker FILE MAX_ROWS MAX_COLS
"""

from __future__ import annotations

import datetime as dt
import json
import resource
import sys
from typing import BinaryIO

MEMORY_LIMIT = 2 << 30  # bytes of address space
_PLAIN = {float, str, int, bool}  # what calamine gives for nearly every cell: sent as it is


def _jsonable(value: object) -> object:
    if isinstance(value, (dt.date, dt.time, dt.timedelta)):
        return str(value)
    return value


def read(path: str, max_rows: int, max_cols: int) -> dict:
    from python_calamine import PasswordError

    try:
        with open(path, "rb") as fh:
            return {"sheets": values(fh, max_rows, max_cols)}
    except PasswordError:
        return {"error": "encrypted"}


def values(fh: BinaryIO, max_rows: int, max_cols: int) -> list[dict]:
    """Each sheet's title and non-blank cells as [row, column, value], 1-based, bounded."""
    from python_calamine import CalamineWorkbook

    wb = CalamineWorkbook.from_filelike(fh)
    sheets = []
    for name in wb.sheet_names:
        rows = wb.get_sheet_by_name(name).to_python(skip_empty_area=False, nrows=max_rows)
        cells = [
            [r, c, v if type(v) in _PLAIN else _jsonable(v)]
            for r, row in enumerate(rows, start=1)
            for c, v in enumerate(row[:max_cols], start=1)
            if v != "" and v is not None
        ]
        sheets.append({"title": name, "cells": cells})
    return sheets


def main() -> None:
    path, max_rows, max_cols = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    try:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    except (ValueError, OSError):
        pass
    try:
        result = read(path, max_rows, max_cols)
    except MemoryError:
        result = {"error": "too-large"}
    except Exception as exc:  # reported by the parent as one unreadable file
        result = {"error": "unreadable", "reason": f"{type(exc).__name__}: {exc}"[:300]}
    json.dump(result, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
