"""A definition's form compiled to pandera: a column check per field type, a DataFrame check per rule.

The rules of ``core.rules`` become column arithmetic over a whole frame at once (one row per unit,
or per unit and indicator; columns are field keys, and in a grid ``row.field`` for each cell), so a
rule costs a few array operations whatever the number of units, never a Python call per unit.
A grid rule runs for every row (names are columns) or every column (names are rows): one pandera
check per position, each still vectorised over the units.

``check_form`` is the one place that turns pandera's ``failure_cases`` into findings: which cells
broke which type check, and which rows broke which rule, with the values and the rule's message.
Not yet wired into ``validate`` (which still runs ``consolidate.schemas``): the next step of issue 23.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pandera.pandas as pa

from consolidate.schemas.checks import exact, is_number, non_negative, numbers, percent, whole

from ..core import definition as D
from ..core.numbers import format_number
from ..core.rules import ZERO, Binary, Call, Comparison, Expr, Name, Negative, Number, compare

# The names of the type checks are the catalogue's codes (core.problems), as consolidate.schemas names them.
NOT_A_NUMBER, TOO_LARGE, NOT_WHOLE, NEGATIVE, OUT_OF_RANGE, NOT_IN_LIST, MISSING = (
    "not-a-number", "count-too-large", "not-whole-number", "negative-count", "rate-out-of-range", "not-in-list",
    "not_nullable")

Operand = Callable[[str], pd.Series]


@dataclass(frozen=True)
class Position:
    """Where one compiled check of a rule runs: the whole frame row, or one grid row or column."""

    rule: D.Rule
    row: str = ""  # a grid row, for a rule over columns
    column: str = ""  # a grid column, for a rule over rows

    def cell(self, name: str) -> str:
        """The frame column a name of the rule stands for here."""
        if self.row:
            return f"{self.row}.{name}"
        if self.column:
            return f"{name}.{self.column}"
        return name


@dataclass(frozen=True)
class Breach:
    """A rule broken on one row of the frame: the values it saw and what to tell the unit and the clerk."""

    rule: D.Rule
    index: object  # the frame's index label of the row (a unit, or a unit and an indicator)
    cells: tuple[str, ...]  # the frame columns the rule read, the first one where the problem is shown
    values: dict[str, float | None]
    message: str
    fix_unit: str
    fix_clerk: str
    row: str = ""
    column: str = ""
    place: str = ""  # in a grid: "dòng 01 “Tư pháp – Hộ tịch”" or "cột (5) “Đã giải quyết – Tổng số”"


@dataclass(frozen=True)
class CellFailure:
    index: object
    column: str
    check: str  # a catalogue code: not-a-number, not-whole-number, …, or not_nullable for a blank required cell


@dataclass
class Findings:
    cells: list[CellFailure] = field(default_factory=list)
    breaches: list[Breach] = field(default_factory=list)


def frame_columns(form: D.Form) -> list[str]:
    """The columns of the frame a form's checks run over."""
    if form.layout == D.GRID:
        return [f"{r.key}.{f.key}" for r in form.rows for f in form.fields]
    return [f.key for f in form.fields]


def positions(form: D.Form, rule: D.Rule) -> list[Position]:
    if rule.scope == D.ROW_SCOPE:
        return [Position(rule, row=r.key) for r in form.rows]
    if rule.scope == D.COLUMN_SCOPE:
        return [Position(rule, column=f.key) for f in form.numeric_fields]
    return [Position(rule)]


# Vectorised evaluation ---------------------------------------------------------------------------


def evaluate(expr: Expr, operand: Operand, index: pd.Index) -> pd.Series:
    """An expression over whole columns: floats, NaN where an operand is blank or not a number."""
    if isinstance(expr, Number):
        return pd.Series(expr.value, index=index, dtype=float)
    if isinstance(expr, Name):
        return operand(expr.key)
    if isinstance(expr, Negative):
        return -evaluate(expr.operand, operand, index)
    if isinstance(expr, Binary):
        a, b = evaluate(expr.left, operand, index), evaluate(expr.right, operand, index)
        if expr.op == "+":
            return a + b
        if expr.op == "-":
            return a - b
        if expr.op == "*":
            return a * b
        return (a / b).where(b != 0)  # a share of nothing: the rule is skipped, as core.rules does
    if isinstance(expr, Call):
        args = [evaluate(a, operand, index) for a in expr.args]
        if expr.function == "abs":
            return args[0].abs()
        total = args[0]
        for a in args[1:]:
            total = total + a  # NaN stays NaN: a blank part leaves the sum blank
        return total
    raise TypeError(f"not an expression: {expr!r}")




def holds(check: Comparison, operand: Operand, index: pd.Index, tolerance: float = 0.0) -> pd.Series:
    """True where the rule holds or does not apply (an operand blank or not a number), False where broken."""
    sides = [evaluate(e, operand, index) for e in check.operands]
    sides = [s.where(np.isfinite(s)) for s in sides]  # an overflow is no figure either
    applies = pd.concat(sides, axis=1).notna().all(axis=1)
    result = pd.Series(True, index=index)
    for op, a, b in zip(check.ops, sides, sides[1:]):
        result &= compare(op, a, b, tolerance)
    return ~applies | result


def operands(frame: pd.DataFrame, position: Position, missing: str) -> Operand:
    """Names of a rule at a position → the frame's columns as numbers (a blank as 0 with ``missing = "zero"``;
    text stays no number, so the rule is left to the type checks there)."""

    def operand(name: str) -> pd.Series:
        column = position.cell(name)
        raw = frame[column] if column in frame else pd.Series(np.nan, index=frame.index, dtype=float)
        values = numbers(raw)
        if missing == ZERO:
            values = values.where(~raw.isna(), 0.0)
        return values

    return operand


def rule_mask(position: Position, frame: pd.DataFrame) -> pd.Series:
    rule = position.rule
    return holds(rule.check, operands(frame, position, rule.missing), frame.index, rule.tolerance)


# pandera ------------------------------------------------------------------------------------------


def _in_list(options: tuple[str, ...]) -> Callable[[pd.Series], pd.Series]:
    allowed = set(options)
    return lambda column: column.isna() | column.map(lambda v: isinstance(v, str) and v.strip() in allowed)


def column_checks(f: D.Field) -> list[pa.Check]:
    """The type checks of one column, in the order a cell's first failure is its problem."""
    if f.type == D.COUNT:
        return [pa.Check(is_number, name=NOT_A_NUMBER), pa.Check(exact, name=TOO_LARGE),
                pa.Check(whole, name=NOT_WHOLE), pa.Check(non_negative, name=NEGATIVE)]
    if f.type == D.PERCENT:
        return [pa.Check(is_number, name=NOT_A_NUMBER), pa.Check(percent, name=OUT_OF_RANGE)]
    if f.type == D.DECIMAL:
        return [pa.Check(is_number, name=NOT_A_NUMBER)]
    if f.type == D.CHOICE:
        return [pa.Check(_in_list(f.options), name=NOT_IN_LIST)]
    return []  # text, date, yes-no: the reader decides what it read (when the engine takes definitions)


@dataclass(frozen=True)
class Compiled:
    schema: pa.DataFrameSchema
    checks: dict[str, Position]  # a DataFrame check's name → the rule and position it runs


def compile_form(form: D.Form) -> Compiled:
    """The form's pandera schema; a rule's check is named by its key, with "@row" or "@column" in a grid."""
    by_key = {f.key: f for f in form.fields}
    columns = {}
    for name in frame_columns(form):
        f = by_key[name.rsplit(".", 1)[-1]]
        columns[name] = pa.Column(None, nullable=not f.required, required=False, checks=column_checks(f))
    checks: dict[str, Position] = {}
    dataframe_checks = []
    for rule in form.rules:
        for position in positions(form, rule):
            name = rule.key + (f"@{position.row or position.column}" if position.row or position.column else "")
            checks[name] = position
            dataframe_checks.append(pa.Check(_bound(position), name=name))
    return Compiled(pa.DataFrameSchema(columns, checks=dataframe_checks, name=form.sheet), checks)


def _bound(position: Position) -> Callable[[pd.DataFrame], pd.Series]:
    return lambda frame: rule_mask(position, frame)


# The one translation point --------------------------------------------------------------------------


def check_form(form: D.Form, frame: pd.DataFrame, compiled: Compiled | None = None) -> Findings:
    """Every type failure and every broken rule of a frame, each with the row it is on; rules are
    rendered with the row's values."""
    compiled = compiled or compile_form(form)
    findings = Findings()
    if frame.empty:
        return findings
    try:
        compiled.schema.validate(frame, lazy=True)
        return findings
    except pa.errors.SchemaErrors as exc:
        failures = exc.failure_cases
    for _, f in failures.iterrows():
        name = f["check"]
        if name in compiled.checks:
            continue
        if f["index"] is not None and not (isinstance(f["index"], float) and np.isnan(f["index"])):
            findings.cells.append(CellFailure(f["index"], str(f["column"]), str(name)))
    for name, position in compiled.checks.items():
        broken = failures.loc[failures["check"] == name, "index"]
        for index in dict.fromkeys(broken):  # in the frame's order, once each
            findings.breaches.append(_breach(form, frame, position, index))
    return findings


def _breach(form: D.Form, frame: pd.DataFrame, position: Position, index: object) -> Breach:
    rule = position.rule
    names = rule.check.names()
    values: dict[str, float | None] = {}
    for name in names:
        column = position.cell(name)
        value = numbers(frame.loc[[index], column]).iloc[0] if column in frame else np.nan
        values[name] = None if np.isnan(value) else float(value)
        if values[name] is None and rule.missing == ZERO:
            values[name] = 0.0
    labels = form.names(rule.scope)
    message = rule.message.render(values) if rule.message else rule.check.render(
        {n: f"{labels.get(n, n)} ({format_number(values[n])})" for n in names}) + ": không đúng."
    fix_clerk = rule.fix_clerk.render(values) if rule.fix_clerk else ""
    fix_unit = rule.fix_unit.render(values) if rule.fix_unit else fix_clerk
    if position.row:
        row = form.row(position.row)
        place = f"dòng {row.code} “{row.label}”"
    elif position.column:
        column = form.field(position.column)
        place = f"cột ({column.code}) “{column.name}”"
    else:
        place = ""
    return Breach(rule=rule, index=index, cells=tuple(position.cell(n) for n in names), values=values,
                  message=message, fix_unit=fix_unit, fix_clerk=fix_clerk, row=position.row, column=position.column,
                  place=place)

