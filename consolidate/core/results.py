"""What a run found: each inbox file, each unit's status and the result the writers write from."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from . import problems as P
from .consolidation import Consolidated
from .records import Submission
from .registry import Registry, ReportSettings

REPORTED, MISSING, UNUSABLE = "reported", "missing", "unusable"
STATUS_LABELS = {REPORTED: "Đã báo cáo", MISSING: "Chưa báo cáo", UNUSABLE: "Báo cáo không dùng được"}


@dataclass
class InboxFile:
    path: Path
    name: str  # relative to the inbox, as the clerk sees it
    size: int
    mtime: float
    kind: str = ""  # what the bytes say it is (formats.sniff)
    refused: P.Problem | None = None  # not read, and why (a link leading outside, a folder that will not open)
    renamed: P.Problem | None = None  # the note that its real name could not be shown as it is


@dataclass
class UnitStatus:
    state: str  # REPORTED, MISSING or UNUSABLE
    file: str = ""  # the file used, or the file that could not be used
    note: str = ""

    @property
    def label(self) -> str:
        return STATUS_LABELS[self.state]


@dataclass
class HistoryView:
    """What the history store says about this run: the period its figures are recorded under, the stored
    period before it and that period's figures, and each indicator's district value over the periods."""

    period: str
    store: str = ""  # the store's path or URL (without a password), for messages
    previous_period: str | None = None
    previous: dict[tuple[str, str, str, str], float] = field(default_factory=dict)  # (unit code, form, item, field) → value
    trends: dict[str, list[tuple[str, float]]] = field(default_factory=dict)  # indicator → (period, district value), oldest first
    recorded: int | None = None  # figures this run stored; None until recorded (or when it could not be)


@dataclass
class RunResult:
    registry: Registry
    settings: ReportSettings
    files: list[InboxFile]
    submissions: list[Submission]
    problems: list[P.Problem]
    consolidated: Consolidated
    used: dict[str, str] = field(default_factory=dict)  # unit code → file name used
    status: dict[str, UnitStatus] = field(default_factory=dict)  # unit code → status
    history: HistoryView | None = None  # set when the run reads or records a history store

    @property
    def errors(self) -> list[P.Problem]:
        return [p for p in self.problems if p.severity == P.ERROR]

    @property
    def warnings(self) -> list[P.Problem]:
        return [p for p in self.problems if p.severity == P.WARNING]

    @property
    def notes(self) -> list[P.Problem]:
        return [p for p in self.problems if p.severity == P.INFO]

    def count(self, state: str) -> int:
        return sum(1 for s in self.status.values() if s.state == state)

    def registry_name(self, code: str) -> str:
        return self.registry.unit(code).name
