"""A report described as data: its forms, their fields, rows and rules, as plain frozen objects.

``consolidate.settings.definition`` reads them from a TOML file in ``schemas/`` and checks
everything there; the objects here only hold what was checked. They know what a field, a rule and
an aggregate are, never what "Tổng số" is: no report is named in this module.

Three layouts cover the reports a district consolidates:

- ``unit-rows``: a row per unit, the fields as columns under merged group headers (Biểu mẫu 1);
- ``indicator-rows``: a block of indicator rows per unit, the fields as measure columns (Biểu mẫu 2);
- ``grid``: a fixed grid of coded rows × coded columns that every unit sends whole; the district's
  grid is the cell-by-cell aggregate (most statistical reports).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from .rules import SKIP, Comparison, Expr, Template

UNIT_ROWS, INDICATOR_ROWS, GRID = "unit-rows", "indicator-rows", "grid"
LAYOUTS = (UNIT_ROWS, INDICATOR_ROWS, GRID)

COUNT, DECIMAL, PERCENT, TEXT, DATE, YES_NO, CHOICE = "count", "decimal", "percent", "text", "date", "yes-no", "choice"
TYPES = (COUNT, DECIMAL, PERCENT, TEXT, DATE, YES_NO, CHOICE)
NUMERIC = (COUNT, DECIMAL, PERCENT)
TYPE_NAMES = {  # for messages and the reference
    COUNT: "số nguyên không âm", DECIMAL: "số thập phân", PERCENT: "tỷ lệ % từ 0 đến 100", TEXT: "chữ",
    DATE: "ngày", YES_NO: "có/không", CHOICE: "chọn trong danh sách",
}

SUM, MEAN, WEIGHTED_MEAN, MIN, MAX, NONE = "sum", "mean", "weighted-mean", "min", "max", "none"
AGGREGATES = (SUM, MEAN, WEIGHTED_MEAN, MIN, MAX, NONE)
DEFAULT_AGGREGATE = {COUNT: SUM, DECIMAL: SUM, PERCENT: MEAN}  # the rest: NONE

ERROR, WARNING = "error", "warning"  # the catalogue's severities (core.problems)
SEVERITIES = (ERROR, WARNING)

ROW_SCOPE, COLUMN_SCOPE, CELL_SCOPE = "row", "column", "cell"  # a grid rule: for every row, every column, or once

# DHIS2's period types that core.periods can name (Yearly 2024, SixMonthly 2024S1, Quarterly 2024Q3, Monthly 202408).
PERIOD_TYPES = ("Yearly", "SixMonthly", "Quarterly", "Monthly")

# The words a label or title may carry in braces, filled from the report's settings when drawn.
SETTINGS_WORDS = ("area", "district", "province", "year", "period_before", "period_after")
# The words the attachment line may carry.
ATTACHMENT_WORDS = ("number", "day", "month", "year", "issuer", "area")


@dataclass(frozen=True)
class Field:
    """A column: a unit-rows field, a measure of indicator rows, or a column of a grid."""

    key: str
    label: str  # the header as drawn; may hold {period_before} and the like (SETTINGS_WORDS)
    type: str = COUNT
    group: tuple[str, ...] = ()  # the merged headers above the label, outermost first
    code: str = ""  # the column's code in a grid ("1", "2", …)
    required: bool = True
    unit: str = ""  # unit of measure: người, cái, hồ sơ
    help: str = ""  # the template's input message
    short: str = ""  # the name in messages, where the header is long or changes per period
    note: str = ""  # drawn after the label, e.g. "(không bắt buộc)"
    aggregate: str = SUM
    weight: str = ""  # the field that weighs a weighted mean
    options: tuple[str, ...] = ()  # a choice's list
    formula: Expr | None = None  # the template computes the cell (Tổng số = the parts): not typed by the unit
    formula_text: str = ""

    @property
    def numeric(self) -> bool:
        return self.type in NUMERIC

    @property
    def name(self) -> str:
        """What messages call this column."""
        return self.short or self.label


@dataclass(frozen=True)
class Indicator:
    """A row of an indicator-rows form."""

    key: str
    label: str
    code: str = ""


@dataclass(frozen=True)
class Row:
    """A row of a grid: a coded line, maybe indented ("Trong đó"), maybe the sum of other rows."""

    key: str
    code: str
    label: str
    indent: int = 0
    sum_of_rows: tuple[str, ...] = ()  # the rows this one totals (the loader expands "*")

    @property
    def is_total(self) -> bool:
        return bool(self.sum_of_rows)


@dataclass(frozen=True)
class Rule:
    """A validation rule as DHIS2 writes one: an expression with a comparison, an importance, a strategy
    for blanks, and what to say to the unit and to the clerk."""

    key: str
    check: Comparison
    text: str  # the expression as written in the definition
    severity: str = ERROR
    tolerance: float = 0.0
    message: Template = Template(())  # empty: the rule rendered with the values
    fix_unit: Template = Template(())  # empty: fix_clerk
    fix_clerk: Template = Template(())
    missing: str = SKIP
    scope: str = ""  # grids only: ROW_SCOPE (names are columns), COLUMN_SCOPE (names are rows) or CELL_SCOPE
    generated: bool = False  # made by the loader from a total row's sum_of_rows


@dataclass(frozen=True)
class Plausibility:
    """Warnings, never errors: below the target, far from the other units, far from the last report."""

    target: str = ""  # the field holding the province's target (settings' targets take its place)
    result: str = ""  # the field compared with the target
    outliers: bool = True
    z_limit: float = 3.5  # modified z-score beyond which a figure is far from the others
    min_units: int = 5  # fewer units than this say nothing about an outlier
    change: bool = True
    rate_jump: float = 20.0  # percentage points between two reports (percent fields)
    count_jump: float = 0.5  # share of the previous figure (other numeric fields) …
    count_min_jump: float = 3.0  # … and at least this much


@dataclass(frozen=True)
class Form:
    """One sheet of the report, in one of the three layouts."""

    key: str
    sheet: str
    title: str
    layout: str
    fields: tuple[Field, ...]
    indicators: tuple[Indicator, ...] = ()
    rows: tuple[Row, ...] = ()
    rules: tuple[Rule, ...] = ()
    number_label: str = "STT"
    unit_label: str = "Đơn vị"  # unit-rows: the header above the units' names
    indicator_label: str = "Chỉ tiêu"  # indicator-rows: the header above the indicators
    row_label: str = "Chỉ tiêu"  # grid: the header above the rows' labels
    code_label: str = "Mã số"  # grid: the header above the rows' codes
    detail_sheet: str = ""  # the merged workbook's per-unit sheet (indicator-rows, grid)
    notes: tuple[str, ...] = ()
    plausibility: Plausibility = Plausibility()

    def field(self, key: str) -> Field:
        return next(f for f in self.fields if f.key == key)

    def row(self, key: str) -> Row:
        return next(r for r in self.rows if r.key == key)

    @property
    def numeric_fields(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.numeric)

    def names(self, scope: str = "") -> dict[str, str]:
        """The keys a rule of this scope may name, with what messages call them."""
        numeric = self.numeric_fields
        if self.layout != GRID or scope == ROW_SCOPE:
            return {f.key: f.name for f in numeric}
        if scope == COLUMN_SCOPE:
            return {r.key: r.label for r in self.rows}
        return {f"{r.key}.{f.key}": f"{r.label} – {f.name}" for r in self.rows for f in numeric}


@dataclass(frozen=True)
class Report:
    """A whole report: what it is called and numbered, how often it comes, and its forms."""

    key: str
    number: str
    title: str
    forms: tuple[Form, ...]
    attachment: str = "(Kèm theo Báo cáo số: {number} ngày {day} tháng {month} năm {year} của {issuer})"
    period_type: str = "Yearly"
    district_word: str = "huyện"
    province_word: str = "tỉnh"
    layout_version: int = 1

    def form(self, key: str) -> Form:
        return next(f for f in self.forms if f.key == key)

    @property
    def stamp(self) -> str:
        """The template's version stamp: the report and its layout's version ("362/UBND – mẫu 2")."""
        return f"{self.number} – mẫu {self.layout_version}"

    def attachment_line(self, number: str, date: dt.date, issuer: str, area: str = "") -> str:
        return self.attachment.format(number=number, day=f"{date.day:02d}", month=date.month, year=date.year,
                                      issuer=issuer, area=area)

    @property
    def rules(self) -> tuple[Rule, ...]:
        return tuple(r for f in self.forms for r in f.rules)


def fill(text: str, words: dict[str, object]) -> str:
    """A label or title with its {words} filled in (SETTINGS_WORDS; the loader checked there are no others)."""
    return text.format(**{w: words.get(w, "") for w in SETTINGS_WORDS})
