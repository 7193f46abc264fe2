"""DHIS2 ``dataValueSets`` in its JSON layout: ``{"dataSet": …, "dataValues": [{"dataElement", "period",
"orgUnit", "categoryOptionCombo", "attributeOptionCombo", "value", "comment"}, …]}``, one file per data
set, for ``POST /api/dataValueSets`` with each column's identifier scheme in the query (``dryRun=true``
first). The schemes go in the query, not in the file: DHIS2 2.43 reads the file's
``dataElementIdScheme`` as the data set's scheme (dhis2-core DataEntryInput.fromJson)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from ..core.observations import Observation
from .dhis2_sending import write_payloads
from .mapping import Dhis2Mapping
from .output import ExportResult

DHIS2_JSON = "dhis2-gia-tri.json"
SUFFIX = ".json"


def _payload(data_set: str, values: list[dict[str, str]]) -> bytes:
    body: dict[str, object] = {"dataSet": data_set} if data_set else {}
    body["dataValues"] = values
    return (json.dumps(body, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def write_dhis2_json(observations: Iterable[Observation], out: Path, mapping: Dhis2Mapping) -> ExportResult:
    """``dhis2-gia-tri.json`` (or one per data set) in ``out``, UTF-8 without a byte-order mark (it is for
    the server), and ``dhis2-xoa.json`` when values sent before are gone; what was written and left out."""
    return write_payloads(observations, out, mapping, SUFFIX, _payload)
