"""Where a run's results go and under which names."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path
from typing import Callable

from . import background
from ..core import problems as P
from ..core.formats import LOG_PREFIX, LOG_SUFFIX, PAGE_SUFFIX, SUMMARY_PREFIX
from .feedback.patched import check_feedback_folder, feedback_dir, needs_feedback, write_feedback
from .files import OutputSet, too_long
from .lock import output_lock
from ..core.quiet import quiet_cleanup
from .html_page import write_html_summary
from .log import write_log_csv
from ..core.results import RunResult
from ..core.timings import Timings
from .workbook import write_workbook


class Outputs(dict[str, Path]):
    """The district's files by kind ("workbook", "log", "html"), plus the units' feedback copies.

    A plain dict of single paths, as before, so ``for path in outputs.values()``
    still lists the district's files; the copies are in ``feedback``.
    """

    def __init__(self, paths: dict[str, Path], feedback: list[Path], feedback_dir: Path) -> None:
        super().__init__(paths)
        self.feedback = feedback  # out/phan-hoi/<inbox file>, one per file with an error or warning
        self.feedback_dir = feedback_dir


def output_paths(result: RunResult, out: Path) -> dict[str, Path]:
    code = result.registry.root.code
    return {
        "workbook": out / f"{SUMMARY_PREFIX}{code}.xlsx",
        "log": out / f"{LOG_PREFIX}{code}{LOG_SUFFIX}",
        "html": out / f"{SUMMARY_PREFIX}{code}{PAGE_SUFFIX}",
    }


def write_outputs(result: RunResult, out: Path, timings: Timings | None = None,
                  meanwhile: Callable[[], None] | None = None) -> Outputs:
    """Write every output: the merged workbook on the other core, while the log, the units'
    feedback copies and the HTML page (which links the copies made) are written here; at
    N = 10,000 the two halves take about as long (~3.3 s each).

    One run at a time writes into ``out`` (output_lock), and every file is
    written to a temporary first: the set replaces the previous one only when
    all of it is ready, and not at all when one file cannot be replaced
    (files.OutputError, which names it). ``timings`` (if given) gets each step's duration;
    ``meanwhile`` (if given) is called after this process's outputs, before waiting for the workbook.
    """
    timings = timings or Timings()
    with timings.step("write.check_folder"):
        check_feedback_folder(result, out)  # before anything is written
    paths = output_paths(result, out)
    with _CtrlCHeld() as held, quiet_cleanup(), output_lock(out), OutputSet(out) as outputs:
        logged = {(p.file, p.code) for p in result.problems}
        result.problems.extend(p for p in _copies_not_written(result, out)  # before the workbook's child is forked
                               if (p.file, p.code) not in logged)
        started = time.perf_counter()
        workbook_written = background.start(lambda: write_workbook(result, paths["workbook"]))
        try:
            with timings.step("write.log_csv"):
                write_log_csv(result.problems, paths["log"])
            with timings.step("write.feedback"):
                feedback = write_feedback(result, out, timings)
            with timings.step("write.html"):
                write_html_summary(result, paths["html"], feedback)
            if meanwhile is not None:  # the caller's own work (recording the history) while the workbook is finished
                with timings.step("write.meanwhile"):
                    meanwhile()
        finally:
            with timings.step("write.workbook.wait"):  # what is left of the other core's work
                workbook_written()  # its error, if any, is the run's error; never leave the child behind
            timings.add("write.workbook", time.perf_counter() - started)
        outputs.adopt(paths["workbook"])
        held.hold()  # from here a Ctrl+C waits until the new set is in place (see _CtrlCHeld)
        outputs.commit()
    return Outputs(paths, feedback, feedback_dir(out))


class _CtrlCHeld:
    """Ctrl+C held back from ``hold()`` until the block ends, then raised.

    OutputSet.commit undoes a replacement that a KeyboardInterrupt stops halfway, but a second one
    during the undoing leaves it half done. Held, the set is either untouched or wholly replaced when
    the interrupt is raised, so the command can tell the clerk which (cli/reporting.py looks at the
    files). Only the main thread can hold it, and only Python's own handler is replaced (an ignored
    Ctrl+C stays ignored); an error leaving the block wins over a held Ctrl+C: its message says what
    happened to the outputs.
    """

    def __init__(self) -> None:
        self.pressed = False
        self._previous: object = None

    def __enter__(self) -> _CtrlCHeld:
        return self

    def hold(self) -> None:
        if threading.current_thread() is threading.main_thread() \
                and signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            self._previous = signal.signal(signal.SIGINT, self._press)

    def _press(self, signum: int, frame: object) -> None:
        self.pressed = True

    def __exit__(self, kind: type[BaseException] | None, *exc: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)  # type: ignore[arg-type]
            self._previous = None
        if self.pressed and kind is None:
            raise KeyboardInterrupt


def _copies_not_written(result: RunResult, out: Path) -> list[P.Problem]:
    """A log line for each feedback copy that is not made (write_feedback skips it): its name is too
    long to create, or its text so long that the copy would be huge."""
    by_file = P.by_file(result.problems)
    found = []
    for sub in result.submissions:
        logged = by_file.get(sub.name, [])
        if needs_feedback(sub, logged):
            reason = too_long(feedback_dir(out) / sub.name)
            if reason is None and any(p.code == P.TextTruncated.code for p in logged):
                # a copy keeps every character: 12,000 cells of one 1 MB string would be 12 GB
                reason = "tệp chứa quá nhiều chữ, bản sao sẽ quá lớn"
            if reason:
                found.append(P.FeedbackNotWritten(file=sub.name, reason=reason))
    return found
