"""What one submitted workbook is read into: its units and records, each remembering its source cell."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from sys import intern
from typing import NamedTuple

from . import problems as P

# Tuples, not dataclasses: a province run holds ~40 of these per submission and
# sends them from the reading workers; a frozen dataclass is ~5× slower to build
# and to pickle.


class Source(NamedTuple):
    file: str
    sheet: str
    cell: str


class Record(NamedTuple):
    """One value of one form for one unit: (unit, form, item, field) → value."""

    form: str
    unit: str  # the unit name as typed (NFC)
    item: str  # Biểu mẫu 2 indicator key; "" for Biểu mẫu 1
    field: str
    value: float | str | None  # a number, the text that is not one, or blank
    raw: object
    source: Source
    code: str = ""  # the registry unit, once the pipeline has matched the name


class UnitCell(NamedTuple):
    name: str
    source: Source


@dataclass
class Submission:
    path: Path
    name: str
    kind: str = "xlsx"
    units: list[UnitCell] = field(default_factory=list)
    records: list[Record] = field(default_factory=list)
    problems: list[P.Problem] = field(default_factory=list)
    forms: set[str] = field(default_factory=set)
    periods: dict[str, str] = field(default_factory=dict)  # rate key → its header text
    upstream_errors: int = 0  # errors left in the log sheet of a merged workbook being rolled up
    sha256: str = ""  # of the bytes read, for the provenance sheet (set by read.pool)
    # The bytes that were checked, for the unit's feedback copy: kept by the pipeline at the end of
    # the run, only for the files that get a copy (all of them would hold the whole inbox in memory).
    checked_bytes: bytes | None = None
    # Set by the pipeline where the file was read: the registry code of each unit name it matched,
    # and the problem that makes the whole file unusable for this period. ``records`` then holds
    # only the matched units' rows, under the registry's names and codes.
    matched: dict[str, str] = field(default_factory=dict)
    wrong_period: P.Problem | None = None
    # The district whose merged workbook this is (a province run; Registry.sender), by name: the feedback copy
    # is addressed to it, not to the communes the workbook lists.
    sender: str = ""
    # The template version stamp the file carries (read.stamp), "" when it has none: files made before stamps
    # existed, or not from a template (a merged workbook, a unit's own file).
    template_stamp: str = ""

    def __getstate__(self) -> dict:
        """Rows travel back from the reading workers as plain tuples: a NamedTuple pickles through a
        Python-level __getnewargs__, which made pickling ten times slower for a file's ~40 rows."""
        state = self.__dict__.copy()
        # pickle keeps no float's identity: a raw that is the value itself travels as ... (one byte)
        state["records"] = [(r.form, r.unit, r.item, r.field, r.value, ... if r.raw is r.value else r.raw,
                             *r.source, r.code) for r in self.records]
        return state

    def __setstate__(self, state: dict) -> None:
        # what every submission repeats (cells "D7", sheet names, the period headers) is interned:
        # one string for the whole country, not one per file
        # (tuple.__new__ directly: a NamedTuple's own __new__ is a Python function, twice as slow)
        new = tuple.__new__
        state["records"] = [new(Record, (form, unit, item, key, value, value if raw is ... else raw,
                                         new(Source, (file, intern(sheet), intern(cell))), code))
                            for form, unit, item, key, value, raw, file, sheet, cell, code in state["records"]]
        state["periods"] = {key: intern(text) for key, text in state["periods"].items()}
        self.__dict__.update(state)
