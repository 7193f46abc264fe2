"""Run one piece of work on the other core: a forked child that shares the run's result for free.

The merged workbook (XlsxWriter, pure Python) is the largest single output step;
the CSV log, the feedback copies and the HTML page do not depend on it. A forked
child sees the finished RunResult without copying or pickling it, writes its file
atomically like any other writer, and hands back its return value or its
exception, so a failure there is the run's failure exactly as before.
"""

from __future__ import annotations

import gc
import os
import pickle
import sys
import threading
from typing import Callable, TypeVar

T = TypeVar("T")


class ChildDied(RuntimeError):
    """The child ended without a result (killed, out of memory)."""


def start(work: Callable[[], T]) -> Callable[[], T]:
    """Begin ``work()``; the returned function waits for it and returns its value or raises its error.

    Without fork (Windows) the work is simply done here, now; its error is still raised by the
    returned function, not here, so the caller's other work goes on as it does with a child.
    (A spawned process would have to be sent the whole run's result, pickled: slower than this.)
    The same where other threads run (``consolidate serve``): a forked child inherits any lock one
    of them held at that instant, held forever.
    """
    if not hasattr(os, "fork") or threading.active_count() > 1:
        try:
            value = work()
        except Exception as exc:  # noqa: BLE001 - raised at join, as the child's would be; Ctrl+C is not held back
            error = exc

            def fail() -> T:
                raise error

            return fail
        return lambda: value
    sys.stdout.flush()
    sys.stderr.flush()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: do the work, send the outcome, leave without running the parent's exit handlers
        os.close(read_end)
        # Short-lived, and what it builds (cell tuples) holds no cycles: the cycle collector would
        # only walk the parent's inherited objects again and again (a third of the workbook's time
        # at N = 10,000) and, by touching them, copy their memory pages. Refcounting still frees.
        gc.disable()
        try:
            outcome = (True, work())
        except BaseException as exc:  # noqa: BLE001 - handed to the parent, which raises it
            outcome = (False, exc)
        try:
            payload = pickle.dumps(outcome)
        except Exception as exc:  # an unpicklable value or exception: its text still goes back
            payload = pickle.dumps((False, ChildDied(f"{type(exc).__name__}: {exc}; {outcome[1]!r}")))
        with os.fdopen(write_end, "wb") as fh:
            fh.write(payload)
        os._exit(0)

    os.close(write_end)

    def join() -> T:
        with os.fdopen(read_end, "rb") as fh:
            payload = fh.read()
        _, status = os.waitpid(pid, 0)
        if not payload:
            raise ChildDied(f"tiến trình con dừng đột ngột (mã {os.waitstatus_to_exitcode(status)})")
        ok, value = pickle.loads(payload)
        if ok:
            return value
        raise value

    return join
