"""Writing outputs safely: a half-written file never takes the place of a good one, and a run's
outputs are replaced together or not at all.

Temporary files are named ``.~<tag><token>.tmp``: short whatever the target's
name (a 245-byte inbox name plus a long prefix once exceeded the 255-byte
limit on a name), ``tag`` from the target's name, ``token`` from the run
and, inside an OutputSet, a counter (two names can share a tag).
"""

from __future__ import annotations

import contextvars
import hashlib
import json
import os
import secrets
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

TEMP_PREFIX = ".~"
TEMP_SUFFIX = ".tmp"
BACKUP_SUFFIX = ".bak"
JOURNAL_SUFFIX = ".journal"
# A temporary older than this is left by a run that died: a run writes each of its files in seconds.
STALE_AGE = 3600
NAME_MAX = 255  # bytes in one name, on Linux, macOS and NTFS alike (NTFS counts UTF-16 units)
WINDOWS_MAX_PATH = 259


class OutputError(Exception):
    """The outputs could not be written or replaced; the message, in Vietnamese, says what to do.
    The previous outputs are intact."""


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _tag(path: Path) -> str:
    return hashlib.sha1(os.fsencode(path.name)).hexdigest()[:6]


def temp_path(path: Path, token: str, suffix: str = TEMP_SUFFIX) -> Path:
    """The temporary beside ``path`` for a run's ``token``: the same in a forked child as in its
    parent, so the parent can adopt what the child wrote."""
    return path.parent / f"{TEMP_PREFIX}{_tag(path)}{token}{suffix}"


def _claim(tmp: Path) -> Path:
    """Create the temporary empty at once, as mkstemp did: its name is taken, and a run killed
    before writing it still leaves the trace the next run sweeps."""
    with open(tmp, "wb"):
        pass
    return tmp


def _is_ours(name: str) -> bool:
    return name.startswith(TEMP_PREFIX) and name.endswith((TEMP_SUFFIX, BACKUP_SUFFIX))


def _is_old_style(name: str) -> bool:
    """Temporaries named by earlier versions (``.<stem>-<random><suffix>.tmp``)."""
    return name.startswith(".") and name.endswith(TEMP_SUFFIX) and "-" in name


def sweep_stale(folder: Path, pattern: str | None = None, min_age: float = STALE_AGE) -> None:
    """Remove temporary files a killed run left in ``folder``.

    Only temporaries older than ``min_age`` go: a younger one may belong to a
    run still writing. Under a run's lock (OutputSet) the folder was swept
    whole when the set began, and nothing is done here.
    """
    current = _current.get()
    if current is not None and current.holds(folder / "x"):
        return
    now = time.time()
    for stale in folder.glob(pattern) if pattern else folder.iterdir() if folder.is_dir() else ():
        if pattern is None and not (_is_ours(stale.name) or _is_old_style(stale.name)):
            continue
        try:
            if now - stale.stat().st_mtime >= min_age and stale.is_file():
                stale.unlink(missing_ok=True)
        except OSError:
            continue


@contextmanager
def atomic_target(path: Path, sweep: bool = True) -> Iterator[Path]:
    """A temporary path beside ``path``, renamed over it only if the block completes.

    Inside an OutputSet the temporary is kept and replaces ``path`` only when
    the whole set does. ``sweep=False`` is for a writer of many files that
    swept their folder once (sweep_stale).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    current = _current.get()
    if current is not None and current.holds(path):
        with current.stage(path) as tmp:
            yield tmp
        return
    if sweep:  # temporary files left by a run that was killed
        sweep_stale(path.parent, f"{TEMP_PREFIX}{_tag(path)}*{TEMP_SUFFIX}")
    tmp = _claim(temp_path(path, secrets.token_hex(4)))
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def remove_output(path: Path) -> None:
    """Remove an output that no longer belongs (a unit's stale feedback copy): with the set's
    replacement inside an OutputSet, at once otherwise."""
    current = _current.get()
    if current is not None and current.holds(path):
        current.removed.append(path)
    else:
        path.unlink(missing_ok=True)


def too_long(path: Path) -> str | None:
    """Why ``path`` cannot be created, in Vietnamese, when its name or its whole path is too long."""
    if len(os.fsencode(path.name)) > NAME_MAX:
        return f"tên tệp dài {len(os.fsencode(path.name))} byte, quá giới hạn {NAME_MAX} byte"
    if sys.platform == "win32" and len(str(path.absolute())) > WINDOWS_MAX_PATH:
        return f"đường dẫn dài quá {WINDOWS_MAX_PATH} ký tự mà Windows cho phép"
    return None


# One run's outputs, replaced together --------------------------------------------

_current: contextvars.ContextVar[OutputSet | None] = contextvars.ContextVar("output_set", default=None)


class OutputSet:
    """Every output of one run, written to temporaries and put in place together by ``commit``.

    The merged workbook, the CSV log, the HTML page and the feedback copies
    must agree: when one cannot be replaced (Excel holds it open, so
    ``os.replace`` onto it fails on Windows) none is, and the previous set
    stays as it was. A context variable makes ``atomic_target`` stage into
    the set; a forked child (the workbook writer) inherits it and names its
    temporary the same way, so the parent adopts it by name.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.root = os.path.abspath(folder)
        self.token = secrets.token_hex(4)
        self.pid = os.getpid()  # a forked child (the workbook writer) has another
        self._staged_count = 0
        self.staged: dict[Path, Path] = {}  # target → its complete temporary
        self.removed: list[Path] = []  # outputs of an earlier run to remove with the replacement
        self._reset: contextvars.Token | None = None
        # journals of earlier runs whose undoing failed: their backups are the only copies left
        self.pending: dict[Path, list[Path]] = {}

    def __enter__(self) -> OutputSet:
        self.folder.mkdir(parents=True, exist_ok=True)
        # a run killed while replacing its set: the previous set comes back
        self.pending = _recover(self.folder)
        # under the lock: whatever temporaries are here, their run is dead (backups still owed excepted)
        _sweep_all(self.folder, {b for backups in self.pending.values() for b in backups})
        self._reset = _current.set(self)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._reset is not None:
            _current.reset(self._reset)
        self.discard()

    def holds(self, path: Path) -> bool:
        return os.path.abspath(path).startswith(self.root + os.sep)

    def _staging_name(self, path: Path) -> Path:
        """A temporary of its own for each staged file: two names may share a tag (six hex digits of
        a hash), and two feedback copies would then share one temporary. Only the forked child's
        is the fixed name ``adopt`` looks for; it writes one file."""
        if os.getpid() != self.pid:
            return temp_path(path, self.token)
        self._staged_count += 1
        return temp_path(path, f"{self.token}-{self._staged_count}")

    @contextmanager
    def stage(self, path: Path) -> Iterator[Path]:
        tmp = _claim(self._staging_name(path))
        try:
            yield tmp
            os.chmod(tmp, 0o666 & ~_umask())
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        self.staged[path] = tmp

    def adopt(self, path: Path) -> None:
        """Take into the set what a forked child wrote for ``path``."""
        tmp = temp_path(path, self.token)
        if tmp.exists():
            self.staged[path] = tmp

    def discard(self) -> None:
        for tmp in self.staged.values():
            tmp.unlink(missing_ok=True)
        self.staged.clear()

    def commit(self) -> None:
        """Put every staged file in place, or none; raise OutputError naming the file that refused.

        A journal lists what is being moved; it is removed the moment the whole
        set is in place (before the backups go), so a run killed halfway is
        undone by the next one (``_recover``).
        """
        order = sorted(self.staged, key=lambda p: (len(p.parts), str(p)))  # the district's files first
        for target in order:
            _check_free(target)
        journal = self.folder / f"{TEMP_PREFIX}{self.token}{JOURNAL_SUFFIX}"
        plan = [(target, temp_path(target, self.token, BACKUP_SUFFIX) if os.path.lexists(target) else None)
                for target in [*order, *self.removed]]
        # names relative to the journal's folder: the next run may start elsewhere or name it absolutely
        journal.write_text(json.dumps([[os.path.relpath(t, self.folder), b and os.path.relpath(b, self.folder)]
                                       for t, b in plan]), encoding="utf-8")
        done: list[tuple[Path, Path | None, Path | None]] = []  # (target, its backup, the new file's temp)
        try:
            for target in order:
                failing = target
                done.append((target, _set_aside(target, self.token), self.staged[target]))
                os.replace(self.staged[target], target)
            for path in self.removed:
                failing = path
                done.append((path, _set_aside(path, self.token), None))
        except BaseException as exc:  # Ctrl+C too: the set must not stay half replaced
            complete = _roll_back(done)
            if complete:  # else the journal stays: the next run finishes the undoing (_recover)
                journal.unlink(missing_ok=True)
            if isinstance(exc, OSError):
                raise _refused(failing, exc, kept=complete) from None
            raise
        journal.unlink()  # the new set is in place: from here on there is nothing to undo
        self.staged.clear()
        for _, backup, _ in done:
            if backup is not None:
                backup.unlink(missing_ok=True)
        self._forget_pending()

    def _forget_pending(self) -> None:
        """A whole new set is in place: what an earlier run still owed to put back is outdated."""
        for journal, backups in self.pending.items():
            for backup in backups:
                backup.unlink(missing_ok=True)
            journal.unlink(missing_ok=True)
        self.pending = {}


def _check_free(target: Path) -> None:
    """Refuse early a target another program holds open for writing (Excel on Windows)."""
    if not target.exists():
        return
    try:
        with open(target, "ab"):
            pass
    except OSError as exc:
        raise _refused(target, exc) from None


def _set_aside(target: Path, token: str) -> Path | None:
    """Move the previous file out of the way, kept until the whole set is in place."""
    if not os.path.lexists(target):
        return None
    backup = temp_path(target, token, BACKUP_SUFFIX)
    os.replace(target, backup)
    return backup


def _roll_back(done: list[tuple[Path, Path | None, Path | None]]) -> bool:
    """Put back what ``commit`` moved; whether all of it went back (else the journal must stay)."""
    complete = True
    for target, backup, _ in reversed(done):
        try:
            if backup is not None and backup.exists():
                os.replace(backup, target)
            elif backup is None:
                target.unlink(missing_ok=True)  # new in this set: there was nothing before
        except OSError:
            complete = False
    return complete


def os_reason(exc: OSError) -> str:
    """Why the system refused, in Vietnamese (its own text is English on most computers)."""
    import errno  # here: only a refused replacement needs it

    reasons = {errno.ENOSPC: "ổ đĩa đã đầy", errno.ENOENT: "không tìm thấy tệp hoặc thư mục",
               errno.EROFS: "ổ đĩa chỉ cho đọc", errno.EIO: "lỗi đọc ghi ổ đĩa",
               errno.EACCES: "không có quyền ghi"}
    return reasons.get(exc.errno or 0, f"lỗi hệ thống số {exc.errno}" if exc.errno else "lỗi hệ thống")


def _refused(path: Path, exc: OSError, kept: bool = True) -> OutputError:
    kept_text = ("Các tệp kết quả cũ được giữ nguyên" if kept else
                 "Một số tệp kết quả cũ chưa đặt lại được; lần chạy sau sẽ tự đặt lại")
    if isinstance(exc, PermissionError):
        return OutputError(
            f"Không thay được tệp kết quả “{path}” vì tệp đang mở (thường là trong Excel). "
            f"Đóng tệp {path.name} trong Excel rồi chạy lại. {kept_text}."
        )
    return OutputError(
        f"Không thay được tệp kết quả “{path}” ({os_reason(exc)}). "
        f"{kept_text}; kiểm tra ổ đĩa rồi chạy lại."
    )


def _read_journal(journal: Path) -> list[tuple[Path, Path | None]]:
    """(target, its backup or None) of each file a journal lists, its names taken relative to the
    journal's folder. An entry naming anything outside that folder is left out: recovery acts on
    the output folder only, whatever a damaged or planted journal says."""
    root = os.path.abspath(journal.parent)

    def inside(name: object) -> Path | None:
        if not isinstance(name, str) or not name:
            return None
        full = os.path.normpath(os.path.join(root, name))
        return Path(full) if full.startswith(root + os.sep) else None

    try:
        plan = json.loads(journal.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    entries = []
    for entry in plan if isinstance(plan, list) else ():
        if not (isinstance(entry, list) and len(entry) == 2):
            continue
        target, backup = inside(entry[0]), None if entry[1] is None else inside(entry[1])
        if target is not None and (entry[1] is None or backup is not None):
            entries.append((target, backup))
    return entries


def _recover(folder: Path) -> dict[Path, list[Path]]:
    """Undo the half-done replacement of a run that died during ``commit`` (its journal is still here).

    A journal whose undoing fails again (the file still held) stays, with its backups: they are the
    only copies of the previous outputs. Return those journals and the backups they still need.
    """
    pending: dict[Path, list[Path]] = {}
    for journal in folder.glob(f"{TEMP_PREFIX}*{JOURNAL_SUFFIX}"):
        owed = []
        for target, backup in _read_journal(journal):
            try:
                if backup is None:
                    target.unlink(missing_ok=True)  # new in that set: there was nothing before
                elif os.path.exists(backup):
                    os.replace(backup, target)
            except OSError:
                if backup is not None:
                    owed.append(backup)
        if owed:
            pending[journal] = owed
        else:
            journal.unlink(missing_ok=True)
    return pending


def _sweep_all(folder: Path, keep: set[Path] | None = None) -> None:
    """Every temporary and backup of ours under ``folder``, whatever its age (only under the lock),
    except the backups in ``keep`` that a journal still needs."""
    kept = {os.path.abspath(p) for p in keep or ()}
    for dirpath, _, names in os.walk(folder):
        for name in names:
            if os.path.abspath(os.path.join(dirpath, name)) in kept:
                continue
            if _is_ours(name) or _is_old_style(name):
                try:
                    os.unlink(os.path.join(dirpath, name))
                except OSError:
                    continue
