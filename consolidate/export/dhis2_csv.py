"""DHIS2 ``dataValueSets`` in its CSV layout: the documented header
``dataelement,period,orgunit,catoptcombo,attroptcombo,value,storedby,lastupdated,comment,followup``
then one data value per line, codes rather than ids (``idScheme=code``).

DHIS2 reads the columns in this order and takes the first line for the header. The file is plain
UTF-8 without a byte-order mark: it is for the server, and the mark would sit in front of the first
column's name.
Only the comment (a file name a unit chose) is guarded against Excel formulas; a code or a number is
sent exactly as it is.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from pathlib import Path

from ..core.observations import Observation
from ..core.text import excel_safe
from .dhis2 import COMBO, COMMENT, DATA_ELEMENT, ORG_UNIT, PERIOD, VALUE, data_values
from .mapping import Dhis2Mapping
from .output import ExportResult, write_atomically

DHIS2_CSV = "dhis2-gia-tri.csv"
DHIS2_CSV_HEADER = ("dataelement", "period", "orgunit", "catoptcombo", "attroptcombo", "value", "storedby",
                    "lastupdated", "comment", "followup")


def write_dhis2_csv(observations: Iterable[Observation], out: Path, mapping: Dhis2Mapping) -> ExportResult:
    """``dhis2-gia-tri.csv`` in ``out``; what was written and what was left out."""
    values, result = data_values(observations, mapping)
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(DHIS2_CSV_HEADER)
    for v in values:
        writer.writerow([v[DATA_ELEMENT], v[PERIOD], v[ORG_UNIT], v.get(COMBO, ""), "", v[VALUE], "", "",
                         excel_safe(v[COMMENT]), ""])
    result.paths.append(write_atomically(Path(out) / DHIS2_CSV, buffer.getvalue().encode("utf-8")))
    return result
