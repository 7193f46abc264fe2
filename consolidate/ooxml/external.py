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

Formulas in cells are not the only way out. A conditional format's rule or a
data validation's list is a formula Excel evaluates too; a relationship with
``TargetMode="External"`` (a picture linked, not embedded, from
``file://///host/share/…``, a hyperlink to ``\\\\host\\share``) makes Windows reach
for that address, over SMB with the user's credentials; a document type
declaration may name a DTD on the web. ``package_scan`` finds them all
(``Reach``); the reader logs them, the copy-makers leave them out.

Every part is looked at as text decoded by the encoding it declares
(``xml_text.utf8_part``): a sheet saved in UTF-16 hides nothing from a screen.
"""

from __future__ import annotations

import html
import posixpath
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Iterable
from urllib.parse import unquote

from .macros import MACRO_MARK, RT_VBA, is_macro_sheet
from .xml_text import Unsupported, doctype_address, parse, part_text, utf8_part, without_doctype

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


# A superset, on a part's bytes: a formula, a defined name, a conditional format's or a validation's
# formula whose text has a '|' or a '[' or names one of the functions above. Only a part where it
# matches needs a closer look.
MAYBE_EXTERNAL = re.compile(
    rb"<(?:[\w.-]+:)?(?:f|definedName|formula[12]?)[\s>][^<]*?"
    rb"(?:\||\[|(?i:hyperlink|webservice|rtd|call|register|exec|image|_xll\.))"
)


# XML can spell a formula so the pattern above does not see it: a character reference (&#72; for H,
# &#124; for |), a CDATA section or a comment splitting a function's name.
HIDDEN_TEXT = (b"&#", b"<![CDATA[", b"<!--")


def may_hold_external(xml: bytes) -> bool:
    """Whether a sheet's (or the workbook's) XML may hold a formula or a name that reaches outside the
    workbook; no false negatives, given the names it defines are looked at too. A part with text
    spelt in any of the HIDDEN_TEXT ways is a "maybe": the exact check reads the text unescaped.
    The part is looked at in UTF-8, whatever encoding it was saved in (``xml_text.utf8_part``)."""
    xml = utf8_part(xml)
    if not (b"<f" in xml or b":f" in xml or b"definedName" in xml):
        return False
    return MAYBE_EXTERNAL.search(xml) is not None or any(hidden in xml for hidden in HIDDEN_TEXT)


# Outside the cells' formulas (see the module's docstring) ------------------------------------

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
RT_EXTERNAL_LINK = REL_NS + "/externalLink"
RT_HYPERLINK = REL_NS + "/hyperlink"
RT_IMAGE = REL_NS + "/image"
EXTERNAL_TARGET = re.compile(rb"""TargetMode\s*=\s*["']External["']""")


@dataclass(frozen=True)
class Reach:
    """Something other than a cell's formula that reaches outside the workbook.

    ``kind``: "rule" (a conditional format's formula), "validation" (a data validation's),
    "hyperlink", "picture", "link" (any other relationship to an outside address),
    "dtd" (a document type declaration naming an address).
    """

    kind: str
    part: str
    sheet: str = ""
    where: str = ""  # the cells it applies to (a range), '' when none
    target: str = ""  # the formula (without '=') or the address


@dataclass
class PackageScan:
    """What reaches outside a package: whether any formula or name may (the cheap test), the defined
    names that do, and everything else that does."""

    maybe: bool = False
    names: frozenset[str] = frozenset()
    reaches: list[Reach] = field(default_factory=list)
    macro_sheets: list[str] = field(default_factory=list)  # Excel 4.0 macro sheets, by name (see ``macros``)
    vba: bool = False  # whether the workbook links a VBA project


def rels_source(rels_part: str) -> str:
    """The part a relationships part belongs to ('' for the package's own, _rels/.rels)."""
    folder, name = posixpath.split(rels_part)
    return posixpath.join(posixpath.dirname(folder), name[: -len(".rels")]).lstrip("/")


def _resolve(source: str, target: str) -> str:
    target = unquote(target)
    path = target[1:] if target.startswith("/") else posixpath.join(posixpath.dirname(source), target)
    return posixpath.normpath(path).lstrip("/")


def _relationships(rels: bytes) -> list[dict[str, str]]:
    try:
        tree = parse(without_doctype(rels) or utf8_part(rels))
    except Unsupported:
        return []
    return [dict(el.attrib) for el in tree.iter(f"{{{PKG_REL_NS}}}Relationship")]


def external_relationships(rels: bytes) -> list[tuple[str, str, str]]:
    """(Id, Type, Target) of each relationship of a relationships part that points outside the package."""
    if EXTERNAL_TARGET.search(utf8_part(rels)) is None:
        return []
    found = [(r.get("Id", ""), r.get("Type", ""), r.get("Target", ""))
             for r in _relationships(rels) if r.get("TargetMode") == "External"]
    return found or [("", "", "")]  # unreadable, yet naming an outside target: reported without details


def _internal_targets(rels: bytes, source: str) -> dict[str, tuple[str, str]]:
    """Id → (Type, part) of a relationships part's internal relationships."""
    return {r.get("Id", ""): (r.get("Type", ""), _resolve(source, r.get("Target", "")))
            for r in _relationships(rels) if r.get("TargetMode") != "External"}


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def sheet_rules(xml: bytes, names: frozenset[str] = frozenset()) -> list[tuple[str, str, str]]:
    """(kind, cells, formula) of each conditional format and data validation of a sheet whose formula
    reaches outside the workbook ("rule" or "validation"), those of the extension lists (x14) included."""
    xml = utf8_part(xml)
    if (b"conditionalFormatting" not in xml and b"dataValidation" not in xml) or not may_hold_external(xml):
        return []  # the elements' names cannot be spelt another way; their formulas can (HIDDEN_TEXT)
    tree = parse(without_doctype(xml) or xml)
    found = []
    for cf in tree.iter(f"{{{MAIN_NS}}}conditionalFormatting"):
        for el in cf.iter(f"{{{MAIN_NS}}}formula"):
            if is_external(el.text or "", names):
                found.append(("rule", cf.get("sqref") or "", el.text or ""))
    for dv in tree.iter(f"{{{MAIN_NS}}}dataValidation"):
        for el in [*dv.iter(f"{{{MAIN_NS}}}formula1"), *dv.iter(f"{{{MAIN_NS}}}formula2")]:
            if is_external(el.text or "", names):
                found.append(("validation", dv.get("sqref") or "", el.text or ""))
    for ext in tree.iter(f"{{{MAIN_NS}}}extLst"):
        for item in ext.iter():
            local = _local(item.tag)
            if item.tag.startswith(f"{{{MAIN_NS}}}") or local not in ("conditionalFormatting", "dataValidation"):
                continue
            kind = "rule" if local == "conditionalFormatting" else "validation"
            cells = next((el.text or "" for el in item.iter() if _local(el.tag) == "sqref"), "")
            found.extend((kind, cells, el.text or "") for el in item.iter()
                         if _local(el.tag) == "f" and is_external(el.text or "", names))
    return found


def _hyperlink_cells(xml: bytes) -> dict[str, str]:
    """r:id → cells of a sheet's hyperlinks."""
    if b"hyperlink" not in xml:
        return {}
    try:
        tree = parse(without_doctype(xml) or xml)
    except Unsupported:
        return {}
    return {el.get(f"{{{REL_NS}}}id") or "": el.get("ref") or "" for el in tree.iter(f"{{{MAIN_NS}}}hyperlink")}


def _sheets(parts: dict[str, bytes], workbook: str) -> dict[str, str]:
    """Part → name of each sheet of the workbook."""
    try:
        tree = parse(without_doctype(parts[workbook]) or parts[workbook])
    except (KeyError, Unsupported):
        return {}
    folder, name = posixpath.split(workbook)
    rels = _internal_targets(parts.get(posixpath.join(folder, "_rels", name + ".rels"), b""), workbook)
    found = {}
    for el in tree.iter(f"{{{MAIN_NS}}}sheet"):
        rel = rels.get(el.get(f"{{{REL_NS}}}id") or "")
        if rel is not None:
            found[rel[1]] = el.get("name") or ""
    return found


def _reaches(parts: dict[str, bytes], workbook: str, names: frozenset[str]) -> list[Reach]:
    """Everything but the cells' formulas that reaches outside, in a package's parts (in UTF-8)."""
    sheets = _sheets(parts, workbook)
    owner: dict[str, str] = {}  # a drawing (or another part a sheet points at) → that sheet
    links: set[str] = set()  # external link parts: their targets go with the formulas that use them
    rels_of = {rels_source(name): data for name, data in parts.items() if name.endswith(".rels")}
    for source, rels in rels_of.items():
        for kind, part in _internal_targets(rels, source).values():
            if source in sheets:
                owner.setdefault(part, sheets[source])
            if kind == RT_EXTERNAL_LINK:
                links.add(part)
    found: list[Reach] = []
    for part, data in parts.items():
        if b"<!DOCTYPE" in data:
            address = doctype_address(part_text(data, errors="replace"))
            if address:
                found.append(Reach("dtd", part, sheets.get(part, ""), "", address))
        if part in sheets:
            found.extend(Reach(kind, part, sheets[part], cells, formula)
                         for kind, cells, formula in sheet_rules(data, names))
    for source, rels in sorted(rels_of.items()):
        external = external_relationships(rels)
        if not external or source in links:
            continue
        cells = _hyperlink_cells(parts.get(source, b"")) if source in sheets else {}
        for rid, kind, target in external:
            what = {RT_HYPERLINK: "hyperlink", RT_IMAGE: "picture"}.get(kind, "link")
            found.append(Reach(what, source, sheets.get(source) or owner.get(source, ""),
                               cells.get(rid, "") if what == "hyperlink" else "", target))
    return found


def macro_content(parts: dict[str, bytes], workbook: str) -> tuple[list[str], bool]:
    """The names of the workbook's macro sheets, and whether it links a VBA project (see ``macros``)."""
    folder, name = posixpath.split(workbook)
    rels = _internal_targets(parts.get(posixpath.join(folder, "_rels", name + ".rels"), b""), workbook)
    vba = any(kind == RT_VBA for kind, _ in rels.values())
    try:
        types = parse(without_doctype(parts["[Content_Types].xml"]) or parts["[Content_Types].xml"])
        overrides = {(el.get("PartName") or "").lower().lstrip("/"): el.get("ContentType") or ""
                     for el in types if _local(el.tag) == "Override"}
        tree = parse(without_doctype(parts[workbook]) or parts[workbook])
    except (KeyError, Unsupported):
        return [], vba
    found = []
    for el in tree.iter(f"{{{MAIN_NS}}}sheet"):
        rel = rels.get(el.get(f"{{{REL_NS}}}id") or "")
        if rel is not None and is_macro_sheet(rel[0], rel[1], overrides.get(rel[1].lower()), parts.get(rel[1])):
            found.append(el.get("name") or "")
    return found, vba


def package_scan(path: Path | IO[bytes]) -> PackageScan:
    """The cheap test first: whether any XML part may hold a formula or a name that reaches outside;
    the workbook's names that do; and everything else that reaches outside (see ``Reach``)."""
    scan = PackageScan()
    try:
        with zipfile.ZipFile(path) as zf:
            # every part, whatever its name: a sheet may be stored as sheet1.dat (the relationships say so)
            parts = {info.filename: utf8_part(zf.read(info)) for info in zf.infolist() if not info.is_dir()}
    except Exception:  # noqa: BLE001 - a package the reader could open; it reports its own troubles
        return scan
    workbook = _workbook_part(parts)
    scan.macro_sheets, scan.vba = macro_content(parts, workbook)
    scan.maybe = any(may_hold_external(data) for data in parts.values())
    if scan.maybe and workbook in parts:
        try:
            tree = parse(without_doctype(parts[workbook]) or parts[workbook])
            defined = [(el.get("name") or "", el.text or "") for el in tree.iter(f"{{{MAIN_NS}}}definedName")]
        except Exception:  # noqa: BLE001 - names unreadable: the formulas are still looked at
            defined = []
        scan.names = external_names(defined)
    if scan.maybe or any(b"<!DOCTYPE" in data or (name.endswith(".rels") and EXTERNAL_TARGET.search(data))
                         for name, data in parts.items()):
        try:
            scan.reaches = _reaches(parts, workbook, scan.names)
        except Unsupported:  # a part the careful reader opened but defusedxml will not: it says so itself
            pass
    return scan


def _workbook_part(parts: dict[str, bytes]) -> str:
    """The workbook's part, as the package's relationships name it (xl/workbook.xml as Excel writes it)."""
    for kind, part in _internal_targets(parts.get("_rels/.rels", b""), "").values():
        if kind == REL_NS + "/officeDocument":
            return part
    return "xl/workbook.xml"
