"""DHIS2 ``dataValueSets`` in its JSON layout: ``{"dataValues": [{"dataElement", "period", "orgUnit",
"categoryOptionCombo", "value", "comment"}, …]}``, codes rather than ids, for
``POST /api/dataValueSets?idScheme=code`` (``dryRun=true`` first)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from ..core.observations import Observation
from .dhis2 import data_values
from .mapping import Dhis2Mapping
from .output import ExportResult, write_atomically

DHIS2_JSON = "dhis2-gia-tri.json"


def write_dhis2_json(observations: Iterable[Observation], out: Path, mapping: Dhis2Mapping) -> ExportResult:
    """``dhis2-gia-tri.json`` in ``out`` (UTF-8, no byte-order mark: it is for the server); what was
    written and what was left out."""
    values, result = data_values(observations, mapping)
    text = json.dumps({"dataValues": values}, ensure_ascii=False, indent=1) + "\n"
    result.paths.append(write_atomically(Path(out) / DHIS2_JSON, text.encode("utf-8")))
    return result
