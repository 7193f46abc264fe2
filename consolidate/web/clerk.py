"""The clerk's side: who has reported (the run's own unit status, live), one consolidation at a time, its outputs.

Completeness is ``app.run``'s ``RunResult.status`` on the inbox as it is now (the facts the merged
workbook's "Tình trạng nộp" sheet lists), recomputed only when the inbox changed; each unit's page shows its
own line of it, with the problems of its file, however the file reached the inbox. The button runs
``app.run`` and ``app.write`` into --out in a background thread, so uploads go on meanwhile (recording the
period in the history beside the outputs, as ``consolidate run`` does); a second
press while one runs is told so (and two processes are kept apart by the output lock of write/lock.py).
"""

from __future__ import annotations

import datetime as dt
import io
import os
import threading
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PureWindowsPath  # a Windows name has either separator: its name on any OS

from .. import app
from ..core import problems as P
from ..core.formats import FEEDBACK_DIR, HISTORY_NAME, LOG_PREFIX, LOG_SUFFIX, PAGE_SUFFIX, SUMMARY_PREFIX
from ..core.results import REPORTED, RunResult
from .uploads import Place

RESUBMISSIONS = ("superseded", "duplicate-file", "resubmission-conflict", P.UploadsReplaced.code)
SEVERITY_ORDER = {P.ERROR: 0, P.WARNING: 1, P.INFO: 2}


@dataclass
class UnitRow:
    """One line of the completeness table."""

    code: str
    name: str
    state: str  # REPORTED, MISSING or UNUSABLE
    label: str
    file: str = ""
    when: str = ""  # the file's last change, local time
    errors: int = 0
    warnings: int = 0
    note: str = ""
    problems: list[P.Problem] = field(default_factory=list)  # of its file, for the unit's own page; errors first


def local_time(timestamp: float) -> str:
    return dt.datetime.fromtimestamp(timestamp).strftime("%H:%M %d/%m/%Y")


def status_rows(result: RunResult) -> list[UnitRow]:
    """The run's status of every expected unit, with its file's time and counts of errors and warnings."""
    mtimes = {f.name: f.mtime for f in result.files}
    counts: dict[str, list[int]] = {}
    notes: dict[str, list[str]] = {}
    for p in result.problems:
        if p.code in RESUBMISSIONS and p.unit:
            notes.setdefault(p.unit, []).append(p.message)
        if p.severity in (P.ERROR, P.WARNING):
            pair = counts.setdefault(p.file, [0, 0])
            pair[p.severity == P.WARNING] += 1
    rows = []
    for code, st in result.status.items():
        name = result.registry_name(code)
        errors, warnings = counts.get(st.file, [0, 0]) if st.state == REPORTED else (0, 0)
        when = local_time(mtimes[st.file]) if st.file in mtimes else ""
        note = " ".join([st.note, *notes.get(name, [])]).strip()
        rows.append(UnitRow(code, name, st.state, st.label, st.file, when, errors, warnings, note,
                            _own_problems(result, name, st.file)))
    return rows


def _own_problems(result: RunResult, name: str, files: str) -> list[P.Problem]:
    """What the run says about the file(s) a unit's status names, as the unit is told it (the clerk's own notes
    and the other units' lines of a shared file left out); errors, then warnings, then notes."""
    named = {f for f in files.split(", ") if f}
    found = [p for p in result.problems
             if p.file in named and p.unit in ("", name) and not p.clerk_only and p.code not in RESUBMISSIONS]
    return sorted(found, key=lambda p: SEVERITY_ORDER.get(p.severity, 3))


class Completeness:
    """The table, recomputed when the inbox's listing (names, sizes, times) changed since the last look."""

    def __init__(self, place: Place) -> None:
        self.place = place
        self._lock = threading.Lock()
        self._seen: tuple | None = None
        self._rows: list[UnitRow] = []

    def _listing(self) -> tuple:
        found = []
        for folder, _, names in os.walk(self.place.inbox):
            for name in names:
                try:
                    st = os.stat(os.path.join(folder, name))
                except OSError:
                    continue
                found.append((folder, name, st.st_size, st.st_mtime_ns))
        return tuple(sorted(found))

    def rows(self) -> list[UnitRow]:
        with self._lock:
            listing = self._listing()
            if listing != self._seen:
                result = app.run(self.place.inbox, self.place.registry, self.place.settings)
                self._rows, self._seen = status_rows(result), listing
            return list(self._rows)

    def row(self, code: str) -> UnitRow | None:
        """One unit's line (its page shows it): the same table, so the unit's page and the clerk's never disagree."""
        return next((r for r in self.rows() if r.code == code), None)


@dataclass
class RunState:
    """What the last consolidation started here did."""

    running: bool = False
    started: str = ""
    finished: str = ""
    failure: str = ""  # why it stopped, in Vietnamese
    errors: int = 0
    warnings: int = 0
    unaccounted: list[str] = field(default_factory=list)


class Consolidation:
    """``consolidate run`` as a button: one at a time, in a thread, into --out."""

    def __init__(self, place: Place) -> None:
        self.place = place
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.last = RunState()

    def start(self) -> bool:
        """Start a run unless one is running; whether this call started one."""
        with self._lock:
            if self.last.running:
                return False
            self.last = RunState(running=True, started=local_time(dt.datetime.now().timestamp()))
            self._thread = threading.Thread(target=self._work, name="consolidate-run", daemon=True)
            self._thread.start()
            return True

    def wait(self, timeout: float | None = None) -> None:
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _work(self) -> None:
        state = self.last
        try:
            store = self.place.out / HISTORY_NAME  # as `consolidate run --out DIR` records the period
            result = app.run(self.place.inbox, self.place.registry, self.place.settings, history=store)
            _, state.unaccounted = app.write(result, self.place.out, meanwhile=app.prepare_record(result, store))
            state.errors, state.warnings = len(result.errors), len(result.warnings)
        except Exception as exc:  # noqa: BLE001 - shown on the clerk's page; the server goes on
            state.failure = _failure(exc)
        finally:
            state.finished = local_time(dt.datetime.now().timestamp())
            state.running = False

    # The outputs ------------------------------------------------------------------

    def outputs(self) -> dict[str, Path]:
        """The run outputs present in --out (this run's or an earlier one's), by kind."""
        code = self.place.registry.root.code
        out = self.place.out
        paths = {"workbook": out / f"{SUMMARY_PREFIX}{code}.xlsx", "log": out / f"{LOG_PREFIX}{code}{LOG_SUFFIX}",
                 "html": out / f"{SUMMARY_PREFIX}{code}{PAGE_SUFFIX}"}
        return {kind: path for kind, path in paths.items() if path.is_file()}

    def feedback_files(self) -> list[Path]:
        folder = self.place.out / FEEDBACK_DIR
        return sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")) if folder.is_dir() else []

    def feedback_zip(self) -> bytes:
        """Every feedback copy of the last run, in one zip, under its inbox name."""
        folder = self.place.out / FEEDBACK_DIR
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
            for path in self.feedback_files():
                zf.write(path, path.relative_to(folder).as_posix())
        return buffer.getvalue()


def _failure(exc: Exception) -> str:
    if isinstance(exc, PermissionError):  # Windows: an output open in Excel, or a folder without write permission
        name = f"“{PureWindowsPath(exc.filename).name}”" if exc.filename else "một tệp kết quả"
        return (f"không ghi được {name}: tệp đang mở trong chương trình khác (thường là Excel) hoặc thư mục không cho ghi; "
                "đóng tệp đó rồi bấm “Tổng hợp ngay” lại")
    if isinstance(exc, OSError):
        return f"lỗi đọc/ghi tệp ({type(exc).__name__}); kiểm tra ổ đĩa và quyền ghi rồi chạy lại"
    text = str(exc)
    if text and not text.isascii():  # our own Vietnamese message (an output open in Excel, the folder in use)
        return text
    return f"lỗi của chương trình (mã {type(exc).__name__}); hãy báo cho người quản trị"

