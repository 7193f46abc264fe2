"""What every exporter shares: writing a file atomically, numbers as text, text that Excel cannot run
(``core.text.excel_safe``, the guard every CSV of the tool shares).

The export package may import only ``core`` and ``settings`` (it sits beside ``write``, not on
it), so the temporary-then-rename step is its own here: a reader of the out folder (DHIS2's
import job, an analyst's script, Excel) sees the old file or the new one, never half of one.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from ..core import problems as P


@dataclass
class ExportResult:
    """What one export wrote and what it left out, for the CLI to say and for tests to check."""

    paths: list[Path] = field(default_factory=list)
    exported: int = 0  # values (rows) written
    periods: list[str] = field(default_factory=list)  # the periods written, in the order they came
    rejected: int = 0  # DHIS2 only: flagged figures, never sent
    blank: int = 0  # DHIS2 only: blank cells, never sent (a blank value would delete DHIS2's)
    unmapped: int = 0  # DHIS2 only: values left out because a field or unit has no DHIS2 code
    problems: list[P.Problem] = field(default_factory=list)  # one per missing mapping or bad period
    zeros: int = 0  # DHIS2 only: values "0" sent (DHIS2 keeps them only where the data element stores zeros)
    deletions: int = 0  # DHIS2 only: keys sent before for these periods that no longer have a valid value
    commands: list[str] = field(default_factory=list)  # DHIS2 only: how to send each file (dry run first)


def number_text(value: float | int) -> str:
    """A number as DHIS2 and a CSV reader expect it: a dot, no exponent, no ".0" on a whole number.

    >>> number_text(7.0), number_text(97.8), number_text(0.1 + 0.2), number_text(1e20), number_text(-0.0)
    ('7', '97.8', '0.30000000000000004', '100000000000000000000', '0')
    """
    text = format(Decimal(repr(float(value))), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def write_atomically(path: Path, data: bytes) -> Path:
    """Write ``data`` to a temporary file beside ``path`` and rename it over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".~{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


class ExportError(Exception):
    """An export that cannot be made (no history yet, no mapping file, a period not stored): the
    message says why in Vietnamese and is shown as it is."""
