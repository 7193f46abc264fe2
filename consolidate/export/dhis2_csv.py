"""DHIS2 ``dataValueSets`` in its CSV layout: the header
``dataElement,period,orgUnit,categoryOptionCombo,attributeOptionCombo,value,storedBy,lastUpdated,comment,followUp``
then one data value per line, one file per data set (a CSV carries no data set: the command adds
``dataSet=`` to the query).

Why this header: DHIS2 up to 2.42 reads the columns by position and skips the first line
(dhis2-core CsvDataValueSetReader); 2.43 reads them by header name, the fields of its data-entry
input (DataEntryValue.Input), and takes an unknown name ("catoptcombo", the old documentation's) for
a category option, failing the import. These full camelCase names in this order satisfy both.
The file is plain UTF-8 without a byte-order mark: it is for the server, and the mark would sit in
front of the first column's name. Only the comment (a file name a unit chose) is guarded against
Excel formulas; a code or a number is sent exactly as it is.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from pathlib import Path

from ..core.observations import Observation
from ..core.text import excel_safe
from .dhis2 import ATTRIBUTE_COMBO, COMBO, COMMENT, DATA_ELEMENT, ORG_UNIT, PERIOD, VALUE
from .dhis2_sending import write_payloads
from .mapping import Dhis2Mapping
from .output import ExportResult

DHIS2_CSV = "dhis2-gia-tri.csv"
SUFFIX = ".csv"
DHIS2_CSV_HEADER = ("dataElement", "period", "orgUnit", "categoryOptionCombo", "attributeOptionCombo", "value",
                    "storedBy", "lastUpdated", "comment", "followUp")


def _payload(data_set: str, values: list[dict[str, str]]) -> bytes:
    del data_set  # the command carries it
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(DHIS2_CSV_HEADER)
    for v in values:
        writer.writerow([v[DATA_ELEMENT], v[PERIOD], v[ORG_UNIT], v.get(COMBO, ""), v.get(ATTRIBUTE_COMBO, ""),
                         v.get(VALUE, ""), "", "", excel_safe(v.get(COMMENT, "")), ""])
    return buffer.getvalue().encode("utf-8")


def write_dhis2_csv(observations: Iterable[Observation], out: Path, mapping: Dhis2Mapping) -> ExportResult:
    """``dhis2-gia-tri.csv`` (or one per data set) in ``out``, and ``dhis2-xoa.csv`` when values sent before
    are gone; what was written and what was left out."""
    return write_payloads(observations, out, mapping, SUFFIX, _payload)
