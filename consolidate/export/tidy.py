"""The tidy CSV: one row per stored value, the long format every analysis tool and Excel can load.

Columns, exactly: ``period,unit_code,unit_name,form,field,value,status,file,sheet,cell``; ``field``
is ``core.observations.field_code`` ("form1.computers", "form2.online_payment.after"). A flagged
figure is kept, with ``status`` "rejected" and its value as the unit typed it, so the file holds the
whole history; a reader that wants only usable figures filters on ``status`` = "accepted".
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from pathlib import Path

from ..core.observations import Observation
from ..core.registry import Registry
from ..core.text import excel_safe
from .output import number_text, write_atomically

TIDY_CSV = "so-lieu.csv"
TIDY_COLUMNS = ("period", "unit_code", "unit_name", "form", "field", "value", "status", "file", "sheet", "cell")
# UTF-8 with a byte-order mark: without it, Excel on a Vietnamese Windows reads a CSV in the ANSI code
# page (cp1258) and shows "XÃ£ PhÆ°á»›c SÆ¡n" for "Xã Phước Sơn". Python ("utf-8-sig"), pandas, R and
# frictionless all skip the mark.
ENCODING = "utf-8-sig"


def tidy_rows(observations: Iterable[Observation], registry: Registry | None = None) -> list[dict[str, str]]:
    """The rows as plain text, in the order given (the store's), before the Excel guard.

    A unit's name is the one recorded with the value (the name it reported under that period); the
    registry fills it only where the record has none.
    """
    names = {u.code: u.name for u in registry.units} if registry is not None else {}
    rows = []
    for o in observations:
        rows.append({
            "period": o.period,
            "unit_code": o.unit_code,
            "unit_name": o.unit_name or names.get(o.unit_code, ""),
            "form": o.form,
            "field": o.field_code,
            "value": value_text(o.value),
            "status": o.status,
            "file": o.file,
            "sheet": o.sheet,
            "cell": o.cell,
        })
    return rows


def value_text(value: float | int | str | None) -> str:
    """A number in plain decimal form; a rejected figure's text as typed; blank for no value."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return number_text(value)


def tidy_csv_text(observations: Iterable[Observation], registry: Registry | None = None) -> str:
    """The whole CSV as text. Every text cell that could start a formula gets a leading ' (see
    ``core.text.excel_safe``); numbers never need it, so a value column of numbers stays numeric."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(TIDY_COLUMNS)
    observations = list(observations)
    for o, row in zip(observations, tidy_rows(observations, registry)):
        writer.writerow([row[c] if c == "value" and not isinstance(o.value, str) else excel_safe(row[c])
                         for c in TIDY_COLUMNS])
    return buffer.getvalue()


def write_tidy_csv(observations: Iterable[Observation], out: Path, registry: Registry | None = None) -> Path:
    """``so-lieu.csv`` in ``out``, written atomically."""
    return write_atomically(Path(out) / TIDY_CSV, tidy_csv_text(observations, registry).encode(ENCODING))
