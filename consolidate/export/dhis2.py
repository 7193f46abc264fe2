"""What the two DHIS2 layouts share: which stored values become DHIS2 data values, under which codes.

Only accepted figures are sent: a flagged figure stays in the history and the tidy CSV, but DHIS2
would store it as a fact. A blank cell is not sent either (in DHIS2 an empty value deletes the one
stored). Codes come from the mapping file only (codes or UIDs, per column: ``Dhis2Mapping.scheme``);
a value whose field or unit has no code, or whose period DHIS2 would refuse, is left out and
reported, one problem per field, unit or period, with how many values it kept out.

The values are grouped by the DHIS2 data set of their form (the mapping's form rows): one payload per
data set, because DHIS2 takes one ``dataSet`` per import. Two values under one DHIS2 key would make
DHIS2 2.43 reject the whole group, so they stop the export before anything is written.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from ..core import problems as P
from ..core.observations import ACCEPTED, Observation
from ..core.template import field_label
from .mapping import COMBO as COMBO_COLUMN, DATA_ELEMENT as ELEMENT_COLUMN, DATA_SET as SET_COLUMN, \
    ORG_UNIT as UNIT_COLUMN, Dhis2Mapping
from .output import ExportError, ExportResult, number_text
from ..core.periods import EXAMPLES, is_dhis2_period

# The names DHIS2's dataValueSets JSON gives a data value's keys (the CSV layout has its own, dhis2_csv.py).
DATA_ELEMENT, PERIOD, ORG_UNIT, COMBO, ATTRIBUTE_COMBO, VALUE, COMMENT = (
    "dataElement", "period", "orgUnit", "categoryOptionCombo", "attributeOptionCombo", "value", "comment")
KEY = (DATA_ELEMENT, PERIOD, ORG_UNIT, COMBO, ATTRIBUTE_COMBO)  # what DHIS2 stores one value under
# The import's parameter for each column's identifier scheme (dhis2-core ImportOptions.IdSchemes).
SCHEME_PARAMETERS = (("dataElementIdScheme", ELEMENT_COLUMN), ("orgUnitIdScheme", UNIT_COLUMN),
                     ("categoryOptionComboIdScheme", COMBO_COLUMN), ("dataSetIdScheme", SET_COLUMN))


def import_parameters(mapping: Dhis2Mapping) -> str:
    """The query string that tells DHIS2 how to look up each column: "dataElementIdScheme=CODE&…"."""
    return "&".join(f"{name}={mapping.scheme(column)}" for name, column in SCHEME_PARAMETERS)


def key_of(value: dict[str, str]) -> tuple[str, ...]:
    return tuple(value.get(k, "") for k in KEY)


def data_values(observations: Iterable[Observation], mapping: Dhis2Mapping) -> tuple[dict[str, list[dict[str, str]]], ExportResult]:
    """The data values to send, grouped by data set ("" where the form names none), each with DHIS2's keys,
    and what was left out and why.

    ``categoryOptionCombo`` is absent where the mapping leaves it empty (DHIS2 uses the default combo),
    ``attributeOptionCombo`` where the export names none. The values are strings, as DHIS2 writes them
    itself: "7", "97.8". ExportError when two values would go under one DHIS2 key.
    """
    result = ExportResult()
    groups: dict[str, list[dict[str, str]]] = {}
    sent: dict[tuple[str, ...], Observation] = {}
    bad_periods: Counter[str] = Counter()
    no_field: Counter[str] = Counter()
    no_unit: Counter[str] = Counter()
    labels: dict[str, str] = {}
    names: dict[str, str] = {}
    for o in observations:
        if o.status != ACCEPTED:
            result.rejected += 1
            continue
        if o.value is None or o.value == "":
            result.blank += 1
            continue
        code = o.field_code
        mapped_field, mapped_unit = mapping.fields.get(code), mapping.units.get(o.unit_code)
        if not is_dhis2_period(o.period) or mapped_field is None or mapped_unit is None:
            result.unmapped += 1
            if not is_dhis2_period(o.period):
                bad_periods[o.period] += 1
            else:
                if mapped_field is None:
                    no_field[code] += 1
                    labels[code] = field_label(o.form, o.field, o.item)
                if mapped_unit is None:
                    no_unit[o.unit_code] += 1
                    names.setdefault(o.unit_code, o.unit_name)
            continue
        element, combo = mapped_field
        value = {DATA_ELEMENT: element, PERIOD: o.period, ORG_UNIT: mapped_unit}
        if combo:
            value[COMBO] = combo
        if mapping.attribute_option_combo:
            value[ATTRIBUTE_COMBO] = mapping.attribute_option_combo
        value[VALUE] = o.value if isinstance(o.value, str) else number_text(o.value)
        value[COMMENT] = source_comment(o)
        if (first := sent.setdefault(key_of(value), o)) is not o:
            raise ExportError(f"Hai giá trị sẽ được gửi vào cùng một ô của DHIS2 (phần tử dữ liệu {element}, kỳ "
                              f"{o.period}, đơn vị {mapped_unit}): {first.unit_name} – {first.field_code} và "
                              f"{o.unit_name} – {o.field_code}. DHIS2 sẽ từ chối cả lần nhập; sửa tệp ánh xạ "
                              f"{mapping.name} để mỗi chỉ tiêu, mỗi đơn vị có mã riêng.")
        groups.setdefault(mapping.data_sets.get(o.form, ""), []).append(value)
        result.zeros += value[VALUE] == "0"
        if o.period not in result.periods:
            result.periods.append(o.period)
    result.exported = len(sent)
    result.problems = (
        [P.ExportPeriodInvalid(period=p, count=n, examples=EXAMPLES) for p, n in bad_periods.items()]
        + [P.ExportFieldUnmapped(field=c, label=labels[c], count=n, mapping=mapping.name) for c, n in no_field.items()]
        + [P.ExportUnitUnmapped(unit=names[u] or u, unit_name=names[u] or u, unit_code=u, count=n,
                                  mapping=mapping.name)
           for u, n in no_unit.items()]
    )
    return groups, result


def source_comment(o: Observation) -> str:
    """Where the value came from, so a DHIS2 user can trace it back: "bao-cao.xlsx, Biểu mẫu 1!J7"."""
    where = f"{o.sheet}!{o.cell}" if o.cell else o.sheet
    return ", ".join(x for x in (o.file, where) if x)
