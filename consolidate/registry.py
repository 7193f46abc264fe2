"""Who is expected to report, to whom, and the settings of the report they feed.

Both are data (a units table and a TOML file); the Tuy Phước report 362/UBND
ships embedded as the default so the sample inbox runs with no setup.
"""

from __future__ import annotations

import csv
import datetime as dt
import difflib
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from .text import clean, unit_key

DEFAULT_DATA = "tuy-phuoc"


@dataclass(frozen=True)
class Unit:
    code: str
    name: str
    level: str
    parent: str = ""


@dataclass
class Registry:
    """A tree of units: leaves submit templates, the root consolidates them."""

    units: list[Unit]
    _by_key: dict[str, Unit] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._by_key = {unit_key(u.name): u for u in self.units}
        bare: dict[str, list[Unit]] = {}
        for u in self.reporting_units():
            bare.setdefault(_bare(u.name), []).append(u)
        self._by_bare = {k: v[0] for k, v in bare.items() if len(v) == 1}

    @property
    def root(self) -> Unit:
        return next(u for u in self.units if not u.parent)

    def reporting_units(self) -> list[Unit]:
        """Units expected to send a submission, in the official order."""
        parents = {u.parent for u in self.units}
        return [u for u in self.units if u.code not in parents]

    def match(self, name: str) -> Unit | None:
        """The unit a typed name stands for, whatever its Unicode form or tone placement."""
        return self._by_key.get(unit_key(name))

    def match_loosely(self, name: str) -> Unit | None:
        """The one reporting unit a name means once "Xã", "Thị trấn", "UBND" are left off."""
        return self._by_bare.get(_bare(name))

    def closest(self, name: str, n: int = 3) -> list[str]:
        """Registry names closest to an unknown one, for the error message."""
        names = {unit_key(u.name): u.name for u in self.reporting_units()}
        hits = difflib.get_close_matches(unit_key(name), list(names), n=n, cutoff=0.5)
        return [names[h] for h in hits]


_PREFIXES = tuple(
    unit_key(p) + " "
    for p in ("UBND", "Ủy ban nhân dân", "Bộ phận Một cửa", "BPMC", "Xã", "X.", "Thị trấn", "TT.", "TT", "Phường", "P.")
)


def _bare(name: str) -> str:
    """A unit name without the administrative words in front of it."""
    key = unit_key(name)
    while prefix := next((p for p in _PREFIXES if key.startswith(p)), None):
        key = key[len(prefix):].strip()
    return key


@dataclass(frozen=True)
class ReportSettings:
    """What the merged workbook says about itself: title lines, number, date, periods."""

    issuer: str
    area: str
    report_number: str
    report_date: dt.date
    year: int
    form1_title: str
    form2_title: str
    period_before: str
    period_after: str
    form2_notes: tuple[str, ...] = ()
    targets: tuple[tuple[str, float], ...] = ()  # (indicator key, province target %) where known

    def target(self, indicator: str) -> float | None:
        return dict(self.targets).get(indicator)

    @property
    def attachment_line(self) -> str:
        d = self.report_date
        return (
            f"(Kèm theo Báo cáo số: {self.report_number} ngày {d.day:02d} "
            f"tháng {d.month} năm {d.year} của {self.issuer})"
        )


def load_units(path: Path) -> list[Unit]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return [
            Unit(
                code=clean(row["code"]),
                name=clean(row["name"]),
                level=clean(row.get("level")),
                parent=clean(row.get("parent")),
            )
            for row in csv.DictReader(fh)
        ]


def load_settings(path: Path) -> ReportSettings:
    with open(path, "rb") as fh:
        data = tomllib.load(fh)
    form1, form2 = data.get("form1", {}), data.get("form2", {})
    return ReportSettings(
        issuer=data["issuer"],
        area=data["area"],
        report_number=data["report_number"],
        report_date=data["report_date"],
        year=int(data["year"]),
        form1_title=form1["title"],
        form2_title=form2["title"],
        period_before=form2["period_before"],
        period_after=form2["period_after"],
        form2_notes=tuple(form2.get("notes", ())),
        targets=tuple((str(k), float(v)) for k, v in form2.get("targets", {}).items()),
    )


def default_registry() -> Registry:
    with resources.as_file(resources.files("consolidate") / "data" / DEFAULT_DATA / "units.csv") as p:
        return Registry(load_units(p))


def default_settings() -> ReportSettings:
    with resources.as_file(resources.files("consolidate") / "data" / DEFAULT_DATA / "report.toml") as p:
        return load_settings(p)
