"""Exports: stored values written as tidy CSV, a Frictionless Data Package or DHIS2 data values, one module per format."""

# The writers are pure over a list of ``core.observations.Observation`` (plus the registry for names
# and, for DHIS2, the mapping file): they neither open the history nor know the workbook, so tests
# build observations in memory. Only ``core``, ``settings`` and the standard library (csv, json) are
# imported (setup.cfg, contract 8). Every file is written atomically into the out folder.
#   csv          so-lieu.csv, tidy long format (tidy.py)
#   datapackage  so-lieu.csv + datapackage.json (datapackage.py)
#   dhis2-json   dhis2-gia-tri.json, dataValueSets with codes (dhis2_json.py, dhis2.py, mapping.py)
#   dhis2-csv    dhis2-gia-tri.csv, the same in DHIS2's CSV layout (dhis2_csv.py)

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from ..core.observations import Observation
from ..core.registry import Registry
from .datapackage import write_datapackage
from .dhis2_csv import write_dhis2_csv
from .dhis2_json import write_dhis2_json
from .mapping import MAPPING_CSV, Dhis2Mapping, read_mapping, write_mapping_template
from .output import ExportError, ExportResult
from ..core.periods import EXAMPLES as PERIOD_EXAMPLES, canonical_period, is_dhis2_period
from .tidy import write_tidy_csv

CSV, DATAPACKAGE, DHIS2_JSON, DHIS2_CSV = "csv", "datapackage", "dhis2-json", "dhis2-csv"
FORMATS = (CSV, DATAPACKAGE, DHIS2_JSON, DHIS2_CSV)
DHIS2_FORMATS = (DHIS2_JSON, DHIS2_CSV)

__all__ = ["DHIS2_FORMATS", "FORMATS", "MAPPING_CSV", "PERIOD_EXAMPLES", "Dhis2Mapping", "ExportError", "ExportResult",
           "canonical_period", "export_observations", "is_dhis2_period", "read_mapping", "write_mapping_template"]


def export_observations(observations: Iterable[Observation], fmt: str, out: Path, *, registry: Registry | None = None,
                        mapping: Dhis2Mapping | None = None) -> ExportResult:
    """Write ``observations`` in format ``fmt`` into ``out``; a DHIS2 format needs ``mapping``."""
    observations = list(observations)
    out = Path(out)
    if fmt in DHIS2_FORMATS:
        if mapping is None:
            raise ValueError(f"{fmt} needs a DHIS2 mapping")
        writer = write_dhis2_json if fmt == DHIS2_JSON else write_dhis2_csv
        return writer(observations, out, mapping)
    if fmt == CSV:
        paths = [write_tidy_csv(observations, out, registry)]
    elif fmt == DATAPACKAGE:
        paths = write_datapackage(observations, out, registry)
    else:
        raise ValueError(f"unknown export format {fmt!r}; one of {FORMATS}")
    return ExportResult(paths=paths, exported=len(observations), periods=list(dict.fromkeys(o.period for o in observations)))
