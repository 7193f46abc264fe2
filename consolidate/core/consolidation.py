"""From accepted records and the registry to the merged tables. No I/O.

Biểu mẫu 1 keeps every unit's figures as submitted (flagged cells stay
visible) and sums those that passed the rules; Biểu mẫu 2 averages the valid
rates of the units that reported them. A cell with an error (severity Lỗi)
counts for nothing anywhere, and neither does any figure of a rule that ties
several fields (Tổng số = its parts) once one of them is in error: none of
them is known to be right, and a total that added some would break the rule
the units' rows obey. Warnings and notes never keep a figure out.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property
from typing import Iterable

from . import problems as P
from .records import Record, Source
from .registry import Registry, Unit
from .template import FORM1, FORM1_FIELDS, FORM2, FORM2_INDICATORS, RATES, TOTAL_PARTS, WEIGHT_OF


WEIGHTED, MEAN, SETTING = "weighted", "mean", "setting"
FORM1_ORDER = {f.key: n for n, f in enumerate(FORM1_FIELDS)}


@dataclass(frozen=True)
class Rule:
    """A rule that ties several fields of one row of a form (one unit's Biểu mẫu 1), and the code of
    the problem that reports it broken. The report's definition will give these as data."""

    form: str
    code: str
    fields: tuple[str, ...]


RULES: tuple[Rule, ...] = (Rule(FORM1, P.TotalMismatch.code, ("total", *TOTAL_PARTS)),)
_RULE_CODES = {rule.code for rule in RULES}


@dataclass(frozen=True)
class LeftOut:
    """Why a figure counts for nothing: the error that keeps it out (its own, or one that breaks a rule
    it is tied by), the code of that rule ("" for a figure left out for its own error only), and whether
    the error is the figure's own (False: a right-looking figure of a broken rule)."""

    problem: P.Problem
    rule: str = ""
    own: bool = True

    @property
    def code(self) -> str:
        """The code the history records the rejected figure under."""
        return self.rule or self.problem.code


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
    # every figure that counts for nothing, and why: cells in error and the figures of a broken rule
    excluded: dict[Source, LeftOut] = field(default_factory=dict)

    @cached_property
    def errors(self) -> set[Source]:
        """The figures that count for nothing (``excluded``): no total, mean or history adds them."""
        return set(self.excluded)

    def left_out(self, units: list[Unit]) -> list[tuple[Unit, list[Record]]]:
        """Of these units, those whose Biểu mẫu 1 has figures left out (cells in error, blank ones too,
        and the figures of a broken rule), with those figures' records: what the totals over these units
        do not include, for the total row's note."""
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


def excluded_figures(flags: dict[Source, list[P.Problem]],
                     rows_of: dict[str, Iterable[dict[str, Record]]]) -> dict[Source, LeftOut]:
    """Every figure that counts for nothing and why: each cell with an error, and every figure of a rule
    (``RULES``) in a row where the rule is broken or cannot be checked because one of its figures is in
    error. ``rows_of``: each form's rows (field → record), only those of forms that rules tie."""
    found: dict[Source, LeftOut] = {}
    for src, problems in flags.items():
        error = next((p for p in problems if p.severity == P.ERROR), None)
        if error is not None:
            found[src] = LeftOut(error, error.code if error.code in _RULE_CODES else "")
    if not found:
        return found
    for rule in RULES:
        for row in rows_of.get(rule.form, ()):
            tied = [row[f] for f in rule.fields if f in row]
            bad = [found[rec.source] for rec in tied if rec.source in found]
            if not bad:
                continue
            why = next((b.problem for b in bad if b.problem.code == rule.code), bad[0].problem)
            for rec in tied:
                if rec.source not in found:
                    found[rec.source] = LeftOut(why, rule.code, own=False)
    return found


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

    excluded = excluded_figures(flags, {FORM1: form1.values()})
    errors = set(excluded)
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
        excluded=excluded,
    )
