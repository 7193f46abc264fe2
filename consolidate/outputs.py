"""Where a run's results go and under which names."""

from __future__ import annotations

from pathlib import Path

from . import background
from .feedback import check_feedback_folder, feedback_dir, plan_feedback, write_feedback
from .html_summary import write_html_summary
from .log_writer import write_log_csv
from .pipeline import RunResult
from .workbook_writer import write_workbook


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
        "workbook": out / f"tong-hop-{code}.xlsx",
        "log": out / f"nhat-ky-loi-{code}.csv",
        "html": out / f"tong-hop-{code}.html",
    }


def write_outputs(result: RunResult, out: Path) -> Outputs:
    """Write every output: the merged workbook and the HTML page on the other core, while the log
    and the units' feedback copies are written here (the two halves take about as long)."""
    check_feedback_folder(result, out)  # before anything is written
    paths = output_paths(result, out)
    plan = plan_feedback(result, out)
    planned = [copy.target for copy in plan]

    def workbook_and_page() -> None:
        write_html_summary(result, paths["html"], planned)  # first: its memory is back before the workbook's peak
        write_workbook(result, paths["workbook"])

    other_core_done = background.start(workbook_and_page)
    try:
        write_log_csv(result.problems, paths["log"])
        feedback = write_feedback(result, out, plan)
    finally:
        other_core_done()  # its error, if any, is the run's error; never leave the child behind
    if feedback != planned:  # a copy could not be made: the page must not link to it
        write_html_summary(result, paths["html"], feedback)
    return Outputs(paths, feedback, feedback_dir(out))
