"""One submission per unit: the newest of a unit's files wins, the others are logged (pure, on records).

A unit that re-sends through its page does what the page asks: when the newest file and an older one are both
its uploads (named as core/upload_names.py says), the older one is replaced quietly, without a "superseded"
warning or a feedback copy; the unit's earlier uploads make one note for the clerk (``UploadsReplaced``).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from . import problems as P
from .records import Record, Source, Submission
from .registry import Unit
from .results import InboxFile
from .upload_names import is_upload_of

_VERSION = (
    re.compile(r"(?:^|[_\-\s.(])v\s*(\d+)(?=$|[_\-\s.)])"),
    re.compile(r"(?:^|[_\-\s.(])lan[_\-\s]*(\d+)(?=$|[_\-\s.)])"),
)
_COPY_MARK = re.compile(r"(?:\s*\(\d+\)|\s*-\s*(?:copy|sao chep|ban sao))+$")
_COPY_NUMBER = re.compile(r"\((\d+)\)$")


def version(name: str) -> tuple[int, int]:
    """The version a file name carries ("_v2", "lần 2"), then its copy number ("(3)", as a browser
    numbers a file downloaded again); an unnumbered file is version 1, copy 0."""
    stem = Path(name).stem
    text = "".join(ch for ch in unicodedata.normalize("NFD", stem.casefold()) if not unicodedata.combining(ch))
    text = text.replace("đ", "d").strip()
    copy = _COPY_NUMBER.search(text)
    base = _COPY_MARK.sub("", text)
    found = [int(m[1]) for pattern in _VERSION for m in pattern.finditer(base)]
    return (max(found) if found else 1, int(copy[1]) if copy else 0)


@dataclass
class Candidate:
    file: InboxFile
    sub: Submission
    records: list[Record]

    @property
    def order(self) -> tuple[int, float, int]:
        major, copy = version(self.file.name)
        return (major, self.file.mtime, copy)

    def values(self) -> list[tuple]:
        return sorted((r.form, r.item, r.field, repr(r.value)) for r in self.records)


def _why_newer(winner: Candidate, other: Candidate) -> str:
    if version(winner.file.name)[0] != version(other.file.name)[0]:
        return f"bản số {version(winner.file.name)[0]}"
    when = dt.datetime.fromtimestamp(winner.file.mtime).strftime("%H:%M %d/%m/%Y")
    return f"sửa lần cuối lúc {when}"


def choose(unit: Unit, cands: list[Candidate], problems: list[P.Problem]) -> Candidate | None:
    """The newest submission of a unit; the others are logged, none is dropped silently."""
    if len(cands) == 1:  # nearly every unit: nothing to compare, no file name to parse
        return cands[0]
    cands = sorted(cands, key=lambda c: (c.order, c.file.name))
    winner = cands[-1]
    if len(cands) > 1 and cands[-2].order == winner.order:
        other = cands[-2]
        if other.values() != winner.values():
            for a, b in ((winner, other), (other, winner)):
                problems.append(P.ResubmissionConflict(file=a.file.name, unit=unit.name, name=unit.name,
                                                       file_name=a.file.name, other=b.file.name))
            return None
    resent = [c for c in cands[:-1] if is_upload_of(c.file.name, unit.code)] if is_upload_of(winner.file.name, unit.code) else []
    if resent:
        problems.append(P.UploadsReplaced(unit=unit.name, name=unit.name, used=winner.file.name, count=len(resent),
                                          replaced=[c.file.name for c in resent]))
    for older in cands[:-1]:
        if older in resent:
            continue
        if older.values() == winner.values():
            problems.append(P.DuplicateFile(file=older.file.name, unit=unit.name, name=unit.name,
                                            used=winner.file.name, file_name=older.file.name))
        else:
            problems.append(P.Superseded(file=older.file.name, unit=unit.name, name=unit.name,
                                         used=winner.file.name, file_name=older.file.name,
                                         why=_why_newer(winner, older)))
    return winner


def in_error(records: list[Record], problems: list[P.Problem]) -> set:
    """Sources of records whose cell already has an error: not checked or warned about again."""
    cells = {Source(p.file, p.sheet, p.cell) for p in problems if p.cell and p.severity == P.ERROR}
    return {r.source for r in records if r.source in cells}


def quietly_replaced(problems: list[P.Problem]) -> dict[str, str]:
    """Each earlier upload that a unit's newer upload replaced quietly → the file used instead."""
    return {name: p.params["used"] for p in problems if p.code == P.UploadsReplaced.code
            for name in p.params["replaced"]}
