"""Run the pandera schemas over all units at once and turn failures into problems.

The only place that translates pandera's ``failure_cases`` into the catalogue:
one frame per form, one ``validate(lazy=True)`` call, and each failing
(row, column) mapped back to the record, and so the cell, it came from.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Callable

import pandas as pd
import pandera.pandas as pa

from consolidate.schemas import form1_schema, form2_schema
from consolidate.schemas.checks import EXACT_LIMIT

from ..core import problems as P
from ..core.numbers import format_number, number_with_unit
from ..core.timings import Timings
from ..core.records import Record, Source
from ..core.template import FORM1, FORM1_FIELDS, FORM2, RATES, TOTAL_PARTS, WEIGHTS, field_label

_COLUMN_PROBLEMS: dict[str, type[P.Problem]] = {
    "not_nullable": P.MissingValue,
    "not-a-number": P.NotANumber,
    "count-too-large": P.CountTooLarge,
    "not-whole-number": P.NotWholeNumber,
    "negative-count": P.NegativeCount,
    "rate-out-of-range": P.RateOutOfRange,
}


def _frame(records: list[Record], form: str, fields: list[str]) -> tuple[pd.DataFrame, list[dict[str, Record]]]:
    """Pivot tidy records into one row per (file, unit, item) with the records kept beside."""
    rows: dict[tuple[str, str, str], dict[str, Record]] = defaultdict(dict)
    for rec in records:
        if rec.form == form:
            rows[(rec.source.file, rec.code or rec.unit, rec.item)][rec.field] = rec
    index = list(rows.values())
    columns = {}
    for f in fields:
        values = [row[f].value if f in row else None for row in index]
        # a column of numbers and blanks (nearly all) as floats, so the checks need no pass of Python;
        # one cell of text keeps the column as typed
        plain = set(map(type, values)) <= {float, type(None)}
        columns[f] = pd.Series(values, dtype=float if plain else object)  # object: not even pandas' str dtype
    return pd.DataFrame(columns, columns=fields), index


def _failures(schema: pa.DataFrameSchema, frame: pd.DataFrame) -> pd.DataFrame:
    if frame.empty:
        return pd.DataFrame(columns=["column", "check", "index"])
    try:
        schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        return exc.failure_cases
    return pd.DataFrame(columns=["column", "check", "index"])


def _cell_problem(rec: Record, check: str) -> P.Problem:
    cls = _COLUMN_PROBLEMS[check]
    return cls(
        file=rec.source.file,
        sheet=rec.source.sheet,
        cell=rec.source.cell,
        unit=rec.unit,
        label=field_label(rec.form, rec.field, rec.item),
        value=_shown(rec.value),
        raw=rec.value if isinstance(rec.value, str) else rec.raw,
    )


def _shown(value: object) -> str:
    """A cell's value as the message shows it; a number too large to hold exactly as Excel shows it (1E+300),
    not as its 301 digits."""
    if isinstance(value, float) and abs(value) >= EXACT_LIMIT:
        return f"{value:.6G}".replace(".", ",")
    return format_number(value)


def validate_records(records: list[Record], already: set[Source] = frozenset(),
                     timings: Timings | None = None) -> list[P.Problem]:
    """All rule failures of both forms, one per cell, skipping cells a reader problem covers;
    ``timings`` (if given) gets the time spent building frames and in pandera."""
    timings = timings or Timings()
    found: list[P.Problem] = []
    seen: set[Source] = set(already)
    said: set[tuple[Source, str]] = set()  # (cell, code) of each problem found

    def add(problem: P.Problem, src: Source) -> None:
        if src not in seen:
            seen.add(src)
            said.add((src, problem.code))
            found.append(problem)

    for form, schema, fields in (
        (FORM1, form1_schema(), [f.key for f in FORM1_FIELDS]),
        (FORM2, form2_schema(), [*RATES, *WEIGHTS]),
    ):
        with timings.step("validate.build_frames"):
            frame, index = _frame(records, form, fields)
        with timings.step("validate.pandera"):
            failures = _failures(schema, frame)
        cell_failures = failures[failures["check"].isin(list(_COLUMN_PROBLEMS))]
        # column checks run in order, so the first failing check of a cell is its problem
        for _, f in cell_failures.sort_values("index", kind="stable").iterrows():
            rec = index[int(f["index"])].get(f["column"])
            if rec is not None:
                add(_cell_problem(rec, f["check"]), rec.source)
        for i in _mismatched_rows(failures):
            add(_total_mismatch(index[i], _value), index[i]["total"].source)  # a badly typed total: once, as that
        if form == FORM1:  # "5 người": the rule checked with the number meant, in the same round as the typing
            for i in _mismatched_rows(_failures(schema, _numbers_read(frame, index, fields))):
                total = index[i]["total"].source
                if total not in already and (total, P.TotalMismatch.code) not in said:
                    said.add((total, P.TotalMismatch.code))
                    found.append(_total_mismatch(index[i], _number_meant))
    order = {id(p): n for n, p in enumerate(found)}
    return sorted(found, key=lambda p: (p.file, p.sheet, _cell_order(p.cell), order[id(p)]))


def _mismatched_rows(failures: pd.DataFrame) -> list[int]:
    return sorted(set(failures.loc[failures["check"] == "total-mismatch", "index"].astype(int)))


def _value(rec: Record) -> object:
    return rec.value


def _number_meant(rec: Record) -> object:
    """A figure typed with its unit word ("5 người") as the number it says; any other value as it is."""
    read = number_with_unit(rec.value)
    return rec.value if read is None else read


def _total_mismatch(row: dict[str, Record], value: Callable[[Record], object]) -> P.Problem:
    total = row["total"]
    parts = [value(row[p]) for p in TOTAL_PARTS]
    return P.TotalMismatch(
        file=total.source.file,
        sheet=total.source.sheet,
        cell=total.source.cell,
        unit=total.unit,
        total=format_number(value(total)),
        own=format_number(parts[0]),
        seconded=format_number(parts[1]),
        bcci=format_number(parts[2]),
        expected=format_number(sum(parts)),
    )


def _numbers_read(frame: pd.DataFrame, index: list[dict[str, Record]], fields: list[str]) -> pd.DataFrame:
    """The rows that hold a figure typed with its unit word, each such figure replaced by its number (the
    frame's own labels kept, so a failure points at its row): empty when there is none, nearly always."""
    rows = [i for i, row in enumerate(index) if any(number_with_unit(rec.value) is not None for rec in row.values())]
    if not rows:
        return frame.iloc[0:0]
    columns = {f: pd.Series([_number_meant(index[i][f]) if f in index[i] else None for i in rows], index=rows,
                            dtype=object) for f in fields}
    return pd.DataFrame(columns, columns=fields)


def _cell_order(cell: str) -> tuple[int, str]:
    digits = "".join(ch for ch in cell if ch.isdigit())
    letters = "".join(ch for ch in cell if ch.isalpha())
    return (int(digits) if digits else 0, letters.rjust(3))
