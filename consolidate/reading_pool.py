"""Read the whole inbox across the machine's cores, fast where it is safe and careful where it must be.

Reading is most of a run: openpyxl costs 4–5 ms a file (it parses styles and
every XML node in Python), python-calamine about 0.1 ms. But calamine gives no
number formats (0.978 in a percent cell), turns error cells into blanks, and
aborts the whole process on a sheet with a stray far cell, even one whose
declared size is small. So:

- each file is read once into memory and opened as a zip once; its bytes decide
  what it is (formats.zip_kind) and whether calamine may read it (no percent
  format, no error cell, every cell inside the bounds);
- the whole per-file work (values, tables, records, problems) runs in worker
  processes, forked so they start in milliseconds, and only the finished
  Submission comes back;
- a worker that dies (a hostile file calamine could not survive) loses only
  the batches it had; those are read again by careful workers (no calamine in
  process), and if even that pool breaks, by this process, one file at a time.
"""

from __future__ import annotations

import faulthandler
import hashlib
import io
import multiprocessing
import os
import re
import resource
import zipfile
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from functools import lru_cache
from pathlib import Path
from typing import Callable

from .calamine_worker import MEMORY_LIMIT
from .cells import column_number
from .calamine_worker import values as calamine_values
from .formats import ZIP_MAGIC, sha256_of, sniff, zip_kind
from .reader import FORMULA_TAG, MAX_COLS, MAX_ROWS, Submission, read_submission

MIN_FILES = 8  # below this, starting workers costs more than it saves
BATCH = 32
FAST_MAX_BYTES = 8 << 20  # a submission is ~10 kB: a file, or an unpacked part, this large is read the careful way

_PERCENT = re.compile(rb'numFmtId="(?:9|10)"|formatCode="[^"]*%')
_CELL_COLUMN = re.compile(rb' r="([A-Z]+)\d')  # only cells have a letters-and-digits r=

Read = tuple[str, Submission | None]  # (what the bytes say the file is, its submission or None)


@lru_cache(maxsize=4)
def _row_beyond(max_rows: int) -> re.Pattern[bytes]:
    """A cell address whose row number is above ``max_rows``, as one regex (no number is parsed)."""
    digits = str(max_rows)
    above = [rf"[1-9]\d{{{len(digits)},}}"]  # more digits
    for i, ch in enumerate(digits):
        if ch != "9":  # same length, larger at position i
            above.append(digits[:i] + f"[{int(ch) + 1}-9]" + rf"\d{{{len(digits) - i - 1}}}")
    return re.compile(rb' r="[A-Z]+(?:' + "|".join(above).encode() + rb')"')


def screen_package(zf: zipfile.ZipFile, max_rows: int = MAX_ROWS, max_cols: int = MAX_COLS) -> bool | None:
    """None when calamine must not read this package; else whether any sheet stores a formula.

    Every cell address is checked, not the declared <dimension>: a file can
    declare A1:J30 and still hold a value at XFD1048576.
    """
    infos = zf.infolist()
    if any(i.file_size > FAST_MAX_BYTES for i in infos):
        return None  # a submission's parts are kilobytes; a large one is read the careful, bounded way
    sheets = [i for i in infos if i.filename.startswith("xl/worksheets/") and i.filename.endswith(".xml")]
    if not sheets:
        return None
    formulas = False
    for info in sheets:
        data = zf.read(info)
        if b' t="e"' in data:
            return None  # calamine reads #REF! as a blank
        if _row_beyond(max_rows).search(data) or any(
            len(letters) > 2 or column_number(letters.decode()) > max_cols for letters in set(_CELL_COLUMN.findall(data))
        ):
            return None  # large: the bounded reader says what it skipped
        formulas = formulas or FORMULA_TAG.search(data) is not None
    names = {i.filename for i in infos}
    if "xl/styles.xml" in names and _PERCENT.search(zf.read("xl/styles.xml")):
        return None
    return formulas


def _fast_read(path: Path, name: str) -> Read | None:
    """The file read with calamine from one in-memory copy, or None when it must be read carefully."""
    try:
        if path.stat().st_size > FAST_MAX_BYTES:
            return None
        data = path.read_bytes()
        if not data.startswith(ZIP_MAGIC):
            return None
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            kind = zip_kind(zf)
            formulas = screen_package(zf) if kind == "xlsx" else None
        if formulas is None:
            return None
        sheets = calamine_values(io.BytesIO(data), MAX_ROWS, MAX_COLS)
    except Exception:  # whatever it is, the careful reader will say it in the clerk's words
        return None
    sub = read_submission(path, name, "xlsx", sheets, has_formulas=formulas)
    sub.sha256 = hashlib.sha256(data).hexdigest()
    return "xlsx", sub


def read_file(path: Path, name: str, is_spreadsheet: Callable[[Path, str], bool], fast: bool = False) -> Read:
    """One file: its kind and, when it is to be read as a spreadsheet, its submission.

    ``fast`` lets python-calamine read it in this process: only ever in a worker.
    """
    if fast:
        found = _fast_read(path, name)
        if found is not None:
            return found
    kind = sniff(path)
    if not is_spreadsheet(path, kind):
        return kind, None
    sub = read_submission(path, name, kind)
    sub.sha256 = sha256_of(path)
    return kind, sub


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


def _read_batch(items: list[tuple[Path, str]], is_spreadsheet, fast: bool) -> list[Read | None]:
    found: list[Read | None] = []
    for path, name in items:
        try:
            found.append(read_file(path, name, is_spreadsheet, fast))
        except Exception:  # not expected; this process reads it again and lets it surface there
            found.append(None)
    return found


def _pool_read(items: list[tuple[Path, str]], todo: list[int], results: list[Read | None], is_spreadsheet,
               fast: bool, tick: Callable[[int], None], meanwhile: Callable[[], object] | None = None) -> None:
    """Fill ``results`` for the indices in ``todo`` that a worker pool manages to read."""
    batches = [todo[i : i + BATCH] for i in range(0, len(todo), BATCH)]
    try:
        with ProcessPoolExecutor(max_workers=min(2, os.cpu_count() or 1), initializer=_init_worker,
                                 mp_context=multiprocessing.get_context("fork")) as pool:
            futures = {pool.submit(_read_batch, [items[i] for i in batch], is_spreadsheet, fast): batch
                       for batch in batches}
            if meanwhile is not None:
                meanwhile()
            for future in as_completed(futures):
                try:
                    read = future.result()
                except BrokenProcessPool:
                    continue  # a hostile file killed a worker: these files are read again, carefully
                batch = futures[future]
                for i, r in zip(batch, read):
                    results[i] = r
                tick(sum(r is not None for r in read))
    except (OSError, BrokenProcessPool):
        pass


def read_files(items: list[tuple[Path, str]], is_spreadsheet: Callable[[Path, str], bool],
               progress: Callable[[int, int], None] | None = None,
               meanwhile: Callable[[], object] | None = None) -> list[Read]:
    """(kind, submission) for each (path, name), in the given order.

    ``is_spreadsheet(path, kind)`` says whether a file of that kind is read at
    all; the others come back with None and the caller logs why. ``meanwhile``
    is called once the workers are busy (or before reading here), so this
    process can prepare something (imports) while they read.
    """
    results: list[Read | None] = [None] * len(items)
    done = 0

    def tick(n: int) -> None:
        nonlocal done
        done += n
        if progress is not None and n:
            progress(done, len(items))

    if len(items) >= MIN_FILES and "fork" in multiprocessing.get_all_start_methods():
        for fast in (True, False):
            todo = [i for i, r in enumerate(results) if r is None]
            if todo:
                _pool_read(items, todo, results, is_spreadsheet, fast, tick, meanwhile)
                meanwhile = None
    if meanwhile is not None:
        meanwhile()
    for i, r in enumerate(results):
        if r is None:
            results[i] = read_file(*items[i], is_spreadsheet)
            tick(1)
    return results  # type: ignore[return-value]
