"""Who is expected to report, to whom, and the settings of the report they feed.

Both are data (a units table and a TOML file); the Tuy Phước report 362/UBND
ships embedded as the default so the sample inbox runs with no setup.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property

from .text import fold, unit_key

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
    _by_key: dict[str, list[Unit]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._leaves = self._find_leaves()
        self._by_key: dict[str, list[Unit]] = {}
        for u in self.units:
            self._by_key.setdefault(unit_key(u.name), []).append(u)
        self._leaf_codes = {u.code for u in self._leaves}
        self._by_code = {u.code: u for u in self.units}
        self._leaf_keys = {unit_key(u.name): u.name for u in self._leaves}

    @cached_property
    def _by_bare(self) -> dict[str, list[Unit]]:
        """Reporting units by their name without "Xã", "Thị trấn", "UBND": built on the first
        loosely typed name (most names match as typed)."""
        index: dict[str, list[Unit]] = {}
        for u in self._leaves:
            index.setdefault(_bare(u.name), []).append(u)
        return index

    @cached_property
    def _by_fold(self) -> dict[str, list[Unit]]:
        """Reporting units by the letters of their name alone: built on the first unknown name."""
        index: dict[str, list[Unit]] = {}
        for u in self._leaves:
            index.setdefault(_letters(u.name), []).append(u)
        return index

    def _find_leaves(self) -> list[Unit]:
        parents = {u.parent for u in self.units}
        return [u for u in self.units if u.code not in parents]

    @property
    def root(self) -> Unit:
        return next(u for u in self.units if not u.parent)

    def reporting_units(self) -> list[Unit]:
        """Units expected to send a submission, in the official order."""
        return self._leaves

    def reports(self, unit: Unit) -> bool:
        """Whether a unit is one that submits (a leaf), not one that consolidates."""
        return unit.code in self._leaf_codes

    def unit(self, code: str) -> Unit:
        return self._by_code[code]

    def groups(self) -> list[tuple[Unit | None, list[Unit]]]:
        """Reporting units grouped under their district when there is a level between them and the root
        (a province over districts); one group with no heading otherwise."""
        root = self.root.code
        if all(u.parent == root for u in self._leaves):
            return [(None, list(self._leaves))]
        grouped: dict[str, list[Unit]] = {}
        for u in self._leaves:
            grouped.setdefault(u.parent, []).append(u)
        return [(self.unit(code), members) for code, members in grouped.items()]

    def sender(self, codes: Iterable[str]) -> Unit | None:
        """The district a file speaks for, when its units are several of one district's in a province over districts.

        A district's merged workbook names its communes, yet the province deals with the district that sent it:
        the district's feedback copy and its file-wide problems are addressed to the district, not to a commune.
        None for a unit's own template, and in a district's run (its units hang straight under the root).
        """
        units = {self._by_code[c] for c in codes if c in self._by_code}
        parents = {u.parent for u in units}
        if len(units) < 2 or len(parents) != 1:
            return None
        parent = parents.pop()
        return self._by_code.get(parent) if parent and parent != self.root.code else None

    def match(self, name: str, within: str | None = None) -> Unit | None:
        """The unit a typed name stands for, whatever its Unicode form or tone placement.

        Two districts may each have a "Cấp huyện" or a "Xã Phước An": ``within`` (a parent
        code) says which one a district's workbook means.
        """
        return _pick(self._by_key.get(unit_key(name), []), within)

    def named(self, name: str) -> list[Unit]:
        """Every unit a name could mean (more than one when districts share a name)."""
        return self._by_key.get(unit_key(name), []) or self._by_bare.get(_bare(name), [])

    def match_loosely(self, name: str, within: str | None = None) -> Unit | None:
        """The one reporting unit a name means once "Xã", "Thị trấn", "UBND" are left off."""
        return _pick(self._by_bare.get(_bare(name), []), within)

    def closest(self, name: str, n: int = 3, within: str | None = None) -> list[str]:
        """Registry names closest to an unknown one, for the error message.

        A name that differs only in its tone marks ("Thử nghiêm") is found by
        key at once; only the rest pay for difflib, over the district's units
        when ``within`` says which district (3,321 names cost ~0.2 s a call).
        """
        same_letters = self._by_fold.get(_letters(name), [])
        if same_letters:
            inside = [u for u in same_letters if u.parent == within] or same_letters
            return [u.name for u in inside[:n]]
        keys = self._leaf_keys
        if within is not None:
            keys = {unit_key(u.name): u.name for u in self._leaves if u.parent == within} or keys
        hits = difflib.get_close_matches(unit_key(name), list(keys), n=n, cutoff=0.5)
        return [keys[h] for h in hits]


def _pick(candidates: list[Unit], within: str | None) -> Unit | None:
    if len(candidates) == 1:
        return candidates[0]
    inside = [u for u in candidates if within is not None and u.parent == within]
    return inside[0] if len(inside) == 1 else None


_PREFIXES = tuple(
    unit_key(p) + " "
    for p in ("UBND", "Ủy ban nhân dân", "Bộ phận Một cửa", "BPMC", "Xã", "X.", "Thị trấn", "TT.", "TT", "Phường", "P.")
)


_FOLDED_PREFIXES = tuple(fold(p) + " " for p in ("UBND", "Ủy ban nhân dân", "Bộ phận Một cửa", "BPMC", "Xã", "X",
                                                  "Thị trấn", "TT", "Phường", "P"))


def _letters(name: str) -> str:
    """A unit name without tone marks, case or the administrative words: how a hurried typist's
    "Xa Phuoc Hoa" or a dropped tone mark still points at the unit."""
    key = fold(name)
    while prefix := next((p for p in _FOLDED_PREFIXES if key.startswith(p)), None):
        key = key[len(prefix):]
    return key


def _bare(name: str) -> str:
    """A unit name without the administrative words in front of it."""
    key = unit_key(name)
    while key.startswith(_PREFIXES):  # one C-level test; which prefix only when there is one
        prefix = next(p for p in _PREFIXES if key.startswith(p))
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
    upload_limit_mb: float = 10.0  # the largest file a unit may send through `consolidate serve`
    upload_per_hour: int = 20  # files one unit's link may send in any hour (a stolen link cannot flood the server)
    upload_total_mb: float = 100.0  # bytes of one unit's uploads kept in the inbox, together (the disk cannot fill)
    period: str = ""  # the DHIS2 period code the history records the figures under ("" = core.periods' default)

    def target(self, indicator: str) -> float | None:
        return dict(self.targets).get(indicator)

    @property
    def signer(self) -> str:
        """Who signs, with the place, as the forms name them: "UBND huyện" of "huyện Tuy Phước" signs as
        "UBND huyện Tuy Phước" (a province receives forty forms "của UBND huyện"); an issuer that names
        its place already is kept as it is."""
        issuer, area = self.issuer.strip(), " ".join(self.area.split())
        if not area or fold(area) in fold(issuer):
            return issuer
        words, place = issuer.split(), area.split()
        # the issuer's last words that begin the area ("UBND thị xã" + "thị xã An Nhơn") are said once
        shared = max((n for n in range(1, min(len(words), len(place)) + 1)
                      if fold(" ".join(words[-n:])) == fold(" ".join(place[:n]))), default=0)
        return " ".join([*words, *place[shared:]])

    @property
    def attachment_line(self) -> str:
        d = self.report_date
        return (
            f"(Kèm theo Báo cáo số: {self.report_number} ngày {d.day:02d} "
            f"tháng {d.month} năm {d.year} của {self.signer})"
        )
