"""Warnings a clerk should look at, never errors: below target, far from the others, far from last time.

Outliers use the modified z-score (Iglewicz and Hoaglin): the median and the
median absolute deviation are not dragged by the outlier itself, so one wild
figure cannot hide itself the way it can behind a mean and standard deviation.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping

from ..core import problems as P
from ..core.numbers import format_number
from ..core.records import Record
from ..core.template import FORM2, RATES, field_label
from ..core.text import fold

Z_LIMIT = 3.5
MIN_UNITS = 5  # fewer than this and "the other units" say nothing
RATE_JUMP = 20.0  # percentage points between two reports
COUNT_JUMP = 0.5  # half the previous count, and at least COUNT_MIN_JUMP
COUNT_MIN_JUMP = 3


def _where(rec: Record) -> dict[str, str]:
    return dict(file=rec.source.file, sheet=rec.source.sheet, cell=rec.source.cell, unit=rec.unit,
                label=field_label(rec.form, rec.field, rec.item), value=format_number(rec.value))


def below_target(records: list[Record], targets: dict[str, float], flagged: set) -> list[P.Problem]:
    """Units whose result after the transfer is below the province target (from settings, else their own)."""
    by_row: dict[tuple[str, str], dict[str, Record]] = defaultdict(dict)
    for rec in records:
        if rec.form == FORM2:
            by_row[(rec.code, rec.item)][rec.field] = rec
    found = []
    for (unit, item), row in by_row.items():
        after, typed = row.get("after"), row.get("target")
        target = targets.get(item)
        if target is None and typed is not None and isinstance(typed.value, float) and typed.source not in flagged:
            target = typed.value
        if target is None or after is None or not isinstance(after.value, float) or after.source in flagged:
            continue
        if after.value < target:
            found.append(P.BelowTarget(**_where(after), target=format_number(target)))
    return found


def outliers(records: list[Record], flagged: set, levels: Mapping[str, str] | None = None) -> list[P.Problem]:
    """Figures far outside the other units' of the same level for the same field (modified z-score above 3.5).

    ``levels`` (unit code → its level in the units table) keeps like with like: the district's own
    one-stop department ("Cấp huyện") has more staff and machines than any commune, which is no error,
    and is compared only with units of its own level (in a district, none: it is then left alone).
    """
    import numpy as np  # start-up: here, not at the top: `consolidate check` never gets this far (pandas has loaded it by now)

    level = {code: fold(name) for code, name in (levels or {}).items()}.get  # "Xã" and "xã" are one level
    groups: dict[tuple[str, str, str, str], list[Record]] = defaultdict(list)
    for rec in records:
        if isinstance(rec.value, float) and rec.source not in flagged:
            groups[(level(rec.code, ""), rec.form, rec.item, rec.field)].append(rec)
    found = []
    for recs in groups.values():
        if len(recs) < MIN_UNITS:
            continue
        values = np.fromiter((r.value for r in recs), dtype=float, count=len(recs))
        # absurd but valid figures (a count of 1e308) overflow to inf, as Python floats did, silently:
        # numpy's warning would reach the clerk's terminal
        with np.errstate(all="ignore"):
            median = float(np.median(values))  # the middle value, or the mean of the two middle ones
            mad = float(np.median(np.abs(values - median)))
            if mad == 0:
                continue
            scores = 0.6745 * (values - median) / mad  # a country's column at once, not a loop per unit
        far = np.abs(scores) > Z_LIMIT
        if not far.any():
            continue
        usual = values[~far]  # what the units the rule leaves alone typed: at least half of them
        for i in np.flatnonzero(far):
            found.append(P.Outlier(**_where(recs[i]), higher=bool(values[i] > median), units=len(recs),
                                   typical=len(usual), low=format_number(float(usual.min())),
                                   high=format_number(float(usual.max())), median=format_number(median)))
    return found


def changes(records: list[Record], previous: list[Record], flagged: set) -> list[P.Problem]:
    """Figures far from the same unit's figure in the previous merged report."""
    before = {(r.code, r.form, r.item, r.field): r.value for r in previous if isinstance(r.value, float)}
    found = []
    for rec in records:
        old = before.get((rec.code, rec.form, rec.item, rec.field))
        if old is None or not isinstance(rec.value, float) or rec.source in flagged:
            continue
        if rec.field in RATES:
            jump = abs(rec.value - old) > RATE_JUMP
        else:
            jump = abs(rec.value - old) > max(COUNT_MIN_JUMP, COUNT_JUMP * abs(old))
        if jump:
            found.append(P.ChangedSincePrevious(**_where(rec), previous=format_number(old)))
    return found
