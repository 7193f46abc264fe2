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
        part = zf.read(info)
        if _NAME not in part:  # nearly every file: no stamp, no parse
            return ""
        root = ElementTree.fromstring(part)
    except Exception:  # a missing part, a broken zip entry, markup refused by defusedxml
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
