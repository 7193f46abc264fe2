"""Feedback for the units: a copy of each submission with its problems marked on the cells, made by patching its package.

What a copy says is in content.py; a package the patcher refuses gets openpyxl_copy.py's copy.
"""

from __future__ import annotations

import gc
import hashlib
from pathlib import Path, PurePosixPath


from ...core import problems as P
from ...ooxml import patch as X
from ..files import atomic_target, remove_output, sweep_stale, too_long
from ..sheets import FOOTER, SIDE_MARGIN
from ...core.results import InboxFile, RunResult
from ...core.records import Submission
from ...core.timings import Timings
from . import content as C
from .content import (
    AUTHOR,
    COLUMNS,
    FEEDBACK_SHEET,
    FEEDBACK_SUFFIXES,
    FILLS,
    HEADER_ROW,
    INPUT_YELLOW,
    MAX_UNPACKED_BYTES,
    TITLE_PREFIX,
    feedback_dir,
    needs_feedback,
)

def check_feedback_folder(result: RunResult, out: Path) -> None:
    """Refuse a feedback folder that overlaps the inbox: copies would overwrite or be read as submissions."""
    if not result.files:
        return
    first = result.files[0]
    inbox = first.path.parents[len(PurePosixPath(first.name).parts) - 1].resolve()
    folder = feedback_dir(out).resolve()
    if folder == inbox or inbox in folder.parents or folder in inbox.parents:
        raise ValueError(
            f"Thư mục phản hồi {feedback_dir(out)} trùng với thư mục báo cáo nhận về; "
            "chọn thư mục kết quả (--out) khác."
        )


def write_feedback(result: RunResult, out: Path, timings: Timings | None = None) -> list[Path]:
    """Write ``out/phan-hoi/<file>`` for each submission with problems; return the paths written.

    Stale copies from an earlier run (a file now clean or gone) are removed, so
    the folder always matches this run. ``timings`` (if given) gets the time spent on the copies.
    """
    timings = timings or Timings()
    check_feedback_folder(result, out)
    folder = feedback_dir(out)
    inbox_files = _InboxFiles(result.files)
    by_file = P.by_file(result.problems)
    written: list[Path] = []
    for sub_folder in {(folder / sub.name).parent for sub in result.submissions}:
        if sub_folder.is_dir():
            sweep_stale(sub_folder)  # once per folder, not once per copy
    # The run holds hundreds of thousands of objects; each copy allocates thousands of short-lived
    # ones, and every full collection they trigger walks the run's objects again (~2 ms a copy at
    # 3321 files). Frozen, the run's objects are left out of collections; new ones are still collected.
    freeze = gc.isenabled() and gc.get_freeze_count() == 0
    if freeze:
        gc.freeze()
    try:
        for sub in result.submissions:
            found = by_file.get(sub.name, [])
            if not needs_feedback(sub, found):
                continue
            target = folder / sub.name  # keeps sub-folders of the inbox, so names cannot collide
            if inbox_files.holds(target):  # belt and braces: never overwrite a submission
                continue
            if too_long(target) or any(p.code == P.FeedbackNotWritten.code for p in found):
                continue  # logged by the caller (outputs._copies_not_written)
            data = checked_bytes(sub)
            if data is None:  # changed since it was checked: app.keep_checked_bytes logs it
                continue
            with timings.step("write.feedback.copies"):
                written_copy = _write_copy(sub, found, target, data)
            if written_copy:
                written.append(target)
    finally:
        if freeze:
            gc.unfreeze()
    _remove_stale(folder, set(written), inbox_files)
    return written


class _InboxFiles:
    """The submissions' files, to recognise one reached by another path (a link in the feedback folder).

    Compared by file identity, and only once something is actually there: a
    first run writes into an empty folder and never needs the inbox's
    identities (resolving 3321 paths took longer than writing 179 copies).
    """

    def __init__(self, files: list[InboxFile]) -> None:
        self._paths = [f.path for f in files]
        self._ids: set[tuple[int, int]] | None = None

    def holds(self, path: Path) -> bool:
        try:
            st = path.stat()
        except OSError:  # nothing there (or a dangling link): nothing of the inbox to overwrite
            return False
        if self._ids is None:
            self._ids = set()
            for p in self._paths:
                try:
                    found = p.stat()
                except OSError:
                    continue
                self._ids.add((found.st_dev, found.st_ino))
        return (st.st_dev, st.st_ino) in self._ids


def checked_bytes(sub: Submission) -> bytes | None:
    """The bytes the run checked, which the copy is made from; None when the file no longer has them.

    The run keeps them (``app.keep_checked_bytes``); a caller that built its result
    another way gets the file as it is now, if it still has the digest taken when read.
    """
    if sub.checked_bytes is not None:
        return sub.checked_bytes
    try:
        data = sub.path.read_bytes()
    except OSError:
        return None
    return data if not sub.sha256 or hashlib.sha256(data).hexdigest() == sub.sha256 else None


def write_one_copy(sub: Submission, problems: list[P.Problem], target: Path) -> bool:
    """The annotated copy of one checked file, exactly as a run makes it, written to ``target``: for a unit
    that sends its file through ``consolidate serve`` and wants its copy now, not after the next run.
    False when this file gets no copy (see needs_feedback) or its bytes changed since they were checked."""
    data = checked_bytes(sub)
    if data is None or not needs_feedback(sub, problems) or too_long(target):
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    return _write_copy(sub, problems, target, data)


def _write_copy(sub: Submission, problems: list[P.Problem], target: Path, data: bytes) -> bool:
    """The annotated copy, or False when this file cannot be copied (its problems are still in the log).

    The copy is made by patching the unit's package (fast, and everything the
    unit sent stays as it was); a package the patcher does not understand
    gets the openpyxl copy instead, which is slower and drops what openpyxl
    does not model.
    """
    try:
        book: X.XlsxPatch | None = X.XlsxPatch(sub.path, max_unpacked=MAX_UNPACKED_BYTES, data=data)
    except X.TooLarge:
        return False
    except Exception:  # X.Unsupported, or a file that cannot be read as a package: the fallback decides
        book = None
    if book is not None:
        try:
            _patched_copy(book, sub, problems, target)
            return True
        except OSError:  # a full disk is the run's problem, as for the other outputs
            raise
        except Exception:  # X.Unsupported, or a package broken in a way reading did not notice
            pass
    return _openpyxl_copy(sub, problems, target, data)


def _openpyxl_copy(sub: Submission, problems: list[P.Problem], target: Path, data: bytes) -> bool:
    """The fallback copy; openpyxl is imported only when a package needs it (it costs ~0.3 s)."""
    from .openpyxl_copy import openpyxl_copy  # start-up: openpyxl only when a package needs it

    return openpyxl_copy(sub, problems, target, data)


def _remove_stale(folder: Path, written: set[Path], inbox_files: _InboxFiles) -> None:
    if not folder.is_dir():
        return
    for path in folder.rglob("*"):
        if (
            path.is_file()
            and path.suffix.lower() in FEEDBACK_SUFFIXES
            and path not in written
            and not inbox_files.holds(path)
        ):
            remove_output(path)  # with the rest of the set, when it is replaced


# The copy, by patching the unit's package ---------------------------------------


def _patched_copy(book: X.XlsxPatch, sub: Submission, problems: list[P.Problem], target: Path) -> None:
    """Annotate the unit's own package: only the parts that change are rewritten (see ooxml.patch)."""
    _patch_clean_previous(book)
    problems = problems + C.unlogged_external(sub, problems, book.strip_external_formulas())
    marked = _patch_mark_cells(book, sub, problems)
    _patch_add_sheet(book, sub, problems, marked)
    with atomic_target(target, sweep=False) as tmp:  # swept once in write_feedback
        book.save(tmp)


def _patch_clean_previous(book: X.XlsxPatch) -> None:
    """A unit may send back last round's copy: drop our old sheet, comments and red fills.

    Our sheet is recognised by its title line; it may carry a suffix when the
    unit had a 'Phản hồi' sheet of its own.
    """
    for name in book.sheetnames:
        if name.startswith(FEEDBACK_SHEET) and book.is_worksheet(name):
            if str(book.cell_text(name, 1, 1) or "").startswith(TITLE_PREFIX):
                book.remove_sheet(name)
    for name in book.sheetnames:
        if not book.is_worksheet(name):
            continue
        for (row, col), note in book.comments(name).items():
            if note.author != AUTHOR:
                continue
            book.remove_comment(name, row, col)
            kept = C.unit_note(note.text)
            if kept is not None:  # the unit's own note, given back as it was
                book.set_comment(name, row, col, kept[1], kept[0], *C.comment_size(kept[1]))
            if book.cell_fill(name, row, col) in FILLS.values():
                # The template's own look: yellow input cells, plain locked cells.
                book.set_fill(name, row, col, None if book.cell_locked(name, row, col) else INPUT_YELLOW)


def _patch_mark_cells(book: X.XlsxPatch, sub: Submission, problems: list[P.Problem]) -> set[int]:
    """Fill and comment each problem's cell; return the ids of the problems that got a cell."""
    by_cell: dict[tuple[str, int, int], list[P.Problem]] = {}
    for p in problems:
        where = C.cell_of(p)
        if where is None or not book.is_worksheet(p.sheet):
            continue
        row, col = book.merged_origin(p.sheet, *where)
        by_cell.setdefault((p.sheet, row, col), []).append(p)
    own_notes = {sheet: book.comments(sheet) for sheet, _, _ in by_cell}  # once a sheet, not once a cell
    for (sheet, row, col), found in by_cell.items():
        text = C.comment_text(sub, found)
        own = own_notes[sheet].get((row, col))
        if own is not None:  # the unit's own note stays, below ours
            text = C.with_unit_note(text, own.author, own.text)
        width, height = C.comment_size(text)
        book.set_comment(sheet, row, col, C.text(text), AUTHOR, width, height)
        worst = C.worst_fill(found)
        if worst is not None:
            book.set_fill(sheet, row, col, worst)
    return {id(p) for found in by_cell.values() for p in found}


def _patch_add_sheet(book: X.XlsxPatch, sub: Submission, problems: list[P.Problem], marked: set[int]) -> None:
    """The 'Phản hồi' sheet, first and open: title lines, then the problems with links to their cells.

    The same layout as the openpyxl copy (``openpyxl_copy._add_feedback_sheet``).
    """
    sheet_index = {name: i for i, name in enumerate(book.sheetnames)}
    title_font = book.style(X.Style(bold=True, size=14, wrap=True, vertical="top"))
    wrap = book.style(X.Style(wrap=True, vertical="top"))
    header = book.style(X.Style(bold=True, fill="FFDDEBF7", wrap=True, vertical="center", horizontal="center"))
    link = book.style(X.Style(color="FF0563C1", underline=True, wrap=True, vertical="top"))
    error = book.style(X.Style(bold=True, color="FF9C0006", wrap=True, vertical="top"))

    width = len(COLUMNS)
    cells: dict[tuple[int, int], tuple[object, int]] = {}
    titles = C.title_lines(sub, problems)
    texts: dict[int, tuple] = {}
    for row, value in titles.items():
        cells[(row, 1)] = (value, title_font if row == 1 else wrap)
    for row in (2, 3):
        cells.setdefault((row, 1), (None, wrap))
    for col, (label, _) in enumerate(COLUMNS, start=1):
        cells[(HEADER_ROW, col)] = (label, header)
    links = []
    for n, p in enumerate(sorted(problems, key=lambda p: C.order(p, sheet_index)), start=1):
        row = HEADER_ROW + n
        values = C.row_values(sub, n, p)
        texts[row] = values
        for col, value in enumerate(values, start=1):
            cells[(row, col)] = (value, wrap)
        if id(p) in marked:
            sheet = p.sheet.replace("'", "''")
            links.append((X.ref(row, 3), f"'{sheet}'!{p.cell}", p.cell))
            cells[(row, 3)] = (p.cell, link)
        if p.severity == P.ERROR:
            cells[(row, 5)] = (p.severity_label, error)
    new = X.NewSheet(
        cells=cells,
        widths={col: w for col, (_, w) in enumerate(COLUMNS, start=1)},
        heights=C.row_heights(titles, texts),
        merges=[f"A{row}:{X.col_letter(width)}{row}" for row in (1, 2, 3)],
        links=links,
        freeze_rows=HEADER_ROW,
        print_title_rows=(HEADER_ROW, HEADER_ROW),
        landscape_fit_width=True,
        footer=FOOTER,
        side_margin=SIDE_MARGIN,
    )
    book.insert_first_sheet(C.sheet_title(book.sheetnames), new)
