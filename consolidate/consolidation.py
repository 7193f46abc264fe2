"""From accepted records and the registry to the merged tables. No I/O.

Biểu mẫu 1 keeps every unit's figures as submitted (flagged cells stay
visible) and sums them; Biểu mẫu 2 averages the valid rates of the units
that reported them.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from . import problems as P
from .reader import Record, Source
from .registry import Registry, Unit
from .template import FORM1, FORM1_FIELDS, FORM2, FORM2_INDICATORS, RATES


@dataclass(frozen=True)
class Aggregate:
    """One cell of the district's Biểu mẫu 2: the mean and how many units it is over."""

    value: float | None
    count: int


@dataclass
class Consolidated:
    units: list[Unit]  # expected reporting units, official order
    form1: dict[str, dict[str, Record]]  # unit code → field → record
    form2: dict[str, dict[str, dict[str, Record]]]  # unit code → indicator → rate → record
    form1_totals: dict[str, float]
    form2_means: dict[str, dict[str, Aggregate]]  # indicator → rate → aggregate
    flags: dict[Source, list[P.Problem]] = field(default_factory=dict)

    @property
    def reported(self) -> list[Unit]:
        return [u for u in self.units if u.code in self.form1 or u.code in self.form2]

    @property
    def missing(self) -> list[Unit]:
        return [u for u in self.units if u.code not in self.form1 and u.code not in self.form2]


def consolidate(registry: Registry, records: list[Record], problems: list[P.Problem]) -> Consolidated:
    """Merge accepted records (unit already the registry name) into the district tables."""
    units = registry.reporting_units()
    code_of = {u.name: u.code for u in units}
    flags: dict[Source, list[P.Problem]] = defaultdict(list)
    for p in problems:
        if p.cell:
            flags[Source(p.file, p.sheet, p.cell)].append(p)

    form1: dict[str, dict[str, Record]] = defaultdict(dict)
    form2: dict[str, dict[str, dict[str, Record]]] = defaultdict(lambda: defaultdict(dict))
    for rec in records:
        code = code_of[rec.unit]
        if rec.form == FORM1:
            form1[code][rec.field] = rec
        elif rec.form == FORM2:
            form2[code][rec.item][rec.field] = rec

    totals = {
        f.key: sum(
            rec.value
            for code in form1
            if isinstance((rec := form1[code].get(f.key)) and rec.value, float)
        )
        for f in FORM1_FIELDS
    }

    def usable(rec: Record | None) -> bool:
        return (
            rec is not None
            and isinstance(rec.value, float)
            and not any(p.severity == P.ERROR for p in flags.get(rec.source, ()))
        )

    means: dict[str, dict[str, Aggregate]] = {}
    for ind in FORM2_INDICATORS:
        means[ind.key] = {}
        for rate in RATES:
            values = [
                rec.value
                for code in form2
                if usable(rec := form2[code].get(ind.key, {}).get(rate))
            ]
            means[ind.key][rate] = Aggregate(sum(values) / len(values) if values else None, len(values))

    return Consolidated(
        units=units,
        form1=dict(form1),
        form2={k: dict(v) for k, v in form2.items()},
        form1_totals=totals,
        form2_means=means,
        flags=dict(flags),
    )
