"""Read one .xls/.ods/.xlsb file's values in a child process, bounded, and print them as JSON.

python-calamine allocates a sheet's whole grid, from its first value to its last,
and a hostile file can make it abort the process (no ``try`` catches that); so it
runs here, and the parent turns any crash into one log entry. Before calamine
sees an .xls or .ods, the extent of its sheets is read from the file itself
(biff.py, ods_extent.py) and a sheet larger than any report is refused; where
the OS caps a process's memory (POSIX ``resource``; not Windows) the child
also runs under LEGACY_MEMORY_LIMIT.

The result goes to the parent as UTF-8 bytes on stdout, whatever the console's
code page: on Windows a text stdout would be cp1258 or cp1252, which cannot
encode Vietnamese in NFC.

Usage: python -m consolidate.read.calamine_worker FILE MAX_ROWS MAX_COLS
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from typing import BinaryIO

from .biff import OLE_MAGIC

MEMORY_LIMIT = 2 << 30  # bytes of address space of a reading worker (read.pool)
LEGACY_MEMORY_LIMIT = 768 << 20  # of this child: calamine alone, ~17 MB to start
LEGACY_MAX_CELLS = 4_000_000  # one sheet's rectangle (~250 MB in calamine); a report's is ~1,000
_PLAIN = {float, str, int, bool}  # what calamine gives for nearly every cell: sent as it is


def _jsonable(value: object) -> object:
    if isinstance(value, (dt.date, dt.time, dt.timedelta)):
        return str(value)
    return value


def limit_memory(limit: int) -> None:
    """Cap this process's address space where the OS offers it (POSIX only: the ``resource``
    module does not exist on Windows, where the callers' size bounds are the only protection)."""
    try:
        import resource  # POSIX only: never imported at module level, so Windows can import this module
    except ImportError:  # Windows
        return
    try:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ValueError, OSError):
        pass


def _extents(data: bytes) -> list[tuple[str, int, int]] | None:
    """Each sheet's (name, rows, columns) as calamine would allocate it, for .xls and .ods; None for
    other formats (.xlsb) or a file these readers cannot follow, which calamine then judges itself."""
    from . import biff, ods_extent  # here (start-up): the reading workers import this module for values() alone

    try:
        if data.startswith(OLE_MAGIC):
            return biff.sheet_extents(data)
        if data.startswith(b"PK\x03\x04"):
            return ods_extent.sheet_extents(data)  # KeyError for a zip without content.xml
    except ods_extent.TooLarge:
        raise
    except Exception:  # not a compound file, a record cut short, no content.xml: calamine will say it
        return None
    return None


def too_large(fh: BinaryIO) -> dict | None:
    """The refusal for an .xls or .ods whose sheets' values span more than LEGACY_MAX_CELLS (one sheet,
    or all together: each is allocated and read in turn), else None. Leaves ``fh`` at its start."""
    from .ods_extent import TooLarge  # only for .xls/.ods (start-up: the workers import this module for values())

    data = fh.read()
    fh.seek(0)
    try:
        extents = _extents(data)
    except TooLarge:
        return {"error": "too-large"}
    for sheet, rows, cols in extents or ():
        if rows * cols > LEGACY_MAX_CELLS:
            return {"error": "too-large", "sheet": sheet, "rows": rows, "cols": cols}
    if sum(rows * cols for _, rows, cols in extents or ()) > LEGACY_MAX_CELLS:  # many sheets, each within the bound
        return {"error": "too-large"}
    return None


def read(path: str, max_rows: int, max_cols: int) -> dict:
    from python_calamine import PasswordError  # start-up: calamine loads only in the process that reads

    try:
        with open(path, "rb") as fh:
            refused = too_large(fh)
            if refused is not None:
                return refused
            return {"sheets": values(fh, max_rows, max_cols)}
    except PasswordError:
        return {"error": "encrypted"}


def values(fh: BinaryIO, max_rows: int, max_cols: int) -> list[dict]:
    """Each sheet's title and non-blank cells as [row, column, value], 1-based, bounded."""
    from python_calamine import CalamineWorkbook  # start-up: only when a sheet is read

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


# What python-calamine says (in English), as the clerk reads it: the few known cases, else the fallback.
_REASONS = (
    ("cannot detect file format", "định dạng tệp không nhận ra được"),
    ("password", "tệp có đặt mật khẩu"),
    ("encrypt", "tệp có đặt mật khẩu"),
    ("unexpected end", "tệp bị cắt cụt, không đầy đủ"),
    ("eof", "tệp bị cắt cụt, không đầy đủ"),
    ("zip", "tệp nén bên trong bị hỏng"),
)
_REASON_FALLBACK = "định dạng tệp không nhận ra được"


def _reason(exc: Exception) -> str:
    """Why the file could not be read, in Vietnamese: the log and the console are read by a clerk."""
    text = str(exc).lower()
    return next((reason for known, reason in _REASONS if known in text), _REASON_FALLBACK)


def main() -> None:
    path, max_rows, max_cols = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    limit_memory(LEGACY_MEMORY_LIMIT)
    try:
        result = read(path, max_rows, max_cols)
    except MemoryError:
        result = {"error": "too-large"}
    except Exception as exc:  # reported by the parent as one unreadable file
        result = {"error": "unreadable", "reason": _reason(exc)}
    sys.stdout.buffer.write(json.dumps(result, ensure_ascii=False).encode("utf-8"))
    sys.stdout.buffer.flush()


if __name__ == "__main__":
    main()
