"""The server's small state: one JSON file in the output folder (tokens, uploads, downloads), written atomically.

Everything else the server knows lives in the inbox itself. The file is re-read whenever it changed on
disk, so ``consolidate links --renew`` run beside a running server takes effect at once, and every
change is read-modify-write under one lock (a thread lock, and an OS lock on a lock file beside the state
that ``links`` in another process takes too, so neither undoes the other's change), then fsync'ed and put
in place with os.replace: a server killed at any moment leaves the old state or the new one, never half
of each. Readable only by the
clerk's account where the OS allows it (POSIX permissions; Windows keeps the folder's own ACL).
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
import os
import secrets
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

try:  # the OS lock on the lock file: fcntl on POSIX, msvcrt on Windows (each exists only there)
    import fcntl
except ImportError:
    fcntl = None
try:
    import msvcrt
except ImportError:
    msvcrt = None

STATE_NAME = "may-chu-nhan-bao-cao.json"  # in --out; a run writes only its own outputs and never removes this
PRIVATE = 0o600
TOKEN_BYTES = 24  # 192 bits, URL-safe: a link cannot be guessed
REPLACE_TRIES = 20  # Windows refuses os.replace while another process has the file open for a moment
LOCK_SUFFIX = ".lock"  # beside the state: held while one process changes it
LOCK_WAIT = 30.0  # seconds a change waits for another process's (each takes milliseconds)


class StateError(ValueError):
    """The state file cannot be used (changed by hand, damaged); the message says what to do, in Vietnamese."""


@contextmanager
def os_lock(path: Path, wait: float = LOCK_WAIT) -> Iterator[None]:
    """Hold the OS's lock on ``path`` (made if missing), against other processes; released when the process dies.
    OSError after ``wait`` seconds. Where the OS or the file system has no such lock (some network shares),
    only this process's own lock applies."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0), PRIVATE)
    deadline = time.monotonic() + wait
    held = False
    try:
        while True:
            try:
                held = _take(fd)
                break
            except (BlockingIOError, PermissionError):  # held by another process (PermissionError from msvcrt)
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.01)
            except OSError:  # no locks here (ENOLCK, EOPNOTSUPP on a network share): the thread lock only
                break
        try:
            yield
        finally:
            if held:
                _give_back(fd)
    finally:
        os.close(fd)


def _take(fd: int) -> bool:
    """The OS lock on ``fd`` without waiting; whether the OS has one. OSError when another process holds it."""
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    if msvcrt is not None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        return True
    return False


def _give_back(fd: int) -> None:
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_UN)
    elif msvcrt is not None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def utc_now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def make_private(path: Path) -> None:
    """Owner read/write only, where the OS has such permissions (on Windows chmod only sets read-only)."""
    if os.name == "nt":
        return
    try:
        os.chmod(path, PRIVATE)
    except OSError:
        pass


def write_atomically(path: Path, data: bytes) -> None:
    """``data`` at ``path``, whole or not at all, and on disk before this returns (a "received" must survive)."""
    tmp = path.with_name(f"{path.name}.{secrets.token_hex(4)}.part")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), PRIVATE)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        make_private(tmp)
        replace_patiently(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink(missing_ok=True)


def replace_patiently(source: Path, target: Path) -> None:
    """os.replace, tried again for a second while Windows refuses it (an antivirus scanning the new file, another
    process reading the old one hold them open a moment); the last PermissionError if it never works."""
    for attempt in range(REPLACE_TRIES):
        try:
            os.replace(source, target)
            return
        except PermissionError:
            if attempt == REPLACE_TRIES - 1:
                raise
            time.sleep(0.05)


class ServerState:
    """Tokens (the clerk's, one per unit), each unit's uploads and its downloads of feedback copies."""

    def __init__(self, folder: Path) -> None:
        self.path = Path(folder) / STATE_NAME
        self._lock = threading.RLock()
        self._data: dict = {}
        self._seen: tuple[int, int] | None = None

    # Reading and writing the file -------------------------------------------------

    def _stamp(self) -> tuple[int, ...] | None:
        """What tells a new file from the one last read: os.replace makes a new file (a new inode), whose size
        and time may equal the old one's (a renewed token has the same length; a coarse clock the same time)."""
        try:
            st = self.path.stat()
        except OSError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def _fresh(self, reread: bool = False) -> dict:
        """The state as the file holds it now (re-read when it changed, or always with ``reread``)."""
        stamp = self._stamp()
        if reread or stamp != self._seen:
            try:
                self._data = json.loads(self.path.read_text(encoding="utf-8")) if stamp else {}
            except (ValueError, UnicodeDecodeError):
                raise StateError(
                    f"Tệp trạng thái máy chủ {self.path} bị hỏng hoặc đã bị sửa tay. Chép lại tệp này từ bản sao lưu; "
                    "nếu không có, xóa nó rồi chạy lại lệnh (mọi đơn vị sẽ được cấp đường liên kết mới).") from None
            if not isinstance(self._data, dict):
                self._data = {}
            self._seen = stamp
        self._data.setdefault("secret", "")
        self._data.setdefault("clerk", "")
        for key in ("units", "uploads", "downloads"):
            self._data.setdefault(key, {})
        return self._data

    def _save(self, data: dict) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(self.path, json.dumps(data, ensure_ascii=False, indent=1).encode("utf-8"))
        self._data, self._seen = data, self._stamp()

    @contextmanager
    def _changing(self) -> Iterator[dict]:
        """The state, read afresh under this process's lock and the OS lock, to change and then ``_save``."""
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with os_lock(self.path.with_name(self.path.name + LOCK_SUFFIX)):
                try:
                    yield self._fresh(reread=True)
                except BaseException:
                    self._seen = None  # a change not saved: forget it, the file says what is
                    raise

    def snapshot(self) -> dict:
        with self._lock:
            return json.loads(json.dumps(self._fresh()))

    # Tokens ------------------------------------------------------------------------

    def ensure(self, codes: list[str]) -> list[str]:
        """A secret, a clerk's token and a token for every unit in ``codes`` that has none; the codes given one."""
        with self._changing() as data:
            made = [code for code in codes if code not in data["units"]]
            if made or not data["secret"] or not data["clerk"]:
                data["secret"] = data["secret"] or secrets.token_hex(32)
                data["clerk"] = data["clerk"] or new_token()
                for code in made:
                    data["units"][code] = new_token()
                self._save(data)
            else:
                make_private(self.path)
            return made

    def renew(self, code: str) -> str:
        """A new token for one unit; its old link stops working at once."""
        with self._changing() as data:
            data["units"][code] = new_token()
            self._save(data)
            return data["units"][code]

    def renew_clerk(self) -> str:
        """A new token for the clerk's page; the old clerk's link stops working at once."""
        with self._changing() as data:
            data["clerk"] = new_token()
            self._save(data)
            return data["clerk"]

    def unit_token(self, code: str) -> str:
        with self._lock:
            return self._fresh()["units"].get(code, "")

    def clerk_token(self) -> str:
        with self._lock:
            return self._fresh()["clerk"]

    def secret(self) -> bytes:
        with self._lock:
            return self._fresh()["secret"].encode("ascii")

    def unit_for(self, token: str) -> str | None:
        """The unit whose link carries ``token``; every token is compared, in constant time."""
        with self._lock:
            units = dict(self._fresh()["units"])
        found = None
        for code, known in units.items():
            if hmac.compare_digest(known.encode(), token.encode()):
                found = code
        return found

    def is_clerk(self, token: str) -> bool:
        clerk = self.clerk_token()
        return bool(clerk) and hmac.compare_digest(clerk.encode(), token.encode())

    def base_url(self) -> str:
        """The start of the links last written (serve's --base-url), for ``consolidate links`` to reuse."""
        with self._lock:
            return self._fresh().get("base_url", "")

    def set_base_url(self, url: str) -> None:
        with self._changing() as data:
            if data.get("base_url") != url:
                data["base_url"] = url
                self._save(data)

    # Uploads and downloads -------------------------------------------------------------

    def add_upload(self, code: str, entry: dict) -> None:
        """``entry`` recorded for ``code``; it replaces an entry of the same file (one recorded at a start that
        found it in the inbox unrecorded, reconcile.py, a moment before this upload's own record)."""
        with self._changing() as data:
            kept = [e for e in data["uploads"].get(code, []) if e.get("file") != entry.get("file")]
            data["uploads"][code] = [*kept, entry]
            self._save(data)

    def add_unrecorded(self, found: dict[str, list[dict]]) -> list[str]:
        """The entries of ``found`` (unit → entries) whose file no unit's record names yet, recorded in one change;
        the files recorded. Checked under the lock: a file recorded meanwhile is not recorded twice."""
        with self._changing() as data:
            known = {e.get("file") for entries in data["uploads"].values() for e in entries}
            added = []
            for code, entries in found.items():
                new = [e for e in entries if e["file"] not in known]
                if new:
                    data["uploads"][code] = sorted([*data["uploads"].get(code, []), *new], key=lambda e: e.get("at", ""))
                    added += [e["file"] for e in new]
            if added:
                self._save(data)
            return added

    def uploads(self, code: str) -> list[dict]:
        with self._lock:
            return [dict(e) for e in self._fresh()["uploads"].get(code, [])]

    def add_download(self, code: str, file: str) -> None:
        with self._changing() as data:
            # the latest download of each copy only: a unit pressing the link again and again grows nothing
            taken = [d for d in data["downloads"].get(code, []) if d.get("file") != file]
            data["downloads"][code] = [*taken, {"file": file, "at": utc_now()}]
            self._save(data)

    def downloads(self) -> dict[str, list[dict]]:
        with self._lock:
            return {code: list(entries) for code, entries in self._fresh()["downloads"].items()}
