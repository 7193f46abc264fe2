"""One upload through a unit's link: sniffed, checked like ``consolidate check``, then saved into the inbox or refused.

The browser's file name is only shown, never used as a path: the file is saved as
``<unit code>-<UTC time>.<suffix>`` (``x-phuoc-an-20261205T031500Z.xlsx``, core/upload_names.py), so a later upload of the same
unit is newer by its modification time and, within one second, by its copy number " (2)": the rule by
which a run already picks a unit's newest resubmission (core/choosing.py, which replaces a unit's earlier
uploads quietly), with every earlier upload kept.
A file is checked in a private folder under --out, by a worker process (isolated.py: a slow or huge file
cannot stall or exhaust the server), within the unit's limits (quota.py), and only then put into the inbox,
in one ``os.replace`` after its bytes are on disk: a run never sees half a file, and an upload answered
"received" survives the server being killed (one saved but not yet recorded is recorded at the next start,
reconcile.py).
"""

from __future__ import annotations

import errno
import logging
import os
import secrets
import shutil
import threading
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..core import problems as P
from ..core.formats import KIND_NAMES, READABLE, sniff
from ..core.registry import Registry, ReportSettings, Unit
from ..core.upload_names import upload_name, utc_stamp
from .isolated import CHECK_SECONDS, DIED, SHARED, TIMED_OUT, Checked, CheckStopped, Workers, check_upload
from .quota import Quota
from .state import ServerState, replace_patiently, utc_now

WORK_DIR = "may-chu"  # in --out: the server's own files (a run writes beside it, never into it)
CHECKING = "dang-kiem-tra"
FEEDBACK = "phan-hoi-tai-len"
SUFFIXES = {"xlsx": ".xlsx", "xls": ".xls", "ods": ".ods", "xlsb": ".xlsb"}
TEMP_SUFFIX = ".tai-len"  # an upload being put into the inbox: ".<name>.<random>.tai-len", hidden from runs
LEFTOVER_AGE = 3600  # seconds after which such a temporary, or a checking folder, was left by a killed server
SHOWN_MAX = 120  # characters of the browser's file name shown back (and kept in the state)
# Spreadsheets that cannot be read: checked all the same, so that the refusal says why and how to fix it as
# `consolidate check` does ("Gỡ mật khẩu của tệp…"), not merely "not a spreadsheet".
CHECKED_ANYWAY = {"encrypted", "empty", "corrupt"}
log = logging.getLogger("consolidate.web")


class UploadNotSaved(P.Problem):
    """The server could not write the upload (a folder without write permission, a full disk): the unit's
    page says so in its words, the clerk's terminal says where."""

    code = "upload-not-saved"
    title = "Máy chủ chưa lưu được tệp"
    template = "Máy chủ không lưu được tệp “{name}” ({reason}); chưa lưu gì."
    hint = "Gửi lại sau ít phút; nếu vẫn không được, báo cho văn thư (người tổng hợp) để kiểm tra máy chủ."


class UploadNoFile(P.Problem):
    code = "upload-no-file"
    title = "Chưa chọn tệp"
    template = "Chưa chọn tệp nào để gửi; chưa lưu gì."
    hint = "Bấm nút chọn tệp, chọn tệp báo cáo của đơn vị rồi bấm “Gửi báo cáo”."


@dataclass
class Place:
    """Where uploads go and what they are checked against: the same units and settings as the run."""

    inbox: Path
    out: Path
    registry: Registry
    settings: ReportSettings
    state: ServerState
    checks_at_once: int = max(1, os.cpu_count() or 1)
    workers: Workers = SHARED  # where checks run (isolated.py); one set for the whole process
    check_work: Callable[..., Checked] = check_upload  # what a worker runs: module-level, it is pickled by name
    check_seconds: float = CHECK_SECONDS
    quota: Quota = field(init=False, repr=False)
    _names_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _reserved: set[str] = field(default_factory=set, repr=False)
    _checks: threading.BoundedSemaphore | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self._checks = threading.BoundedSemaphore(self.checks_at_once)
        self.quota = Quota(self.inbox, self.out, self.settings, self.state)

    @property
    def limit_bytes(self) -> int:
        return int(self.settings.upload_limit_mb * 1024 * 1024)

    @property
    def feedback_dir(self) -> Path:
        return self.out / WORK_DIR / FEEDBACK


@dataclass
class Received:
    """What the unit is told: the name saved (empty when refused), why it was refused, what the check found."""

    browser_name: str
    saved: str = ""
    refused: P.Problem | None = None
    problems: list[P.Problem] = field(default_factory=list)
    feedback: str = ""  # the annotated copy's name in Place.feedback_dir, when one was made

    @property
    def errors(self) -> int:
        return sum(p.severity == P.ERROR for p in self.problems)

    @property
    def warnings(self) -> int:
        return sum(p.severity == P.WARNING for p in self.problems)


def receive(place: Place, unit: Unit, data: bytes, browser_name: str) -> Received:
    """Check ``data`` as ``unit``'s report and save it into the inbox, or refuse it with nothing saved."""
    shown = shown_name(browser_name)
    if len(data) > place.limit_bytes:
        return Received(shown, refused=P.UploadTooLarge(file=shown, limit=_mb(place.settings.upload_limit_mb)))
    refused = place.quota.admit(unit, len(data))
    if refused is not None:  # the clerk hears of it too: a stolen link, or the disk, needs the clerk
        log.warning("Không nhận tệp của %s: %s", unit.name, refused.message)
        return Received(shown, refused=refused)
    folder = place.out / WORK_DIR / CHECKING / secrets.token_hex(8)
    try:
        return _check_and_save(place, unit, data, shown, folder)
    except OSError as exc:  # the server's folders, not the unit's file: a Vietnamese refusal, the clerk told where
        log.error("Không lưu được tệp của %s (%s): %s", unit.code, type(exc).__name__, exc)
        return Received(shown, refused=UploadNotSaved(file=shown, name=shown, reason=_why_not_saved(exc)))
    finally:
        place.quota.release(unit, len(data))
        shutil.rmtree(folder, ignore_errors=True)


def _check_and_save(place: Place, unit: Unit, data: bytes, shown: str, folder: Path) -> Received:
    """``receive``'s work in ``folder`` (removed by the caller); OSError when the server's own folders fail."""
    folder.mkdir(parents=True)
    name = ""
    try:
        probe = folder / "tep-gui-len"
        probe.write_bytes(data)
        kind = sniff(probe)
        if kind not in READABLE | CHECKED_ANYWAY:
            return Received(shown, refused=P.UploadNotSpreadsheet(file=shown, name=shown, kind=KIND_NAMES.get(kind, kind)))
        name = _reserve(place, unit.code, _suffix(kind, shown))
        path = folder / name
        probe.rename(path)
        copy = folder / f"phan-hoi{path.suffix}"  # the annotated copy: kept only if the upload is saved
        try:
            with place._checks:  # each check holds a worker: a bounded number at once, the others wait
                checked = place.workers.call(place.check_work, (path, copy, place.registry, place.settings),
                                             place.check_seconds)
        except CheckStopped as stop:
            log.warning("Đã dừng kiểm tra tệp “%s” của %s: %s", shown, unit.name, _why_stopped(stop))
            return Received(shown, refused=P.UploadCheckStopped(file=shown, name=shown, reason=_why_stopped(stop)))
        found = checked.problems
        named = list(dict.fromkeys(place.registry.unit(code).name for code in checked.matched))
        if not named and any(p.severity == P.ERROR for p in found):
            # no unit read at all: the file's own first error says why (unreadable, unsafe, no Biểu mẫu 1…)
            return Received(shown, refused=found[0], problems=found)
        if named != [unit.name]:
            who = ", ".join(f"“{n}”" for n in named) or "đơn vị không có trong danh sách"
            return Received(shown, refused=P.UploadOtherUnit(file=shown, name=shown, named=who, unit_name=unit.name),
                            problems=found)
        made = checked.made_copy and _keep_copy(copy, place.feedback_dir / name)
        _save(place.inbox, name, data)
        received = Received(shown, saved=name, problems=found, feedback=name if made else "")
        try:
            place.state.add_upload(unit.code, {
                "file": name, "at": utc_now(), "browser_name": shown, "size": len(data), "errors": received.errors,
                "warnings": received.warnings, "feedback": received.feedback,
            })
        except OSError:  # not recorded, so not "received": taken back out of the inbox (the unit sends it again)
            (place.inbox / name).unlink(missing_ok=True)
            raise
        return received
    finally:
        if name:
            with place._names_lock:
                place._reserved.discard(name)


def shown_name(browser_name: str) -> str:
    """The browser's file name as it is shown and kept: NFC (a Mac sends decomposed Vietnamese), without
    control or format characters (NUL, a right-to-left override that makes "xslx.exe" read "exe.xlsx"),
    at most SHOWN_MAX characters; escaped by the page like any text."""
    text = "".join(ch for ch in unicodedata.normalize("NFC", browser_name or "") if unicodedata.category(ch)[0] != "C")
    text = text.strip()
    if len(text) > SHOWN_MAX:
        text = text[: SHOWN_MAX - 1] + "…"
    return text or "(không tên)"


def _keep_copy(copy: Path, target: Path) -> bool:
    """The annotated copy made by the check moved where the unit downloads it; False when that fails
    (a full disk, a run sweeping --out at that moment): the upload itself still counts."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        replace_patiently(copy, target)
    except OSError:
        return False
    return True


def _why_stopped(stop: CheckStopped) -> str:
    if stop.why == TIMED_OUT:
        return f"kiểm tra quá {stop.seconds:g} giây mà chưa xong (tệp quá nặng so với một báo cáo)"
    if stop.why == DIED:
        return "tệp làm hỏng hoặc làm tràn bộ nhớ của tiến trình kiểm tra"
    return "máy chủ chưa khởi động được tiến trình kiểm tra (lỗi của máy chủ, không phải của tệp)"


def _why_not_saved(exc: OSError) -> str:
    if isinstance(exc, PermissionError):
        return "thư mục trên máy chủ không cho ghi"
    if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        return "ổ đĩa của máy chủ đã đầy"
    return "lỗi đọc/ghi trên máy chủ"


def _mb(value: float) -> str:
    return f"{value:g}".replace(".", ",")


def _suffix(kind: str, browser_name: str) -> str:
    """The suffix of what the bytes are; an .xlsm stays .xlsm (Excel opens a macro workbook only by that name)."""
    if kind == "xlsx" and browser_name.lower().endswith(".xlsm"):
        return ".xlsm"
    return SUFFIXES.get(kind, ".xlsx")


def _reserve(place: Place, code: str, suffix: str) -> str:
    """A name free in the inbox and among the uploads being checked: code and UTC time, " (2)"… within a second."""
    stamp = utc_stamp()
    with place._names_lock:
        n = 1
        while True:
            name = upload_name(code, stamp, n, suffix)
            if name not in place._reserved and not (place.inbox / name).exists():
                place._reserved.add(name)
                return name
            n += 1


def _save(inbox: Path, name: str, data: bytes) -> None:
    """The file in the inbox whole, on disk, in one step; a temporary that a run skips (hidden) until then."""
    inbox.mkdir(parents=True, exist_ok=True)
    tmp = inbox / f".{name}.{secrets.token_hex(4)}{TEMP_SUFFIX}"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o644)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        replace_patiently(tmp, inbox / name)
    finally:
        tmp.unlink(missing_ok=True)
    if os.name != "nt":  # the new name itself on disk too (POSIX: fsync the folder; Windows has no such call)
        dir_fd = os.open(inbox, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        except OSError:
            pass
        finally:
            os.close(dir_fd)


def sweep_leftovers(place: Place, now: float | None = None) -> list[Path]:
    """What a killed server left half done (an upload's temporary in the inbox, a checking folder under --out),
    older than LEFTOVER_AGE so that no upload still running is touched: removed; the paths removed."""
    now = time.time() if now is None else now
    found = [p for p in place.inbox.glob(f".*{TEMP_SUFFIX}") if p.is_file()]
    checking = place.out / WORK_DIR / CHECKING
    found += [p for p in checking.iterdir() if p.is_dir()] if checking.is_dir() else []
    removed = []
    for path in found:
        try:
            if now - path.stat().st_mtime < LEFTOVER_AGE:
                continue
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()
        except OSError:  # in use (Windows) or gone already: the next start tries again
            continue
        removed.append(path)
    return removed
