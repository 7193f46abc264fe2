"""The template version stamp a unit's .xlsx carries, read from its ``docProps/custom.xml`` part."""

from __future__ import annotations

import unicodedata
import zipfile
from pathlib import Path

from defusedxml import ElementTree

from ..core.template import STAMP_PROPERTY

CUSTOM_PART = "docProps/custom.xml"
MAX_CUSTOM_BYTES = 1 << 16  # a few properties: a larger part is not a template's, and is not inflated
_NAME = STAMP_PROPERTY.encode("utf-8")


def stamp_from_zip(zf: zipfile.ZipFile) -> str:
    """The stamp of an open package, "" when it has none (or its properties part is not one we wrote).

    Never raises: a stamp only adds a warning, and a file that cannot give one is read all the same.
    """
    try:
        info = zf.getinfo(CUSTOM_PART)
        if info.file_size > MAX_CUSTOM_BYTES:
            return ""
        key = (info.CRC, info.file_size, info.compress_size, info.compress_type)
        if key in _SEEN:  # every file of one template repeats this part byte for byte: parsed once per process
            return _SEEN[key]
        part = zf.read(info)  # checks the CRC the key was made of
        stamp = _parse(part)
    except Exception:  # a missing part, a broken zip entry
        return ""
    if len(_SEEN) < _SEEN_MAX:
        _SEEN[key] = stamp
    return stamp


# A country's inbox is thousands of files from a few templates: their properties parts parsed once each.
# A part forged to share another's checksum and sizes could at worst borrow its stamp (a warning, or none).
_SEEN: dict[tuple[int, int, int, int], str] = {}
_SEEN_MAX = 256


def _parse(part: bytes) -> str:
    """The stamp in a custom properties part, "" when it has none."""
    try:
        if _NAME not in part:  # nearly every file: no stamp, no parse
            return ""
        root = ElementTree.fromstring(part)
    except Exception:  # markup that is not XML, or refused by defusedxml
        return ""
    for prop in root:
        if unicodedata.normalize("NFC", prop.get("name") or "") == STAMP_PROPERTY:
            return unicodedata.normalize("NFC", "".join(prop.itertext()).strip())
    return ""


def stamp_of(path: Path) -> str:
    """The stamp of an .xlsx on disk (the careful reading path), "" when it has none."""
    try:
        with zipfile.ZipFile(path) as zf:
            return stamp_from_zip(zf)
    except Exception:  # not a zip after all, or gone: the reader says so in its own words
        return ""
