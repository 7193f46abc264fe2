"""One run at a time in an output folder: a lock file that a second run waits on.

A lock file created exclusively works on every system; an OS lock held on it
(fcntl on POSIX, msvcrt on Windows, each imported only where it exists) tells a
run that died from one still working, whatever its process number became.

A stale lock (its run died) is removed under a guard, a second file created exclusively,
and judged again there: two runs that found the same stale lock both removed it, the
second one removing the lock the first had just created, and both ran (2 to 5 times in 10).
The owner removes its own lock under the same guard.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from .files import STALE_AGE, OutputError

LOCK_NAME = ".consolidate.lock"
LOCK_WAIT = 30.0  # seconds a second run waits for the first before it gives up
LOCK_POLL = 0.25
# A lock older than this is stale whatever its process number says: runs take minutes, and the number
# of a run that died may since belong to another process.
LOCK_MAX_AGE = 6 * 3600
LOCK_BYTE = 1 << 30  # the byte locked on Windows, past the text so that others can still read it
GUARD_SUFFIX = ".guard"  # .consolidate.lock.guard: held while a lock file is removed
GUARD_MAX_AGE = 10.0  # seconds; a guard is held for milliseconds, an older one was left by a run that died
GUARD_POLL = 0.005
GUARD_WAIT = 2.0  # how long the owner waits to remove its own lock (a takeover holds the guard for milliseconds)


@contextmanager
def output_lock(folder: Path, wait: float | None = None) -> Iterator[None]:
    """Hold ``folder`` for this run: a second run waits for the first, then says it is busy.

    A lock file created exclusively (works on Windows too, where there is no
    fcntl); a lock left by a run that died (its process is gone) is taken over.
    The open lock file also holds an OS lock, which the OS releases when the
    process dies however it dies: that, not the process number, says a run is gone.
    """
    folder.mkdir(parents=True, exist_ok=True)
    lock = folder / LOCK_NAME
    deadline = time.monotonic() + (LOCK_WAIT if wait is None else wait)
    while True:
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            break
        except FileExistsError:
            if _stale(lock) and _remove_stale(lock):
                continue
            if time.monotonic() >= deadline:
                raise OutputError(
                    f"Thư mục {folder} đang được một lần chạy khác sử dụng ({_holder(lock)}). "
                    "Chờ lần chạy đó xong rồi chạy lại."
                ) from None
            time.sleep(LOCK_POLL)
    mine = {"pid": os.getpid(), "host": socket.gethostname(), "time": dt.datetime.now().isoformat(timespec="seconds"),
            "os_lock": False}
    try:
        try:
            mine["os_lock"] = _os_lock(fd)
        except OSError:  # a file system without locks (some network shares): the process number decides
            pass
        os.write(fd, json.dumps(mine).encode("utf-8"))
        yield
    finally:
        os.close(fd)  # releases the OS lock; Windows removes no file still open
        with _guard(lock, GUARD_WAIT):  # not had (a run died holding it): removed all the same, as before
            if _read_lock(lock) == mine:
                lock.unlink(missing_ok=True)


def _remove_stale(lock: Path) -> bool:
    """Remove ``lock`` if it is still stale once this run holds the guard; whether it was removed.

    Judged again under the guard: another run may have removed the stale lock and created its own
    since this one looked, and that lock must stay."""
    with _guard(lock) as held:
        if held and _stale(lock):
            lock.unlink(missing_ok=True)
            return True
    return False


@contextmanager
def _guard(lock: Path, wait: float = 0.0) -> Iterator[bool]:
    """Hold the guard of ``lock`` (a file created exclusively), waiting up to ``wait`` seconds;
    yield whether it is held. A guard older than GUARD_MAX_AGE was left by a run that died."""
    guard = lock.with_name(lock.name + GUARD_SUFFIX)
    deadline = time.monotonic() + wait
    fd = None
    while fd is None:
        try:
            fd = os.open(guard, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                abandoned = time.time() - guard.stat().st_mtime > GUARD_MAX_AGE
            except OSError:
                abandoned = False  # just released: try again
            if abandoned:
                try:
                    guard.unlink(missing_ok=True)
                    continue
                except OSError:
                    break
            if time.monotonic() >= deadline:
                break
            time.sleep(GUARD_POLL)
        except OSError:  # a folder that refuses the file: no guard to be had
            break
    if fd is None:
        yield False
        return
    try:
        yield True
    finally:
        os.close(fd)
        guard.unlink(missing_ok=True)


def _os_lock(fd: int) -> bool:
    """Take the OS's lock on the open lock file, without waiting; whether there is one to take.

    The modules are imported here: msvcrt exists only on Windows, fcntl only elsewhere.
    """
    try:
        import msvcrt  # Windows only: msvcrt exists nowhere else
    except ImportError:
        msvcrt = None
    if msvcrt is not None:
        os.lseek(fd, LOCK_BYTE, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        finally:
            os.lseek(fd, 0, os.SEEK_SET)
        return True
    try:
        # POSIX only: fcntl does not exist on Windows, so it is never imported at module level
        import fcntl
    except ImportError:  # neither (the Windows-like test run): the process number and the age decide
        return False
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return True


def _os_lock_free(lock: Path) -> bool | None:
    """Whether no process holds the OS lock on ``lock`` (then its run is gone); None if unknown."""
    try:
        fd = os.open(lock, os.O_RDWR)
    except OSError:
        return None
    try:
        return _os_lock(fd)
    except OSError:  # held: BlockingIOError here, PermissionError from msvcrt
        return False
    finally:
        os.close(fd)


def _read_lock(lock: Path) -> dict | None:
    try:
        return json.loads(lock.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _holder(lock: Path) -> str:
    found = _read_lock(lock) or {}
    return f"máy {found.get('host', '?')}, tiến trình {found.get('pid', '?')}, từ {found.get('time', '?')}"


def _stale(lock: Path) -> bool:
    """Whether the run that holds ``lock`` is gone."""
    found = _read_lock(lock)
    try:
        age = time.time() - lock.stat().st_mtime
    except OSError:
        return False  # just removed: try again
    if not isinstance(found, dict) or not isinstance(found.get("pid"), int):
        return age > 10  # still being written, or garbage left by a crash
    if found.get("host") != socket.gethostname():
        return age > STALE_AGE  # another computer on a shared folder: cannot ask it
    if age > LOCK_MAX_AGE:
        return True
    if found.get("os_lock") is True:
        free = _os_lock_free(lock)
        if free is not None:
            return free
    return not _alive(found["pid"])


def _alive(pid: int) -> bool:
    if sys.platform == "win32":  # os.kill(pid, 0) would terminate the process on Windows
        import ctypes  # only on Windows (start-up elsewhere)

        # use_last_error: ctypes keeps the error of this call; GetLastError() later may see another's
        kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]
        kernel32.OpenProcess.restype = ctypes.c_void_p  # a handle: pointer-sized, not an int
        kernel32.GetExitCodeProcess.argtypes = (ctypes.c_void_p, ctypes.POINTER(ctypes.c_ulong))
        kernel32.CloseHandle.argtypes = (ctypes.c_void_p,)
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return ctypes.get_last_error() == 5  # type: ignore[attr-defined]  # access denied: it exists
        try:
            code = ctypes.c_ulong()
            kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
            return code.value == 259  # STILL_ACTIVE
        finally:
            kernel32.CloseHandle(handle)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
