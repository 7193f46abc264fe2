"""What `consolidate run` tells the clerk before and within its summary: which units list and settings it used
(a sample list that the inbox does not fit, first), an empty inbox, and the problems by kind, in Vietnamese,
errors first. Kept apart from reporting.py, which owns the command itself."""

from __future__ import annotations

from pathlib import Path

from ..console import Paint, say
from ..core import problems as P
from ..core.results import RunResult
from ..settings.in_use import sources_line
from .group import COLORS, SHOWN_PROBLEMS

SAID_FIRST = {P.SampleUnitsList.code}  # said on the run's first line, not again in the list below


def print_opening(result: RunResult, inbox: Path, units_file: Path | None, config_file: Path | None) -> None:
    """The lines before the counts: the sample list that does not fit the inbox (with the command that
    makes one's own), then the units list and settings in use, then an empty inbox and how files get there."""
    for p in result.problems:
        if p.code in SAID_FIRST:
            say(f"Chú ý: {p.message} {p.how_to_fix}", fg="yellow", bold=True)
    say(sources_line(result.registry, units_file, config_file))
    if not result.files:
        say(f"Thư mục {inbox} trống: chưa có tệp báo cáo nào. Chép các tệp báo cáo nhận được (thư điện tử, "
                    "Zalo, USB…) vào thư mục này, hoặc chạy “consolidate serve” để các đơn vị tự gửi qua trình duyệt; "
                    "rồi chạy lại lệnh này.", fg="yellow")


def kind_name(code: str) -> str:
    """A problem's kind as the clerk reads it ("Tổng số không khớp"); its code stays in the log and --json."""
    cls = P.CATALOGUE.get(code)
    return cls.title if cls is not None else code


def print_problems(result: RunResult, summary: dict) -> None:
    """The count of each kind of problem, then the first problems themselves: errors, then warnings."""
    rows = summary["by_code"]
    if rows:
        width = max(len(kind_name(row["code"])) for row in rows)
        for row in rows:
            say("  ", Paint(f"{row['label']:<9}", fg=COLORS[row["severity"]]),
                f" {kind_name(row['code']):<{width}}  {row['count']:>4}")
    listed = [p for p in P.worst_first(result.problems) if p.severity != P.INFO and p.code not in SAID_FIRST]
    for p in listed[:SHOWN_PROBLEMS]:
        where = " ".join(x for x in (p.file, f"{p.sheet}!{p.cell}" if p.cell else p.sheet) if x)
        say("  [", Paint(p.severity_label, fg=COLORS[p.severity]),
            f"] {where + ' – ' if where else ''}{p.unit + ': ' if p.unit else ''}{p.message}")
    if len(listed) > SHOWN_PROBLEMS:
        say(f"  … và {len(listed) - SHOWN_PROBLEMS} mục khác, xem nhật ký lỗi.")
