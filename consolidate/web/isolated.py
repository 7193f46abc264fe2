"""The upload's check in a worker process: a slow or huge file cannot stall or exhaust the server.

What ``consolidate check`` does to a file (app.check, then the annotated copy) runs in a spawned worker,
never a forked one (a fork of a threaded server inherits locks that another thread held, held forever;
Windows has no fork), within a time limit and, where the OS offers one (POSIX ``resource``; not Windows),
a cap on its memory. A worker that takes too long is killed; one that dies (out of memory, a reader
crashing) or fails is replaced; either way the caller gets CheckStopped, and the server's threads go on
answering everyone else. Workers stay warm between uploads (a new one takes a second or two to import the
checks), at most WORKERS of them, each one check at a time; the results are the same objects the check
returns in the server's own process, pickled back.
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
import signal
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

from .. import app
from ..core import problems as P
from ..core.registry import Registry, ReportSettings
from ..read.calamine_worker import limit_memory

CHECK_SECONDS = 60.0  # one upload's check; a report takes well under a second
START_SECONDS = 120.0  # a new worker importing the checks, on a slow office PC with an antivirus scanning each file
MEMORY = 1 << 30  # bytes of address space of a worker: ~0.2 GB once warm, ~0.3 GB at the peak of a 9 MB report
WORKERS = 2  # checks at once in workers; more uploads wait their turn (each ~100 MB of memory while it lives)
RANK = {P.ERROR: 0, P.WARNING: 1, P.INFO: 2}
WARM = ("consolidate.checks.validate", "consolidate.write.feedback.patched")  # what a check imports on first use
# One thread for numpy's linear algebra: a check has no use for more, and each thread's buffers would count
# against the worker's memory cap (dozens of them on a many-core machine).
ONE_THREAD = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


TIMED_OUT, DIED, NOT_STARTED = "timed out", "died", "not started"


class CheckStopped(Exception):
    """The check did not finish: it ran past its time, its worker died or failed, or no worker could start."""

    def __init__(self, why: str, seconds: float = 0.0) -> None:
        super().__init__(why)
        self.why = why
        self.seconds = seconds


@dataclass
class Checked:
    """One upload's check as the worker hands it back: the units its Biểu mẫu 1 names (codes), what was found
    (errors first), and whether the annotated copy was written."""

    matched: list[str]
    problems: list[P.Problem]
    made_copy: bool


def check_upload(path: Path, copy: Path, registry: Registry, settings: ReportSettings) -> Checked:
    """In a worker: ``consolidate check``'s findings for the file at ``path``, and its annotated copy at ``copy``
    (written whatever the caller then decides; the caller keeps it only for an upload it saves)."""
    ((sub, found),) = app.check([path], registry, settings)
    found = sorted(found, key=lambda p: RANK[p.severity])
    sub.checked_bytes = path.read_bytes()
    try:
        made = app.feedback_copy(sub, found, copy)
    except OSError:  # a full disk: the upload itself still counts, without its copy
        made = False
    return Checked(list(sub.matched.values()), found, made)


def serve(conn: Any, memory: int) -> None:
    """A worker's life: silent, warm, then capped (the imports are the same for every file: they never fail
    for the cap); then one (function, arguments) at a time from ``conn``, answered ("done", value) or
    ("failed", the error's name), until the server closes its end or sends None."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is the server's to handle: it stops its workers
    devnull = os.open(os.devnull, os.O_WRONLY)  # nothing a dying worker prints reaches the clerk's terminal
    os.dup2(devnull, 2)
    os.close(devnull)
    for name in ONE_THREAD:
        os.environ.setdefault(name, "1")
    for name in WARM:
        importlib.import_module(name)
    limit_memory(memory)
    conn.send(("ready", None))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):  # the server has gone
            return
        if message is None:
            return
        work, args = message
        try:
            answer = ("done", work(*args))
        except BaseException as exc:  # noqa: BLE001 - MemoryError under the cap, a bug: told, and this worker ends
            answer = ("failed", type(exc).__name__)
        try:
            conn.send(answer)
        except Exception:  # noqa: BLE001 - an answer that cannot be pickled or sent: the server sees the pipe close
            return
        if answer[0] == "failed":
            return


class Worker:
    """One spawned worker and the server's end of its pipe."""

    def __init__(self, memory: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.conn, theirs = context.Pipe()
        self.process = context.Process(target=serve, args=(theirs, memory), name="consolidate-kiem-tra", daemon=True)
        with _ctrl_c_ignored():
            self.process.start()
        theirs.close()
        self.ready = False

    def call(self, work: Callable, args: tuple, seconds: float) -> Any:
        """``work(*args)`` in this worker; CheckStopped if it takes over ``seconds`` or the worker dies or fails."""
        try:
            if not self.ready:
                if not self.conn.poll(START_SECONDS) or self.conn.recv()[0] != "ready":
                    raise CheckStopped(NOT_STARTED)
                self.ready = True
            self.conn.send((work, args))
            if not self.conn.poll(seconds):
                raise CheckStopped(TIMED_OUT, seconds)
            status, value = self.conn.recv()
        except (EOFError, OSError):  # the worker died (killed for its memory, a crash in a reader; or while starting)
            raise CheckStopped(DIED if self.ready else NOT_STARTED) from None
        if status != "done":
            raise CheckStopped(DIED)
        return value

    def stop(self) -> None:
        """Ended now, whatever it was doing."""
        try:
            self.process.kill()
            self.process.join(5)
        except (OSError, ValueError, AssertionError):  # already gone, or never started
            pass
        self.conn.close()


class Workers:
    """Up to ``size`` warm workers, shared by the server's threads: one check at a time in each."""

    def __init__(self, size: int = WORKERS, memory: int = MEMORY) -> None:
        self.size, self.memory = size, memory
        self._idle: list[Worker] = []
        self._busy = 0
        self._turn = threading.Condition()

    def warm(self) -> None:
        """One worker started now (the server's start), so that the first upload does not wait for its imports."""
        with self._turn:
            if self._idle or self._busy:
                return
            self._idle.append(Worker(self.memory))

    def call(self, work: Callable, args: tuple, seconds: float = CHECK_SECONDS) -> Any:
        """``work(*args)`` in a worker, waiting for a free one; CheckStopped when it does not finish."""
        worker = self._take()
        try:
            value = worker.call(work, args, seconds)
        except BaseException:
            worker.stop()  # half way through something: never used again
            worker = None
            raise
        finally:
            self._give_back(worker)
        return value

    def stop(self) -> None:
        """Every idle worker ended (busy ones end when their check does and they find no work)."""
        with self._turn:
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.stop()

    def _take(self) -> Worker:
        with self._turn:
            while not self._idle and self._busy >= self.size:
                self._turn.wait()
            self._busy += 1
            while self._idle:
                worker = self._idle.pop()
                if worker.process.is_alive():  # not one that died while idle (killed from outside): no fault of a file
                    return worker
                worker.stop()
        try:
            return Worker(self.memory)
        except BaseException:
            self._give_back(None)
            raise

    def _give_back(self, worker: Worker | None) -> None:
        with self._turn:
            self._busy -= 1
            if worker is not None and worker.process.is_alive():
                self._idle.append(worker)
            elif worker is not None:
                worker.stop()
            self._turn.notify()


@contextmanager
def _ctrl_c_ignored() -> Iterator[None]:
    """Ctrl+C ignored while a worker starts, so that it starts ignoring it: a new Python imports the program
    before ``serve`` silences it, and a Ctrl+C meanwhile would print its traceback at the clerk. Only the main
    thread may change it (the server's start); a worker replaced later from a request's thread cannot."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


SHARED = Workers()  # one set of workers per server process, whatever the number of places (tests make many)
