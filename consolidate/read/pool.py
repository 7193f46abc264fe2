"""Read the whole inbox across the machine's cores, fast where it is safe and careful where it must be.

Reading is most of a run: openpyxl costs 4–5 ms a file (it parses styles and
every XML node in Python), python-calamine about 0.1 ms. But calamine gives no
number formats (0.978 in a percent cell), turns error cells into blanks, and
aborts the whole process on a sheet with a stray far cell, even one whose
declared size is small. So:

- each file is read once into memory and opened as a zip once; its bytes decide
  what it is (formats.zip_kind) and whether calamine may read it: every XML part
  is inflated from those bytes and screened, whatever its name (no percent
  format, no error cell, every cell and row addressed as spreadsheet programs
  write them and inside the bounds, no part that lies about its size);
- the whole per-file work (values, tables, records, problems) runs in worker
  processes, forked so they start in milliseconds, and only the finished
  Submission comes back (where there is no fork, as on Windows, they are
  spawned: each starts a fresh interpreter, so only larger inboxes use them);
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
import pickle
import re
import string
import threading
import zipfile
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from functools import lru_cache
from pathlib import Path
from typing import Callable

from .calamine_worker import MEMORY_LIMIT, limit_memory
from ..core.cells import column_letters
from .calamine_worker import values as calamine_values
from ..core.formats import ZIP_MAGIC, sha256_of, sniff, zip_kind
from .stamp import stamp_from_zip, stamp_of
from .reader import FORMULA_TAG, MAX_COLS, MAX_ROWS, Submission, read_submission
from ..ooxml.external import EXTERNAL_TARGET, MACRO_MARK, may_hold_external
from ..ooxml.package import inflated, stored_bytes
from ..ooxml.xml_text import Unsupported, is_plain_utf8, utf8_part

MIN_FILES = 8  # below this, starting workers costs more than it saves
SPAWN_MIN_FILES = 48  # the same without fork: two spawned workers cost ~0.7 s to start; measured break-even ~48 files
BATCH = 32
FAST_MAX_BYTES = 8 << 20  # a submission is ~10 kB: a file, or an unpacked part, this large is read the careful way
FAST_MAX_TOTAL = 32 << 20  # all its parts unpacked, together

Read = tuple[str, Submission | None]  # (what the bytes say the file is, its submission or None)

# Attribute values as XML allows them (spaces around "=", either quote); each pattern starts
# with a literal, so the regex engine skips to it, and runs only where a substring test says it may match.
_PERCENT_ID = re.compile(rb"""numFmtId\s*=\s*["'](?:9|10)["']""")
_PERCENT_CODE = re.compile(rb"""formatCode\s*=\s*(?:"[^"]*%|'[^']*%)""")
_ERROR_CELL = re.compile(rb"""\st\s*=\s*["']e["']""")
_XML_START = re.compile(rb"(?:\xef\xbb\xbf)?[ \t\r\n]*<")
_PREFIXED_CELL = re.compile(rb"<[\w.-]+:(?:c|row)[\s/>]")


def _beyond(token: str, alphabet: str, lead: str) -> list[str]:
    """Regex alternatives for a token over ``alphabet`` that is greater than ``token``, compared as
    numbers are: more characters (the first one from ``lead``), or as many and larger at the first difference."""
    rest = f"[{alphabet[0]}-{alphabet[-1]}]"
    above = [lead + rest + f"{{{len(token)},}}"]
    for i, ch in enumerate(token):
        k = alphabet.index(ch)
        if k + 1 < len(alphabet):
            above.append(token[:i] + f"[{alphabet[k + 1]}-{alphabet[-1]}]" + rest + f"{{{len(token) - i - 1}}}")
    return above


@lru_cache(maxsize=4)
def _addresses_beyond(max_rows: int, max_cols: int) -> tuple[re.Pattern[bytes], re.Pattern[bytes]]:
    """Regexes for a cell (<c …) and a row (<row …) whose address is not in the usual form, or is
    outside max_rows × max_cols (no number is parsed). Each starts with a literal, so the regex
    engine jumps from one tag to the next."""
    columns = "|".join(_beyond(column_letters(max_cols), string.ascii_uppercase, "[A-Z]"))
    rows = "|".join(_beyond(str(max_rows), string.digits, "[1-9]"))
    cell = (rb'<c(?:(?=[\s/>])(?! r="[A-Z]+[0-9]+"[\s/>])'  # a cell without its address first, as usual
            + f'| r="(?:(?:{columns})[0-9]|[A-Z]+0*(?:{rows})")'.encode() + rb")")  # 0*: "A02001" is row 2001
    row = rb'<row(?:(?=[\s/>])(?! r="[0-9]+"[\s/>])' + f'| r="0*(?:{rows})")'.encode()
    return re.compile(cell), re.compile(row)


def sheet_out_of_bounds(sheet: bytes, max_rows: int = MAX_ROWS, max_cols: int = MAX_COLS) -> bool:
    """Whether a sheet's XML could place a value outside max_rows × max_cols, or places values by position.

    Every spreadsheet program writes a cell as <c r="B7" …> and a row as <row r="7" …>,
    the address first and unprefixed. Anything else (a cell or row without an address,
    a lowercase or otherwise-quoted one, the address not first, a namespace prefix)
    goes to the careful reader rather than being interpreted here: calamine places an
    address-less cell after the one before it. Every address is checked, not the
    declared <dimension>: a file can declare A1:J30 and still hold XFD1048576.
    """
    if (b":c" in sheet or b":row" in sheet) and _PREFIXED_CELL.search(sheet):
        return True
    cell, row = _addresses_beyond(max_rows, max_cols)
    return cell.search(sheet) is not None or row.search(sheet) is not None


def _payload(data: bytes, info: zipfile.ZipInfo) -> bytes | None:
    """One part's stored bytes; None for anything but plain stored or deflated data inside the file."""
    if info.flag_bits & 1 or info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        return None
    try:
        return stored_bytes(data, info)
    except Unsupported:
        return None


def _inflate(payload: bytes, info: zipfile.ZipInfo) -> bytes | None:
    """The part itself (inflated straight from the bytes: zipfile's stream machinery costs more than
    the inflating); None unless it is exactly its declared size and checksum."""
    try:
        return inflated(payload, info)
    except Unsupported:
        return None


_PLAIN_FORMULA = re.compile(rb"<f[\s>/]")


def _stores_formula(sheet: bytes) -> bool:
    # the substring tests rule out most sheets; the unprefixed tag, the usual one, has a literal regex
    return ((b"<f" in sheet and _PLAIN_FORMULA.search(sheet) is not None)
            or (b":f" in sheet and FORMULA_TAG.search(sheet) is not None))


def screen_package(zf: zipfile.ZipFile, data: bytes | None = None, max_rows: int = MAX_ROWS,
                   max_cols: int = MAX_COLS) -> bool | None:
    """None when calamine must not read this package; else whether any sheet stores a formula.

    Every XML part is looked at, whatever its name (a workbook may keep its sheets
    and styles anywhere its relationships point): a sheet is one with <sheetData>.
    Every cell address is checked, not the declared <dimension>: a file can declare
    A1:J30 and still hold a value at XFD1048576. ``data``, the package's bytes,
    lets its parts be inflated directly.
    """
    infos = zf.infolist()
    if any(i.file_size > FAST_MAX_BYTES for i in infos) or sum(i.file_size for i in infos) > FAST_MAX_TOTAL:
        return None  # a submission's parts are kilobytes; a large one is read the careful, bounded way
    if len({i.filename for i in infos}) != len(infos) or len({i.header_offset for i in infos}) != len(infos):
        return None  # two entries of one name, or two names for one stored part: not what Excel writes

    formulas, sheets = False, 0
    for info in infos:
        # A part is screened for what it holds, not for its name: a sheet may be stored as sheet1.dat.
        screen = _screen_any
        if data is None:
            verdict = screen(zf.read(info), max_rows, max_cols)
        else:
            payload = _payload(data, info)
            if payload is None:
                return None
            key = (payload, info.compress_type, info.file_size, info.CRC, max_rows, max_cols, screen)
            verdict = _SCREENED.get(key)
            if verdict is None:
                part = _inflate(payload, info)
                verdict = None if part is None else screen(part, max_rows, max_cols)
                if verdict == (False, False) and len(_SCREENED) < _SCREENED_MAX and len(payload) <= 1 << 16:
                    _SCREENED[key] = verdict
        if verdict is None:
            return None
        sheets += verdict[0]
        formulas = formulas or verdict[1]
    return formulas if sheets else None


# Parts every file of a template repeats byte for byte (its theme, styles, workbook, content types)
# are screened once per process: the same stored bytes, size and checksum inflate to the same part,
# so its verdict is the same. Only clean parts that are not sheets are kept; sheets carry each
# unit's own figures and rarely repeat.
_SCREENED: dict[tuple, tuple[bool, bool]] = {}
_SCREENED_MAX = 256


def _screen_markup(part: bytes, max_rows: int, max_cols: int) -> tuple[bool, bool] | None:
    """(False, False) for a part that is no sheet and carries no markup declaration; None otherwise.

    A DTD, however harmless it looks, goes to the careful reader: it alone decides
    whether the file is refused (``file-unsafe``), so a file gets one verdict on every path.
    """
    if b"<!" in part or b"<\0!" in part:  # a declaration, a comment or CDATA, in UTF-8 or UTF-16
        from ..core.formats import declares_entity, has_doctype  # here: imported only for the rare part that needs it

        if has_doctype(part) or declares_entity(part):
            return None
    return (False, False)


def _looks_like_xml(part: bytes) -> bool:
    """Whether a part is XML by its first bytes (UTF-8, with or without a BOM, or UTF-16)."""
    return _XML_START.match(part) is not None or part.startswith((b"\xff\xfe", b"\xfe\xff"))


def _screen_any(part: bytes, max_rows: int, max_cols: int) -> tuple[bool, bool] | None:
    """A part that is XML gets the checks of a sheet (or styles, or a workbook); any other part
    (media, binary) only the check for markup declarations: a DTD anywhere goes to the careful reader.
    So do XML in another encoding than plain UTF-8 (the screens below read bytes as Excel writes
    them), a relationship to an outside address and a macro (the careful reader logs them)."""
    if (not is_plain_utf8(part) and utf8_part(part[:64]).lstrip().startswith(b"<")) or MACRO_MARK.search(part) or \
            (b"TargetMode" in part and EXTERNAL_TARGET.search(part)):
        return None
    screen = _screen_part if _looks_like_xml(part) else _screen_markup
    return screen(part, max_rows, max_cols)


def _screen_part(part: bytes, max_rows: int, max_cols: int) -> tuple[bool, bool] | None:
    """(is a sheet, stores a formula) for one XML part; None when calamine must not read the package."""
    if _screen_markup(part, max_rows, max_cols) is None:
        return None
    if (b"numFmtId" in part and _PERCENT_ID.search(part)) or (b"%" in part and _PERCENT_CODE.search(part)):
        return None  # calamine gives 0.978 for a cell Excel shows as 97.8 %
    if b"sheetData" not in part:
        if b"definedName" in part and may_hold_external(part):
            return None  # a name that may reach outside the workbook: the careful reader looks at its uses
        return (False, False)
    if (b'"e"' in part or b"'e'" in part) and _ERROR_CELL.search(part):
        return None  # calamine reads #REF! as a blank
    if sheet_out_of_bounds(part, max_rows, max_cols):
        return None  # large, or cells placed by position: the bounded reader says what it skipped
    formulas = _stores_formula(part)
    if (formulas or b"<formula" in part or b"extLst" in part) and may_hold_external(part):
        return None  # a cell's, a conditional format's or a validation's formula may reach outside: logged
    return (True, formulas)


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
            formulas = screen_package(zf, data) if kind == "xlsx" else None
            stamp = stamp_from_zip(zf) if formulas is not None else ""
        if formulas is None:
            return None
        sheets = calamine_values(io.BytesIO(data), MAX_ROWS, MAX_COLS)
    except Exception:  # whatever it is, the careful reader will say it in the clerk's words
        return None
    sub = read_submission(path, name, "xlsx", sheets, has_formulas=formulas)
    sub.sha256 = hashlib.sha256(data).hexdigest()
    sub.template_stamp = stamp
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
    digest = sha256_of(path)  # before reading: a file replaced meanwhile then fails the feedback copy's check
    sub = read_submission(path, name, kind)
    sub.sha256 = digest
    if sub.kind == "xlsx":
        sub.template_stamp = stamp_of(path)
    return kind, sub


def _init_worker(prepare: Callable[[Submission], None] | None = None) -> None:
    """Bound the worker's memory and silence it: a dying worker must not print a crash dump at the clerk.

    ``prepare`` reaches the worker once, as the pool's initializer argument: inherited by fork, or
    pickled once per spawned worker (it must then be picklable: a functools.partial of a module-level
    function). Pickled with every batch it would carry the caller's whole registry each time.
    """
    global _worker_prepare
    _worker_prepare = prepare
    limit_memory(MEMORY_LIMIT)  # where the OS offers a cap; not on Windows
    faulthandler.disable()
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)


# In a worker: what its pool's caller does with each submission (read_files' ``prepare``), set by
# _init_worker. Only ever set in a worker process, so runs in threads of one process never share it.
_worker_prepare: Callable[[Submission], None] | None = None


def _read_prepared(path: Path, name: str, is_spreadsheet, fast: bool,
                   prepare: Callable[[Submission], None] | None) -> Read:
    kind, sub = read_file(path, name, is_spreadsheet, fast)
    if sub is not None and prepare is not None:
        prepare(sub)
    return kind, sub


def _read_here(path: Path, name: str, is_spreadsheet, prepare: Callable[[Submission], None] | None) -> Read:
    """One file read in this process, the last resort: a failure nobody foresaw becomes that file's
    ``file-unreadable`` entry; it must not stop the run for every other unit."""
    try:
        return _read_prepared(path, name, is_spreadsheet, False, prepare)
    except Exception as exc:  # noqa: BLE001 - a bug met by one file; Ctrl+C still stops the run
        from ..core import problems as P  # start-up: only such a failure needs it
        from ..core.formats import display_name

        sub = Submission(path=path, name=name or display_name(path.name), kind="unreadable")
        sub.problems.append(P.FileUnreadable(file=sub.name, reason=f"lỗi bất ngờ khi đọc tệp (mã {type(exc).__name__})"))
        return "unreadable", sub


def _read_batch(items: list[tuple[Path, str]], is_spreadsheet, fast: bool) -> list[Read | None]:
    found: list[Read | None] = []
    for path, name in items:
        try:
            found.append(_read_prepared(path, name, is_spreadsheet, fast, _worker_prepare))
        except Exception:  # not expected; this process reads it again and lets it surface there
            found.append(None)
    return found


def _pool_read(items: list[tuple[Path, str]], todo: list[int], results: list[Read | None], is_spreadsheet,
               fast: bool, tick: Callable[[int], None], meanwhile: Callable[[], object] | None,
               prepare: Callable[[Submission], None] | None) -> None:
    """Fill ``results`` for the indices in ``todo`` that a worker pool manages to read."""
    batches = [todo[i : i + BATCH] for i in range(0, len(todo), BATCH)]
    try:
        restore = _ignore_ctrl_c_in_spawned_workers()
        try:
            pool = ProcessPoolExecutor(max_workers=min(2, os.cpu_count() or 1), initializer=_init_worker,
                                       initargs=(prepare,), mp_context=multiprocessing.get_context(_start_method()))
            # the first submit starts the spawned workers: they inherit "ignore Ctrl+C"
            futures = {pool.submit(_read_batch, [items[i] for i in batch], is_spreadsheet, fast): batch
                       for batch in batches}
        finally:
            restore()
        with _stopped_on_ctrl_c(pool):
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


class _stopped_on_ctrl_c:
    """The pool shut down on leaving; on Ctrl+C its workers are stopped at once, without waiting
    for their batches: spawned workers ignore Ctrl+C themselves."""

    def __init__(self, pool: ProcessPoolExecutor) -> None:
        self.pool = pool

    def __enter__(self) -> ProcessPoolExecutor:
        return self.pool

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if kind is not None and issubclass(kind, KeyboardInterrupt):
            for worker in list((getattr(self.pool, "_processes", None) or {}).values()):
                worker.terminate()
            self.pool.shutdown(wait=False, cancel_futures=True)
        else:
            self.pool.shutdown(wait=True)


def _ignore_ctrl_c_in_spawned_workers() -> Callable[[], None]:
    """Ignore Ctrl+C in this process while it starts spawned workers; return what restores it.

    A spawned worker is a new Python that imports the program before ``_init_worker`` silences it:
    a Ctrl+C meanwhile printed its traceback at the clerk. Started while SIGINT is ignored, it
    ignores SIGINT for good; this process handles Ctrl+C and stops the workers (``_stopped_on_ctrl_c``).
    """
    import signal  # here: only a pool of spawned workers needs it
    if _start_method() != "spawn" or threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    return lambda: signal.signal(signal.SIGINT, previous)


def _start_method() -> str:
    """fork where the OS has it and no other thread runs (`consolidate serve`: a forked child would
    inherit a lock another thread holds, held forever), else spawn."""
    return "fork" if "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1 else "spawn"


def _pool_worthwhile(n: int, is_spreadsheet: Callable[[Path, str], bool],
                     prepare: Callable[[Submission], None] | None) -> bool:
    """Whether ``n`` files are worth starting workers for, and the workers can be given the hooks."""
    if _start_method() == "fork":
        return n >= MIN_FILES
    if n < SPAWN_MIN_FILES:
        return False
    try:  # a spawned worker receives it pickled; a closure cannot be, so this process reads instead
        pickle.dumps((is_spreadsheet, prepare))
    except Exception:
        return False
    return True


def read_files(items: list[tuple[Path, str]], is_spreadsheet: Callable[[Path, str], bool],
               progress: Callable[[int, int], None] | None = None,
               meanwhile: Callable[[], object] | None = None,
               prepare: Callable[[Submission], None] | None = None) -> list[Read]:
    """(kind, submission) for each (path, name), in the given order.

    ``is_spreadsheet(path, kind)`` says whether a file of that kind is read at
    all; the others come back with None and the caller logs why. ``meanwhile``
    is called once the workers are busy (or before reading here), so this
    process can prepare something (imports) while they read. ``prepare(sub)``
    is done to each submission in the process that read it, so the caller's
    per-file work runs on every core, not after the reading on one.
    """
    results: list[Read | None] = [None] * len(items)
    done = 0

    def tick(n: int) -> None:
        nonlocal done
        done += n
        if progress is not None and n:
            progress(done, len(items))

    if _pool_worthwhile(len(items), is_spreadsheet, prepare):
        for fast in (True, False):
            todo = [i for i, r in enumerate(results) if r is None]
            if todo:
                _pool_read(items, todo, results, is_spreadsheet, fast, tick, meanwhile, prepare)
                meanwhile = None
    if meanwhile is not None:
        meanwhile()
    for i, r in enumerate(results):
        if r is None:
            results[i] = _read_here(*items[i], is_spreadsheet, prepare)
            tick(1)
    return results  # type: ignore[return-value]
