"""Read many .xlsx files' values fast: python-calamine in worker processes, openpyxl where it must.

openpyxl costs 4–5 ms a file (it parses styles and every XML node in Python);
python-calamine about 0.1 ms. But calamine gives no number formats (0.978 in a
percent cell), turns error cells into blanks, and aborts the whole process on
a sheet with a stray far cell even when the sheet's declared size is small.
So only files whose bytes show none of those needs are read by calamine, in
worker processes; a worker that dies loses only its batch, which, like every
file not screened in, is then read the careful way (bounded openpyxl).
"""

from __future__ import annotations

import faulthandler
import multiprocessing
import os
import re
import resource
import zipfile
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from .calamine_worker import MEMORY_LIMIT
from .calamine_worker import read as calamine_read
from .formats import MAX_PART_BYTES

MIN_FILES = 8  # below this, starting workers costs more than it saves
BATCH = 64

_DIMENSION = re.compile(rb'<dimension ref="(?:[A-Z]+\d+:)?([A-Z]+)(\d+)"')
_ERROR_CELL = re.compile(rb'\bt="e"')
_PERCENT = re.compile(rb'numFmtId="(?:9|10)"|formatCode="[^"]*%')


def _column_number(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n


def calamine_can_read(path: Path, max_rows: int, max_cols: int) -> bool:
    """Whether the file's own bytes say its values are all that is needed from it."""
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            sheets = [i for i in infos if i.filename.startswith("xl/worksheets/") and i.filename.endswith(".xml")]
            if not sheets or any(i.file_size > MAX_PART_BYTES for i in infos):
                return False
            for info in sheets:
                data = zf.read(info)
                m = _DIMENSION.search(data[:4096])
                if m is None or int(m[2]) > max_rows or _column_number(m[1]) > max_cols:
                    return False  # unsized or large: the bounded reader says what it skipped
                if _ERROR_CELL.search(data):
                    return False  # calamine reads #REF! as a blank
            names = {i.filename for i in infos}
            styles = zf.read("xl/styles.xml") if "xl/styles.xml" in names else b""
            return not _PERCENT.search(styles)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError):
        return False


def _init_worker() -> None:
    """Bound the worker's memory and silence it: a dying worker must not print a crash dump at the clerk."""
    try:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    except (ValueError, OSError):
        pass
    faulthandler.disable()
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)


def _read_batch(paths: list[str], max_rows: int, max_cols: int) -> dict[str, list]:
    found = {}
    for path in paths:
        try:
            result = calamine_read(path, max_rows, max_cols)
        except Exception:  # the careful reader will say what is wrong with this file
            continue
        if "sheets" in result:
            found[path] = result["sheets"]
    return found


def prefetch(paths: list[Path], max_rows: int, max_cols: int) -> dict[Path, list[dict]]:
    """Sheets (title, cells) of the files calamine could read safely; the rest are left to the caller."""
    eligible = [p for p in paths if calamine_can_read(p, max_rows, max_cols)]
    if len(eligible) < MIN_FILES or "fork" not in multiprocessing.get_all_start_methods():
        return {}
    found: dict[Path, list[dict]] = {}
    batches = [eligible[i : i + BATCH] for i in range(0, len(eligible), BATCH)]
    try:
        with ProcessPoolExecutor(max_workers=min(2, os.cpu_count() or 1), initializer=_init_worker,
                                 mp_context=multiprocessing.get_context("fork")) as pool:
            futures = [pool.submit(_read_batch, [str(p) for p in batch], max_rows, max_cols) for batch in batches]
            for future in as_completed(futures):
                try:
                    found.update({Path(k): v for k, v in future.result().items()})
                except BrokenProcessPool:
                    continue  # a hostile file killed a worker: its batch is read the careful way
    except (OSError, BrokenProcessPool):
        pass
    return found
