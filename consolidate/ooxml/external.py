"""Formulas that reach outside the workbook: found when a file is read, removed from its feedback copy.

A unit's figures come from the values the file stores, never from a formula
being run. But a feedback copy goes back to the unit and is opened in Excel,
where such a formula would run again: ``HYPERLINK`` and ``WEBSERVICE`` can send
the sheet's data to any address, DDE (``cmd|'/C calc'!A0``), ``CALL``,
``REGISTER`` and add-in (``_xll.``) functions run programs, ``RTD`` and
``IMAGE`` fetch from elsewhere, and a reference to another workbook
(``[1]Sheet1!A1``) reads whatever file is at that path on the reader's machine.
So such a formula is logged (``formula-external``) and, in the copy, replaced
by the value it had when the unit saved the file.
"""

from __future__ import annotations

import html
import re
import zipfile
from pathlib import Path
from typing import Iterable

from .xml_text import parse

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"

# Functions that fetch, send or run something outside the workbook; written with or without
# Excel's future-function prefix (_xlfn.WEBSERVICE).
_CALLS = re.compile(
    r"(?<![\w.])(?:_xlfn\.)?(?:HYPERLINK|WEBSERVICE|RTD|CALL|REGISTER(?:\.ID)?|EXEC|IMAGE)\s*\("
    r"|(?<![\w.])_xll\.[\w.]+\s*\(",  # a function of an add-in: code on the reader's machine
    re.IGNORECASE,
)
# Another workbook: "[1]Sheet1!A1" as files store it (an index into the external links), or a
# path spelled out ('C:\Báo cáo\[Book.xlsx]Sheet1'!A1). A table's columns (Table1[Cột]) follow
# a name, so they are not taken for one.
_WORKBOOK_REF = re.compile(r"(?<![\w\]])\[\d+\](?![\],\[;])|\[[^\[\]]+\.(?:xl\w*|csv|ods)\]|'[^']*[\\/][^']*'!",
                           re.IGNORECASE)
_STRING = re.compile(r'"(?:[^"]|"")*"')


# A name a formula may use (Ngoai, Sheet1!Ngoai): not a function, a sheet or a table.
_NAME_TOKEN = re.compile(r"(?<![\w.\\])([^\W\d][\w.]*)(?![\w.(\[!])")


def is_external(formula: str, names: frozenset[str] = frozenset()) -> bool:
    """Whether a formula (with or without its '=') reaches outside the workbook, itself or through one
    of ``names`` (upper case: the defined names that do, see ``external_names``).

    String literals are left out first: ``="a|b"`` is text, not DDE.
    """
    code = _STRING.sub('""', formula)
    if "|" in code or _CALLS.search(code) is not None or _WORKBOOK_REF.search(code) is not None:
        return True
    return bool(names) and any(token.upper() in names for token in _NAME_TOKEN.findall(code))


def is_external_xml(text: str, names: frozenset[str] = frozenset()) -> bool:
    """``is_external`` for a formula as the sheet's XML writes it (``&quot;`` for ``"``)."""
    return is_external(html.unescape(text) if "&" in text else text, names)


def external_names(defined: Iterable[tuple[str, str]]) -> frozenset[str]:
    """The defined names (upper case) whose formula reaches outside the workbook, directly or through
    another such name: a cell's ``=Ngoai`` runs what ``Ngoai`` stands for."""
    defined = [(name.upper(), text or "") for name, text in defined]
    found: set[str] = set()
    grew = True
    while grew:
        grew = False
        for name, text in defined:
            if name not in found and is_external(text, frozenset(found)):
                found.add(name)
                grew = True
    return frozenset(found)


# A superset, on a part's raw bytes: a formula or a defined name whose text has a '|' or a '[' or
# names one of the functions above. Only a part where it matches needs a closer look.
MAYBE_EXTERNAL = re.compile(
    rb"<(?:[\w.-]+:)?(?:f|definedName)[\s>][^<]*?(?:\||\[|(?i:hyperlink|webservice|rtd|call|register|exec|image|_xll\.))"
)


# XML can spell a formula so the pattern above does not see it: a character reference (&#72; for H,
# &#124; for |), a CDATA section or a comment splitting a function's name.
HIDDEN_TEXT = (b"&#", b"<![CDATA[", b"<!--")


def may_hold_external(xml: bytes) -> bool:
    """Whether a sheet's (or the workbook's) XML may hold a formula or a name that reaches outside the
    workbook; no false negatives, given the names it defines are looked at too. A part with text
    spelt in any of the HIDDEN_TEXT ways is a "maybe": the exact check reads the text unescaped."""
    if not (b"<f" in xml or b":f" in xml or b"definedName" in xml):
        return False
    return MAYBE_EXTERNAL.search(xml) is not None or any(hidden in xml for hidden in HIDDEN_TEXT)


def package_scan(path: Path) -> tuple[bool, frozenset[str]]:
    """The cheap test first: whether any XML part's raw text may hold such a formula or name;
    and the workbook's names that reach outside."""
    try:
        with zipfile.ZipFile(path) as zf:
            # every part, whatever its name: a sheet may be stored as sheet1.dat (the relationships say so)
            maybe = any(may_hold_external(zf.read(info)) for info in zf.infolist())
            if not maybe:
                return False, frozenset()
            workbook = zf.read("xl/workbook.xml")
    except Exception:  # noqa: BLE001 - a package the reader could open; it reports its own troubles
        return False, frozenset()
    try:
        defined = [(el.get("name") or "", el.text or "") for el in parse(workbook).iter(f"{{{MAIN_NS}}}definedName")]
    except Exception:  # noqa: BLE001 - names unreadable: the formulas are still looked at
        defined = []
    return True, external_names(defined)
