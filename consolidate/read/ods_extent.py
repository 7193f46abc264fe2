"""How far each sheet of an .ods reaches, found without python-calamine.

As with .xls (biff.py), calamine allocates an OpenDocument sheet as one rectangle
from A1 to its last value: a 1 kB file whose rows say "repeat 200,000 times"
before one value costs it over a gigabyte. Trailing empty rows and cells do not
count (calamine trims them), repeated cells with a value do. The content is
streamed with defusedxml (no entity expansion), one row at a time.
"""

from __future__ import annotations

import io
import zipfile

from defusedxml.ElementTree import iterparse

MAX_CONTENT_BYTES = 64 << 20  # content.xml unpacked; a report's is tens of kilobytes

_TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
_OFFICE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"
_CELLS = {_TABLE + "table-cell", _TABLE + "covered-table-cell"}


class TooLarge(ValueError):
    """content.xml unpacks to more than MAX_CONTENT_BYTES."""


def _repeat(elem, attr: str) -> int:
    try:
        return max(1, int(elem.get(_TABLE + attr, "1")))
    except ValueError:
        return 1


def sheet_extents(data: bytes) -> list[tuple[str, int, int]]:
    """(sheet name, rows, columns) from A1 to each sheet's last value, for an .ods file's bytes."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        info = zf.getinfo("content.xml")
        if info.file_size > MAX_CONTENT_BYTES:
            raise TooLarge(info.file_size)
        content = zf.read(info)
    extents: list[tuple[str, int, int]] = []
    name, row, last_row, last_col = "", 0, -1, -1
    col, row_has_value = 0, False
    for event, elem in iterparse(io.BytesIO(content), events=("start", "end")):
        tag = elem.tag
        if event == "start":
            if tag == _TABLE + "table":
                name, row, last_row, last_col = elem.get(_TABLE + "name", ""), 0, -1, -1
            elif tag == _TABLE + "table-row":
                col, row_has_value = 0, False
            continue
        if tag in _CELLS:
            repeat = _repeat(elem, "number-columns-repeated")
            if elem.get(_OFFICE + "value-type") is not None or len(elem):  # a typed value, or text
                last_col = max(last_col, col + repeat - 1)
                row_has_value = True
            col += repeat
            elem.clear()
        elif tag == _TABLE + "table-row":
            repeat = _repeat(elem, "number-rows-repeated")
            if row_has_value:
                last_row = max(last_row, row + repeat - 1)
            row += repeat
            elem.clear()
        elif tag == _TABLE + "table":
            if last_row >= 0:
                extents.append((name, last_row + 1, last_col + 1))
            elem.clear()
    return extents
