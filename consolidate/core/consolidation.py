"""From accepted records and the registry to the merged tables. No I/O.

Biểu mẫu 1 keeps every unit's figures as submitted (flagged cells stay
visible) and sums those that passed the rules; Biểu mẫu 2 averages the valid
rates of the units that reported them. A cell with an error (severity Lỗi)
counts for nothing anywhere; warnings and notes never keep a figure out.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property
from typing import Iterable

from . import problems as P
from .records import Record, Source
from .registry import Registry, Unit
from .template import FORM1, FORM1_FIELDS, FORM2, FORM2_INDICATORS, RATES, WEIGHT_OF


WEIGHTED, MEAN, SETTING = "weighted", "mean", "setting"
FORM1_ORDER = {f.key: n for n, f in enumerate(FORM1_FIELDS)}


@dataclass(frozen=True)
class Aggregate:
    """One cell of the district's Biểu mẫu 2: the value, how many units it is over, and how it was made."""

    value: float | None
    count: int
    method: str = MEAN  # WEIGHTED by dossiers, unweighted MEAN, or the province target from SETTING
    weight: float | None = None  # the dossiers behind a weighted value, carried up to the province


def aggregate(pairs: list[tuple[float, float | None]]) -> Aggregate:
    """The weighted mean where every unit gave its dossier count, the plain mean otherwise."""
    if not pairs:
        return Aggregate(None, 0)
    weights = [w for _, w in pairs]
    if all(w is not None for w in weights) and sum(weights) > 0:
        total = sum(weights)
        return Aggregate(sum(v * w for v, w in pairs) / total, len(pairs), WEIGHTED, total)
    return Aggregate(sum(v for v, _ in pairs) / len(pairs), len(pairs), MEAN)


@dataclass
class Consolidated:
    units: list[Unit]  # expected reporting units, official order
    form1: dict[str, dict[str, Record]]  # unit code → field → record
    form2: dict[str, dict[str, dict[str, Record]]]  # unit code → indicator → rate → record
    form1_totals: dict[str, float]
    form2_means: dict[str, dict[str, Aggregate]]  # indicator → rate → aggregate
    flags: dict[Source, list[P.Problem]] = field(default_factory=dict)

    @cached_property
    def errors(self) -> set[Source]:
        """The flagged cells with an error: their values count for nothing (asked once per cell drawn)."""
        return _error_cells(self.flags)

    def left_out(self, units: list[Unit]) -> list[tuple[Unit, list[Record]]]:
        """Of these units, those whose Biểu mẫu 1 has cells in error, with those cells' records
        (blank ones too): what the totals over these units do not include, for the total row's note."""
        found = []
        for unit in units:
            bad = [rec for rec in self.form1.get(unit.code, {}).values() if rec.source in self.errors]
            if bad:
                found.append((unit, sorted(bad, key=lambda r: FORM1_ORDER[r.field])))
        return found

    @property
    def reported(self) -> list[Unit]:
        return [u for u in self.units if u.code in self.form1 or u.code in self.form2]

    @property
    def missing(self) -> list[Unit]:
        return [u for u in self.units if u.code not in self.form1 and u.code not in self.form2]


def _error_cells(flags: dict[Source, list[P.Problem]]) -> set[Source]:
    return {src for src, found in flags.items() if any(p.severity == P.ERROR for p in found)}


def form1_sums(rows: Iterable[dict[str, Record]], errors: set[Source]) -> dict[str, float]:
    """Each Biểu mẫu 1 column summed over units' rows, leaving out cells in error.

    The merged workbook writes a cell in error as text, so the SUM formula over the
    column skips it too: this is the value the formula carries and recalculates to.
    """
    totals = {f.key: 0.0 for f in FORM1_FIELDS}
    for values in rows:
        for key, rec in values.items():
            if isinstance(rec.value, float) and rec.source not in errors:
                totals[key] += rec.value
    return totals


def consolidate(
    registry: Registry, records: list[Record], problems: list[P.Problem], targets: dict[str, float] | None = None
) -> Consolidated:
    """Merge accepted records (unit already the registry name) into the district tables."""
    units = registry.reporting_units()
    flags: dict[Source, list[P.Problem]] = defaultdict(list)
    for p in problems:
        if p.cell:
            flags[Source(p.file, p.sheet, p.cell)].append(p)

    form1: dict[str, dict[str, Record]] = defaultdict(dict)
    form2: dict[str, dict[str, dict[str, Record]]] = defaultdict(lambda: defaultdict(dict))
    for rec in records:
        code = rec.code
        if rec.form == FORM1:
            form1[code][rec.field] = rec
        elif rec.form == FORM2:
            form2[code][rec.item][rec.field] = rec

    errors = _error_cells(flags)
    totals = form1_sums(form1.values(), errors)

    # one pass over the units' rows: each (indicator, rate) collects its (value, weight) pairs
    # in unit order; a value or weight whose cell has an error does not count
    pairs_of: dict[tuple[str, str], list[tuple[float, float | None]]] = {
        (ind.key, rate): [] for ind in FORM2_INDICATORS for rate in RATES
    }
    for rows in form2.values():
        for item, row in rows.items():
            for rate in RATES:
                rec = row.get(rate)
                pairs = pairs_of.get((item, rate))
                if pairs is None or rec is None or not isinstance(rec.value, float) or rec.source in errors:
                    continue
                weight = row.get(WEIGHT_OF[rate]) if rate in WEIGHT_OF else None
                usable_weight = weight is not None and isinstance(weight.value, float) and weight.source not in errors
                pairs.append((rec.value, weight.value if usable_weight else None))

    targets = targets or {}
    means: dict[str, dict[str, Aggregate]] = {}
    for ind in FORM2_INDICATORS:
        means[ind.key] = {}
        for rate in RATES:
            pairs = pairs_of[(ind.key, rate)]
            if rate == "target" and ind.key in targets:
                means[ind.key][rate] = Aggregate(targets[ind.key], len(pairs), SETTING)
            else:
                means[ind.key][rate] = aggregate(pairs)

    return Consolidated(
        units=units,
        form1=dict(form1),
        form2={k: dict(v) for k, v in form2.items()},
        form1_totals=totals,
        form2_means=means,
        flags=dict(flags),
    )
