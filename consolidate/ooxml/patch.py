"""Annotate a workbook by patching its package instead of loading and saving it whole with openpyxl.

openpyxl's full load + save costs ~60 ms for a small template (most of it
the border formatting of merged cells, then the writer) and is lossy: it
drops the parts it does not model (images, charts, custom XML, some
extensions) and the cached values of formulas, so a unit would get back a
poorer file than the one it sent. A feedback copy needs only a few edits:

- cell fills: the ``s`` attribute of the marked cells (a cell or row the
  file does not have is added in order), pointing at formats appended to
  xl/styles.xml (see ``styles``);
- cell comments: the sheet's comments part and VML drawing, merged with
  the unit's own comments (see ``comments``);
- a new first sheet written from scratch, and in xl/workbook.xml the list
  of sheets, the defined names (localSheetId shifted), the active tab.

Every other part is copied byte for byte (see ``package``), every
edited one is checked well-formed (see ``xml_text``). Anything unexpected
raises ``Unsupported``; the caller then falls back to openpyxl.

One module of ~870 lines, on purpose: a sheet's edits (``_Sheet``: fills, cells,
notes, formulas removed) and the workbook's (``XlsxPatch``: sheets, names,
comments parts, drawings) are only consistent when saved together, and ``save``
reads the sheets' private state. Split in two, that state would have to become a
public interface that nothing else should use; the parts that stand alone already
are modules (package, xml_text, styles, comments, external).
"""

from __future__ import annotations

import bisect
import functools
import html
import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path

from .external import external_names, is_external_xml, may_hold_external
from .unlink import leave_outside_out
from .macros import RT_VBA, is_macro_name, is_macro_sheet
from .comments import CommentsPart, NewNote, Note, VmlDrawing, comments_xml, new_vml, plain_text, vml_blocks
from .package import (
    MAIN_NS,
    REL_NS,
    Cell,
    ContentTypes,
    Package,
    Rels,
    TooLarge,
    cell_range,
    col_letter,
    ref,
    rel_id_attr,
    rels_path,
    split_ref,
)
from .styles import Style, Styles
from .xml_text import (
    ATTRS,
    XML_DECL,
    Node,
    Unsupported,
    apply,
    attr,
    attr_esc,
    checked,
    children,
    clean_text,
    decode,
    element_prefix,
    esc,
    first,
    ns_prefix,
    parse,
    root,
    set_attr,
    utf8_part,
)

__all__ = ["MAX_CELL_TEXT", "NewSheet", "Note", "Style", "TooLarge", "Unsupported", "XlsxPatch", "col_letter", "ref",
           "split_ref"]

RT_OFFICE_DOCUMENT = REL_NS + "/officeDocument"
RT_WORKSHEET = REL_NS + "/worksheet"
RT_STYLES = REL_NS + "/styles"
RT_SHARED_STRINGS = REL_NS + "/sharedStrings"
RT_COMMENTS = REL_NS + "/comments"
RT_VML = REL_NS + "/vmlDrawing"
RT_CALC_CHAIN = REL_NS + "/calcChain"
RT_EXTERNAL_LINK = REL_NS + "/externalLink"
RT_THREADED = "http://schemas.microsoft.com/office/2017/10/relationships/threadedComment"
SHEET_TYPES = {RT_WORKSHEET, REL_NS + "/chartsheet", REL_NS + "/dialogsheet",
               "http://schemas.microsoft.com/office/2006/relationships/xlMacrosheet",
               "http://schemas.microsoft.com/office/2006/relationships/xlIntlMacrosheet"}

CT_WORKSHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
CT_COMMENTS = "application/vnd.openxmlformats-officedocument.spreadsheetml.comments+xml"
CT_VML = "application/vnd.openxmlformats-officedocument.vmlDrawing"

MAX_CELL_TEXT = 32_767  # what a cell can hold; openpyxl truncates to it too

# Worksheet children that come after <legacyDrawing> in CT_Worksheet's sequence
# (Excel wraps oleObjects and controls in mc:AlternateContent).
_AFTER_LEGACY_DRAWING = {"legacyDrawingHF", "drawingHF", "picture", "oleObjects", "controls",
                         "webPublishItems", "tableParts", "extLst", "AlternateContent"}
# Workbook children that come after <definedNames> in CT_Workbook's sequence.
_AFTER_DEFINED_NAMES = {"calcPr", "oleSize", "customWorkbookViews", "pivotCaches", "smartTagPr", "smartTagTypes",
                        "webPublishing", "fileRecoveryPr", "webPublishObjects", "extLst"}


def _q(local: str) -> str:
    return f"{{{MAIN_NS}}}{local}"


# Sheets -----------------------------------------------------------------------


_ROW_RES: dict[str, tuple[re.Pattern[str], re.Pattern[str]]] = {}
_ANY_F = re.compile(r"<((?:[\w.\-]+:)?)f(?=[\s>])[^>]*>(.*?)</\1f>", re.S)  # a formula in an extension (xm:f)


def _row_cell_res(p: str) -> tuple[re.Pattern[str], re.Pattern[str]]:
    if p not in _ROW_RES:
        _ROW_RES[p] = (re.compile(rf"<{re.escape(p)}row(?=[\s/>])({ATTRS})\s*(/?)>"),
                       re.compile(rf"<{re.escape(p)}c(?=[\s/>])({ATTRS})\s*(/?)>"))
    return _ROW_RES[p]


class _SharedStrings:
    """The workbook's shared strings, read only if a cell's text is needed (to recognise our old sheet)."""

    def __init__(self, package: Package, workbook_rels: Rels) -> None:
        self.package, self.workbook_rels = package, workbook_rels
        self._strings: list[str] | None = None

    def get(self, index: int) -> str | None:
        if self._strings is None:
            found = self.workbook_rels.of_type(RT_SHARED_STRINGS)
            tree = parse(self.package.read(self.workbook_rels.part(found[0]))) if found else None
            self._strings = [plain_text(si) for si in tree.iterfind(_q("si"))] if tree is not None else []
        return self._strings[index] if 0 <= index < len(self._strings) else None


@dataclass
class _Row:
    number: int
    start: int
    tag_end: int
    close: int  # where </row> starts; == tag_end for <row/>
    attrs: str

    @property
    def empty(self) -> bool:
        return self.close == self.tag_end


class _Sheet:
    """One sheet of the workbook; its part is read, scanned and indexed only when something needs it."""

    def __init__(self, name: str, part: str, rel_type: str, rid: str, package: Package,
                 strings: _SharedStrings) -> None:
        self.name, self.part, self.rel_type, self.rid = name, part, rel_type, rid
        self.package = package
        self.strings = strings
        self.removed = False
        self.clear_selection = False
        self.cell_xfs: dict[Cell, int] = {}  # new cell formats
        self.new_notes: dict[Cell, NewNote] = {}
        self.dropped_notes: set[Cell] = set()
        self.drawing_edits: list[tuple[int, int, str]] = []
        self.formula_edits: list[tuple[int, int, str]] = []  # formulas removed (see XlsxPatch.strip_external_formulas)
        self._text: str | None = None
        self._rels: Rels | None = None
        self._rows: list[_Row] | None = None
        self._scanned: dict[str, list[Node]] = {}
        self._merges: list[tuple[Cell, Cell]] | None = None
        self._row_cells: dict[int, list[tuple[int, re.Match[str]]]] = {}
        self._comments_loaded = False
        self.comments: CommentsPart | None = None  # the unit's comments part, when the sheet has one
        self.comments_rid = ""
        self.threaded = False

    @property
    def is_worksheet(self) -> bool:
        return self.rel_type == RT_WORKSHEET

    def _load(self) -> str:
        if self._text is None:
            text = decode(self.package.read(self.part))
            node = root(text)
            local = node.local if node.local in ("chartsheet", "dialogsheet") else "worksheet"
            self._p = element_prefix(node, MAIN_NS, local)
            self._nodes = children(text, node, skip=("sheetData",))
            self._root, self._text = node, text
        return self._text

    @property
    def text(self) -> str:
        return self._load()

    @property
    def root(self) -> Node:
        self._load()
        return self._root

    @property
    def nodes(self) -> list[Node]:
        """The root's children (sheetData's content is not scanned here)."""
        self._load()
        return self._nodes

    @property
    def p(self) -> str:
        """The prefix the part writes SpreadsheetML elements with ('' or e.g. 'x:')."""
        self._load()
        return self._p

    @property
    def rels(self) -> Rels:
        if self._rels is None:
            self._rels = Rels(self.part, self.package.read_optional(rels_path(self.part)))
        return self._rels

    def _children_of(self, local: str) -> list[Node]:
        """The children of the root's ``local`` element (mergeCells, cols, sheetViews), scanned once."""
        if local not in self._scanned:
            node = first(self.nodes, local)
            self._scanned[local] = [] if node is None or node.empty else children(self.text, node)
        return self._scanned[local]

    # Cells

    def _index_rows(self) -> list[_Row]:
        if self._rows is not None:
            return self._rows
        text = self.text
        data = first(self.nodes, "sheetData")
        if data is None:
            raise Unsupported("worksheet without sheetData")
        if text.find("xmlns", data.inner_start, data.inner_end) >= 0 or \
                text.find("extLst", data.inner_start, data.inner_end) >= 0:
            raise Unsupported("extensions inside sheetData")  # elements of other namespaces could look like cells
        rows: list[_Row] = []
        close = f"</{self.p}row>"
        row_re, _ = _row_cell_res(self.p)
        for m in row_re.finditer(text, data.inner_start, data.inner_end):
            r = attr(m.group(1), "r")
            if r is None or not r.isdigit() or (rows and int(r) <= rows[-1].number):
                raise Unsupported("rows without numbers or out of order")
            end = m.end() if m.group(2) else text.find(close, m.end(), data.inner_end)
            if end < 0:
                raise Unsupported("row")
            rows.append(_Row(int(r), m.start(), m.end(), end, m.group(1)))
        self._rows = rows
        self._numbers = [r.number for r in rows]
        return rows

    def _row(self, number: int) -> _Row | None:
        rows = self._index_rows()
        i = bisect.bisect_left(self._numbers, number)
        return rows[i] if i < len(rows) and rows[i].number == number else None

    def _cells(self, row: _Row) -> list[tuple[int, re.Match[str]]]:
        """(column, start tag) of a row's cells, in order; scanned once per row (a row may be 16,384 cells wide)."""
        if row.number in self._row_cells:
            return self._row_cells[row.number]
        _, cell_re = _row_cell_res(self.p)
        out: list[tuple[int, re.Match[str]]] = []
        for m in cell_re.finditer(self.text, row.tag_end, row.close):
            r = attr(m.group(1), "r")
            if r is None:
                raise Unsupported("cell without a reference")
            rr, cc = split_ref(r)
            if rr != row.number or (out and cc <= out[-1][0]):
                raise Unsupported("cells out of place")
            out.append((cc, m))
        self._row_cells[row.number] = out
        return out

    def xf(self, row: int, col: int) -> int:
        """The cell format a cell shows now: its own, or for a missing cell its row's or its column's."""
        if (row, col) in self.cell_xfs:
            return self.cell_xfs[(row, col)]
        found = self._row(row)
        if found is not None:
            for c, m in self._cells(found):
                if c == col:
                    return int(attr(m.group(1), "s") or 0)
            if attr(found.attrs, "customFormat") in ("1", "true"):
                return int(attr(found.attrs, "s") or 0)
        for node in self._children_of("cols"):
            if int(attr(node.attrs, "min") or 0) <= col <= int(attr(node.attrs, "max") or 0):
                return int(attr(node.attrs, "style") or 0)
        return 0

    def merged_origin(self, row: int, col: int) -> Cell:
        """The first cell of the merged range holding (row, col): the only one that can carry a comment."""
        if self._merges is None:  # parsed once: a sheet may have thousands of merges, a file hundreds of problems
            self._merges = [found for node in self._children_of("mergeCells")
                            if (found := cell_range(attr(node.attrs, "ref"))) is not None]
        for (r1, c1), (r2, c2) in self._merges:
            if r1 <= row <= r2 and c1 <= col <= c2:
                return r1, c1
        return row, col

    def cell_text(self, row: int, col: int) -> str | None:
        """The text or number a cell shows (shared, inline or formula string), None when empty."""
        found = self._row(row)
        if found is None:
            return None
        for c, m in self._cells(found):
            if c != col:
                continue
            close = f"</{self.p}c>"
            end = m.end() if m.group(2) else self.text.find(close, m.end(), found.close) + len(close)
            if end < m.end():
                raise Unsupported("cell")
            declare = f' xmlns:{self.p[:-1]}="{MAIN_NS}"' if self.p else ""
            cell = parse(f'<w xmlns="{MAIN_NS}"{declare}>{self.text[m.start():end]}</w>')[0]
            kind = cell.get("t", "n")
            if kind == "inlineStr":
                return plain_text(cell.find(_q("is")))
            value = cell.findtext(_q("v"))
            if kind == "s" and value is not None:
                try:
                    return self.strings.get(int(value))
                except ValueError as exc:
                    raise Unsupported("shared string index") from exc
            return value
        return None

    def external_formulas(self, names: frozenset[str] = frozenset()) -> list[tuple[Cell, str, int, int]]:
        """(cell, formula as the XML writes it, start, end of its <f> element) of each formula that
        reaches outside the workbook, itself or through one of ``names``; a shared formula's cells go
        with their first cell's formula."""
        self._index_rows()  # refuses extensions inside sheetData, as for any other edit of the cells
        data = first(self.nodes, "sheetData")
        assert data is not None
        p, text = re.escape(self.p), self.text
        cell_re = re.compile(rf"<{p}c(?=[\s/>])({ATTRS})\s*(?:/>|>(.*?)</{p}c>)", re.S)
        f_re = re.compile(rf"<{p}f(?=[\s/>])({ATTRS})\s*(?:/>|>(.*?)</{p}f>)", re.S)
        formulas = []  # (cell, attributes, text, start, end)
        for m in cell_re.finditer(text, data.inner_start, data.inner_end):
            if m.group(2) is None or "f" not in m.group(2):
                continue
            f = f_re.search(text, m.start(2), m.end(2))
            if f is None:
                continue
            if f.group(2) and "<" in f.group(2):
                # CDATA or a comment inside the formula: its text is not what the bytes show, so
                # the copy is made by the openpyxl fallback, which reads the formula as Excel does
                raise Unsupported("markup inside a formula")
            r = attr(m.group(1), "r")
            if r is None:
                raise Unsupported("cell without a reference")
            formulas.append((split_ref(r), f.group(1), f.group(2) or "", f.start(), f.end()))
        shared = {attr(a, "si") for _, a, t, _, _ in formulas
                  if attr(a, "t") == "shared" and t and is_external_xml(t, names)}
        return [(cell, t, start, end) for cell, a, t, start, end in formulas
                if (t and is_external_xml(t, names)) or (attr(a, "t") == "shared" and attr(a, "si") in shared)]

    def external_rules(self, names: frozenset[str] = frozenset()) -> list[tuple[int, int, str]]:
        """Edits that remove each conditional format's rule and each data validation whose formula reaches
        outside the workbook (its list from another workbook, a WEBSERVICE run for each cell), and each
        extension (x14 formats and validations) holding such a formula."""
        text, edits = self.text, []

        def reaches(node: Node, locals_: tuple[str, ...]) -> bool:
            return any(f.local in locals_ and is_external_xml(text[f.inner_start:f.inner_end], names)
                       for f in ([] if node.empty else children(text, node)))

        def drop(parent: Node, local: str, locals_: tuple[str, ...]) -> None:
            items = [n for n in children(text, parent) if n.local == local]
            bad = [n for n in items if reaches(n, locals_)]
            if bad and len(bad) == len(items):
                edits.append((parent.start, parent.end, ""))
            elif bad:
                edits.extend((n.start, n.end, "") for n in bad)
                if attr(parent.attrs, "count") is not None:
                    tag = set_attr(text[parent.start:parent.inner_start], "count", str(len(items) - len(bad)))
                    edits.append((parent.start, parent.inner_start, tag))

        for node in self.nodes:
            if node.empty:
                continue
            if node.local == "conditionalFormatting":
                drop(node, "cfRule", ("formula",))
            elif node.local == "dataValidations":
                drop(node, "dataValidation", ("formula1", "formula2"))
            elif node.local == "extLst":
                exts = children(text, node)
                bad = [e for e in exts if any(is_external_xml(m.group(2), names)
                                              for m in _ANY_F.finditer(text, e.inner_start, e.inner_end))]
                edits.extend([(node.start, node.end, "")] if bad and len(bad) == len(exts)
                             else [(e.start, e.end, "") for e in bad])
        return edits

    # Comments

    def notes(self) -> dict[Cell, Note]:
        """The sheet's comments as the file has them."""
        if not self._comments_loaded:
            found = self.rels.of_type(RT_COMMENTS)
            self.threaded = bool(self.rels.of_type(RT_THREADED))
            if len(found) > 1:
                raise Unsupported("several comments parts")
            if found:
                part = self.rels.part(found[0])
                self.comments, self.comments_rid = CommentsPart(part, self.package.read(part)), found[0]["Id"]
            self._comments_loaded = True
        return self.comments.notes if self.comments else {}

    # Writing

    def edits(self) -> list[tuple[int, int, str]]:
        """This sheet's pending text edits: cell formats, tab selection, drawing."""
        edits = list(self.drawing_edits) + self.formula_edits
        if self.cell_xfs:
            self._cell_edits(edits)
        if self.clear_selection:
            for view in self._children_of("sheetViews"):
                if view.local == "sheetView" and attr(view.attrs, "tabSelected") is not None:
                    tag = self.text[view.start:view.inner_start]
                    edits.append((view.start, view.inner_start, set_attr(tag, "tabSelected", None)))
        return edits

    def _cell_edits(self, edits: list[tuple[int, int, str]]) -> None:
        """Set ``s`` on the marked cells; add the cells (and rows) the file does not have, in order."""
        p, text = self.p, self.text
        by_row: dict[int, list[tuple[int, int]]] = {}
        for (r, c), xf in sorted(self.cell_xfs.items()):
            by_row.setdefault(r, []).append((c, xf))
        rows = self._index_rows()
        data = first(self.nodes, "sheetData")
        assert data is not None
        new_rows: dict[int, list[str]] = {}
        for number, wanted in by_row.items():
            row = self._row(number)
            if row is None:
                cells = "".join(f'<{p}c r="{ref(number, c)}" s="{xf}"/>' for c, xf in wanted)
                i = bisect.bisect_left(self._numbers, number)
                at = rows[i].start if i < len(rows) else data.inner_end
                new_rows.setdefault(at, []).append(f'<{p}row r="{number}">{cells}</{p}row>')
                continue
            existing = self._cells(row)
            cols = [c for c, _ in existing]
            inserts: list[tuple[int, str]] = []
            for c, xf in wanted:
                i = bisect.bisect_left(cols, c)
                if i < len(cols) and cols[i] == c:
                    m = existing[i][1]
                    edits.append((m.start(), m.end(), set_attr(m.group(0), "s", str(xf))))
                else:
                    at = existing[i][1].start() if i < len(existing) else row.close
                    inserts.append((at, f'<{p}c r="{ref(number, c)}" s="{xf}"/>'))
            if not inserts:
                continue
            tag = set_attr(text[row.start:row.tag_end], "spans", None)  # a hint a new cell may fall outside
            if row.empty:
                opened = tag[:-2].rstrip() + ">"
                edits.append((row.start, row.tag_end, opened + "".join(x for _, x in inserts) + f"</{p}row>"))
            else:
                edits.append((row.start, row.tag_end, tag))
                edits.extend((at, at, xml) for at, xml in inserts)
        if new_rows and data.empty:  # <sheetData/>
            edits.append((data.start, data.end, f"<{p}sheetData>{''.join(new_rows[data.inner_end])}</{p}sheetData>"))
        else:
            edits.extend((at, at, "".join(xml)) for at, xml in new_rows.items())
        dimension = first(self.nodes, "dimension")
        bounds = cell_range(attr(dimension.attrs, "ref")) if dimension is not None else None
        if dimension is not None and bounds is not None:
            (r1, c1), (r2, c2) = bounds
            for r, c in self.cell_xfs:
                r1, c1, r2, c2 = min(r1, r), min(c1, c), max(r2, r), max(c2, c)
            new_ref = ref(r1, c1) if (r1, c1) == (r2, c2) else f"{ref(r1, c1)}:{ref(r2, c2)}"
            tag = text[dimension.start:dimension.inner_start]
            edits.append((dimension.start, dimension.inner_start, set_attr(tag, "ref", new_ref)))


# The workbook -----------------------------------------------------------------


@dataclass
class NewSheet:
    """A small sheet written from scratch: values with their cell formats, layout and print setup."""

    cells: dict[Cell, tuple[object, int]]  # (row, col) → (value, cell format)
    widths: dict[int, float] = field(default_factory=dict)
    heights: dict[int, float] = field(default_factory=dict)
    merges: list[str] = field(default_factory=list)
    links: list[tuple[str, str, str]] = field(default_factory=list)  # (cell, location in the workbook, display)
    freeze_rows: int = 0
    print_title_rows: tuple[int, int] | None = None
    landscape_fit_width: bool = False
    footer: str = ""  # the page footer, in Excel's codes: "&CTrang &P/&N"
    side_margin: float = 0.7  # inches, left and right


class XlsxPatch:
    """A workbook package opened for a few edits; ``save`` writes it with every other part unchanged."""

    def __init__(self, path: Path, max_unpacked: int | None = None, data: bytes | None = None) -> None:
        """Open the package (``data``, the file's bytes, when the caller has them); ``TooLarge`` when its
        parts unpack to more than ``max_unpacked`` bytes. What reaches outside by itself is left out
        (``unlink``: measured at no cost for a template's package, ~0.4 ms an open either way)."""
        self.package = package = Package(path, max_unpacked, data)
        leave_outside_out(package)  # first: every part read below is read as cleaned
        self.content_types = ContentTypes(package.read("[Content_Types].xml"))
        package_rels = Rels("", package.read("_rels/.rels"))
        main = package_rels.of_type(RT_OFFICE_DOCUMENT)
        if len(main) != 1:
            raise Unsupported("no single workbook part")
        self.workbook_part = package_rels.part(main[0])
        self.workbook_rels = Rels(self.workbook_part, package.read(rels_path(self.workbook_part)))
        data = package.read(self.workbook_part)
        self.wb_text = text = decode(data)
        self.wb_root = root(text)
        self.wp = element_prefix(self.wb_root, MAIN_NS, "workbook")
        self.wb_nodes = children(text, self.wb_root)
        sheets_node = first(self.wb_nodes, "sheets")
        if sheets_node is None:
            raise Unsupported("no sheets")
        self.sheet_nodes = children(text, sheets_node)
        listed = _listed_sheets(data)
        if len(listed) != len(self.sheet_nodes) or any(n.local != "sheet" for n in self.sheet_nodes):
            raise Unsupported("sheets")
        self.sheets: list[_Sheet] = []
        self.sheet_ids: list[int] = []
        strings = _SharedStrings(package, self.workbook_rels)
        owners: set[str] = set()
        for name, sheet_id, rid in listed:
            rel = self.workbook_rels.get(rid)
            if rel is None or rel["Type"] not in SHEET_TYPES:
                raise Unsupported("sheet relationship")
            part = self.workbook_rels.part(rel)
            if part.lower() in owners:
                raise Unsupported("two sheets in one part")
            owners.add(part.lower())
            self.sheets.append(_Sheet(name, part, rel["Type"], rid, package, strings))
            self.sheet_ids.append(sheet_id)
        styles = self.workbook_rels.of_type(RT_STYLES)
        if len(styles) != 1:
            raise Unsupported("no single styles part")
        styles_part = self.workbook_rels.part(styles[0])
        self.styles = Styles(styles_part, package.read(styles_part))
        self.new_sheet: tuple[str, NewSheet] | None = None
        self.macro_sheets = self._leave_macros_out()
        self.drop_external_links = False
        self.external_names: frozenset[str] = frozenset()  # defined names that reach outside (upper case)
        self._claimed: set[str] = set()
        self._top_block: int | None = None

    def _leave_macros_out(self) -> list[str]:
        """Drop the macro sheets and the VBA project (see ``macros``); the names that start them go when the
        workbook part is saved. Return the macro sheets' names."""
        found = [s.name for s in self.sheets if is_macro_sheet(s.rel_type, s.part, self.content_types.of(s.part), None)]
        for name in found:
            self.remove_sheet(name)
        for rel in self.workbook_rels.of_type(RT_VBA):
            part = self.workbook_rels.part(rel)
            self.workbook_rels.remove(rel["Id"])
            own = Rels(part, self.package.read_optional(rels_path(part)))
            for used in [own.part(r) for r in own.items if r.get("TargetMode") != "External"] + [part]:
                self.content_types.remove(used)
                self.package.remove(used)
            self.package.remove(rels_path(part))
        return found

    # Reading

    @property
    def sheetnames(self) -> list[str]:
        """The sheets' names in tab order (a removed sheet is gone, the new one not yet in)."""
        return [s.name for s in self.sheets if not s.removed]

    def is_worksheet(self, name: str) -> bool:
        """Whether ``name`` is a worksheet (not a chart or dialog sheet): only worksheets have cells to mark."""
        found = self._sheet(name)
        return found is not None and found.is_worksheet

    def cell_text(self, sheet: str, row: int, col: int) -> str | None:
        """What a worksheet cell shows as text (None when empty)."""
        return self._worksheet(sheet).cell_text(row, col)

    def comments(self, sheet: str) -> dict[Cell, Note]:
        """The comments a worksheet has now, by (row, column)."""
        found = self._worksheet(sheet)
        current = {k: v for k, v in found.notes().items() if k not in found.dropped_notes}
        current.update({k: Note(v.author, v.text) for k, v in found.new_notes.items()})
        return current

    def cell_fill(self, sheet: str, row: int, col: int) -> str | None:
        """The rgb of the cell's solid fill, '' when it has no fill, None for any other fill."""
        return self.styles.fill_of(self._worksheet(sheet).xf(row, col))

    def cell_locked(self, sheet: str, row: int, col: int) -> bool:
        """Whether the cell is locked when the sheet is protected (the template unlocks its input cells)."""
        return self.styles.locked(self._worksheet(sheet).xf(row, col))

    def merged_origin(self, sheet: str, row: int, col: int) -> Cell:
        """The cell that stands for (row, col): the first cell of its merged range, or itself."""
        return self._worksheet(sheet).merged_origin(row, col)

    # Editing

    def remove_sheet(self, name: str) -> None:
        """Drop a sheet and its relationships part (parts only it used stay, unreferenced)."""
        found = self._sheet(name)
        if found is None:
            return
        found.removed = True
        self.workbook_rels.remove(found.rid)
        self.content_types.remove(found.part)
        self.package.remove(found.part)
        self.package.remove(rels_path(found.part))

    def strip_external_formulas(self) -> list[tuple[str, Cell, str]]:
        """Remove every formula that reaches outside the workbook, keeping the value the file stored for
        it; drop the links to other workbooks and the names that point there. Return (sheet, cell, formula)
        of each formula removed.

        A copy goes back to a unit and is opened in Excel, where such a formula would run again
        (see ``external``). Every worksheet is looked at, not only those with marked cells.
        """
        removed: list[tuple[str, Cell, str]] = []
        self.external_names = names = external_names(self._defined_names())
        for sheet in self.sheets:
            if sheet.removed or not sheet.is_worksheet:
                continue
            raw = utf8_part(self.package.read(sheet.part))
            if not (may_hold_external(raw) or (names and (b"<f" in raw or b":f" in raw))):
                continue
            for cell, formula, start, end in sheet.external_formulas(names):
                sheet.formula_edits.append((start, end, ""))
                removed.append((sheet.name, cell, html.unescape(formula)))
            sheet.formula_edits.extend(sheet.external_rules(names))
        self.drop_external_links = True
        return removed

    def _defined_names(self) -> list[tuple[str, str]]:
        """(name, formula) of each name the workbook defines."""
        names = first(self.wb_nodes, "definedNames")
        if names is None or names.empty:
            return []
        return [(attr(n.attrs, "name") or "", html.unescape(self.wb_text[n.inner_start:n.inner_end]))
                for n in children(self.wb_text, names)]

    def remove_comment(self, sheet: str, row: int, col: int) -> None:
        """Drop a cell's comment (and its box in the drawing)."""
        found = self._worksheet(sheet)
        found.notes()
        found.new_notes.pop((row, col), None)
        found.dropped_notes.add((row, col))

    def set_comment(self, sheet: str, row: int, col: int, text: str, author: str, width: int, height: int) -> None:
        """Give a cell a comment in place of the one it has (the caller merges the old text in)."""
        found = self._worksheet(sheet)
        if found.threaded and (row, col) in found.notes():
            raise Unsupported("a threaded comment on a marked cell")  # Excel would show the thread, not ours
        found.notes()
        found.dropped_notes.add((row, col))
        found.new_notes[(row, col)] = NewNote(clean_text(text), author, width, height)

    def set_fill(self, sheet: str, row: int, col: int, rgb: str | None) -> None:
        """Give a cell a solid fill (no fill for None), keeping the rest of its format."""
        found = self._worksheet(sheet)
        found.cell_xfs[(row, col)] = self.styles.with_fill(found.xf(row, col), rgb)

    def style(self, style: Style) -> int:
        """A cell format for the new sheet."""
        return self.styles.style(style)

    def insert_first_sheet(self, name: str, sheet: NewSheet) -> None:
        """Add ``sheet`` as the first tab, the one selected and shown when the file opens."""
        self.new_sheet = (name, sheet)
        for s in self.sheets:
            s.clear_selection = not s.removed

    def _sheet(self, name: str) -> _Sheet | None:
        return next((s for s in self.sheets if s.name == name and not s.removed), None)

    def _worksheet(self, name: str) -> _Sheet:
        found = self._sheet(name)
        if found is None or not found.is_worksheet:
            raise Unsupported(f"no worksheet {name!r}")
        return found

    def _claim(self, part: str) -> None:
        """A part we edit for one sheet must not be another sheet's too."""
        if part.lower() in self._claimed:
            raise Unsupported(f"shared part {part}")
        self._claimed.add(part.lower())

    # Saving

    def save(self, target: Path) -> None:
        """Write the package with its edits; every part not edited is copied unchanged."""
        package = self.package
        for sheet in self.sheets:
            if sheet.removed:
                continue
            self._save_notes(sheet)
            if sheet.clear_selection and sheet._text is None and b"tabSelected" not in utf8_part(package.read(sheet.part)):
                sheet.clear_selection = False  # nothing selected there: leave the part alone
            edits = sheet.edits() if (sheet.cell_xfs or sheet.clear_selection or sheet.drawing_edits
                                      or sheet.formula_edits) else []
            if edits:
                package.put(sheet.part, checked(apply(sheet.text, edits)))
            if sheet._rels is not None and sheet._rels.changed:
                package.put(rels_path(sheet.part), sheet._rels.xml())
        if self.styles.changed:
            package.put(self.styles.part, self.styles.xml())
        self._save_workbook()
        if self.drop_external_links:
            self._remove_external_links()
        for rel in self.workbook_rels.of_type(RT_CALC_CHAIN):
            # The calculation order is only a cache, and indexes sheets: Excel rebuilds it when it is missing.
            part = self.workbook_rels.part(rel)
            self.workbook_rels.remove(rel["Id"])
            self.content_types.remove(part)
            package.remove(part)
        if self.workbook_rels.changed:
            package.put(rels_path(self.workbook_part), self.workbook_rels.xml())
        package.put("[Content_Types].xml", self.content_types.xml())
        package.write(target)

    def _remove_external_links(self) -> None:
        """The parts that link to other workbooks (their paths, their cached values), with their relationships."""
        for rel in self.workbook_rels.of_type(RT_EXTERNAL_LINK):
            part = self.workbook_rels.part(rel)
            self.workbook_rels.remove(rel["Id"])
            self.content_types.remove(part)
            self.package.remove(part)
            self.package.remove(rels_path(part))

    def _vml_top_block(self) -> int:
        """The highest shape-id block any VML drawing of the package uses: new drawings take the next ones."""
        if self._top_block is None:
            self._top_block = 0
            declared = {k.lower() for k, v in self.content_types.overrides.items() if v == CT_VML}
            for name in self.package.parts():
                if name.lower().endswith(".vml") or "/" + name.lower() in declared:
                    text = utf8_part(self.package.read(name)).decode("utf-8", "replace")
                    self._top_block = max([self._top_block, *vml_blocks(text)])
        return self._top_block

    def _save_notes(self, sheet: _Sheet) -> None:
        """Write the sheet's comments part and VML drawing when its comments changed."""
        if not sheet.new_notes and not sheet.dropped_notes:
            return
        originals = sheet.notes()
        gone = {k for k in sheet.dropped_notes if k in originals}  # removed or replaced: their boxes go
        if not sheet.new_notes and not gone:
            return
        existing = sheet.comments
        kept = {k: xml for k, xml in (existing.xml.items() if existing else ()) if k not in sheet.dropped_notes}
        final = set(kept) | set(sheet.new_notes)
        if final and existing is not None:
            self._claim(existing.part)
            self.package.put(existing.part, comments_xml(existing, kept, sheet.new_notes))
        elif final:
            part = self.package.free_name(posixpath.join(posixpath.dirname(self.workbook_part), "comments{}.xml"))
            self.package.put(part, comments_xml(None, kept, sheet.new_notes))
            self.content_types.add(part, CT_COMMENTS)
            sheet.rels.add(RT_COMMENTS, part)
        elif existing is not None:  # no comment left: no comments part
            sheet.rels.remove(sheet.comments_rid)
            self.content_types.remove(existing.part)
            self.package.remove(existing.part)
        legacy = [n for n in sheet.nodes if n.local == "legacyDrawing"]
        if len(legacy) > 1:
            raise Unsupported("several legacy drawings")
        if legacy:
            self._edit_drawing(sheet, legacy[0], bool(final), gone)
        elif final:
            self._new_drawing(sheet, kept)

    def _edit_drawing(self, sheet: _Sheet, legacy: Node, any_left: bool, gone: set[Cell]) -> None:
        prefix = ns_prefix(legacy, REL_NS) or ns_prefix(sheet.root, REL_NS)  # openpyxl declares it on the element
        rel = sheet.rels.get((attr(legacy.attrs, f"{prefix}:id") if prefix else None) or "")
        if rel is None or rel["Type"] != RT_VML:
            raise Unsupported("legacy drawing")
        part = sheet.rels.part(rel)
        self._claim(part)
        text = VmlDrawing(self.package.read(part)).edit(gone, sheet.new_notes, self._vml_top_block() + 1)
        if not any_left and "ClientData" not in text:  # nothing left to draw: no drawing
            sheet.rels.remove(rel["Id"])
            self.content_types.remove(part)
            self.package.remove(part)
            sheet.drawing_edits.append((legacy.start, legacy.end, ""))
        else:
            self.package.put(part, text.encode("utf-8"))

    def _new_drawing(self, sheet: _Sheet, kept: dict[Cell, str]) -> None:
        boxes = dict(sheet.new_notes)
        for key in kept:  # a comments part without a drawing: box the unit's comments too
            boxes[key] = NewNote("", "", 144, 79)
        part = self.package.free_name(posixpath.join(posixpath.dirname(self.workbook_part), "drawings",
                                                     "vmlDrawing{}.vml"))
        data, self._top_block = new_vml(boxes, self._vml_top_block() + 1)
        self.package.put(part, data)
        self.content_types.add(part, CT_VML)
        rid = sheet.rels.add(RT_VML, part)
        qname, declaration = rel_id_attr(sheet.root)
        after = next((n for n in sheet.nodes if n.local in _AFTER_LEGACY_DRAWING), None)
        at = after.start if after is not None else sheet.root.inner_end
        sheet.drawing_edits.append((at, at, f'<{sheet.p}legacyDrawing{declaration} {qname}="{rid}"/>'))

    def _save_workbook(self) -> None:
        """The list of sheets, the defined names' sheet indices, the active tab."""
        text = self.wb_text
        edits: list[tuple[int, int, str]] = []
        shift = 1 if self.new_sheet else 0
        index: dict[int, int] = {}  # old position of a sheet → new position
        for i, sheet in enumerate(self.sheets):
            if sheet.removed:
                node = self.sheet_nodes[i]
                edits.append((node.start, node.end, ""))
            else:
                index[i] = len(index) + shift
        if not self.new_sheet and len(index) == len(self.sheets) and not self.drop_external_links:
            return  # no sheet removed: no macro sheet either, so no name of one
        if self.drop_external_links:
            edits.extend((n.start, n.end, "") for n in self.wb_nodes if n.local == "externalReferences")
        names = first(self.wb_nodes, "definedNames")
        for node in children(text, names) if names is not None and not names.empty else []:
            if self.drop_external_links and (attr(node.attrs, "name") or "").upper() in self.external_names:
                edits.append((node.start, node.end, ""))  # a name that points into another workbook
                continue
            if self._macro_name(node):
                edits.append((node.start, node.end, ""))  # Auto_Open and its kin, a name of a macro sheet
                continue
            local = attr(node.attrs, "localSheetId")
            if local is None:
                continue
            if not local.isdigit():
                raise Unsupported("localSheetId")
            if int(local) not in index:
                edits.append((node.start, node.end, ""))  # a name of the removed sheet (its print titles)
            elif index[int(local)] != int(local):
                tag = set_attr(text[node.start:node.inner_start], "localSheetId", str(index[int(local)]))
                edits.append((node.start, node.inner_start, tag))
        if self.new_sheet:
            self._add_sheet(edits, names)
        self.package.put(self.workbook_part, checked(apply(text, edits)))

    def _macro_name(self, node: Node) -> bool:
        found = {a: attr(node.attrs, a) or "" for a in ("function", "xlm", "vbProcedure")}
        formula = html.unescape(self.wb_text[node.inner_start:node.inner_end])
        return is_macro_name(attr(node.attrs, "name") or "", formula, found, self.macro_sheets)

    def _add_sheet(self, edits: list[tuple[int, int, str]], names: Node | None) -> None:
        assert self.new_sheet is not None
        text, p = self.wb_text, self.wp
        name, sheet = self.new_sheet
        part = self.package.free_name(posixpath.join(posixpath.dirname(self.workbook_part), "worksheets",
                                                     "sheet{}.xml"))
        self.package.put(part, checked(_sheet_xml(sheet)))
        self.content_types.add(part, CT_WORKSHEET)
        rid = self.workbook_rels.add(RT_WORKSHEET, part)
        qname, declaration = rel_id_attr(self.wb_root)
        sheets_node = first(self.wb_nodes, "sheets")
        assert sheets_node is not None
        element = (f'<{p}sheet{declaration} name="{attr_esc(name)}" sheetId="{max(self.sheet_ids, default=0) + 1}" '
                   f'{qname}="{rid}"/>')
        edits.append((sheets_node.inner_start, sheets_node.inner_start, element))
        if sheet.print_title_rows:
            top, bottom = sheet.print_title_rows
            area = "'" + name.replace("'", "''") + f"'!${top}:${bottom}"
            defined = f'<{p}definedName name="_xlnm.Print_Titles" localSheetId="0">{esc(area)}</{p}definedName>'
            if names is None:
                after = next((n for n in self.wb_nodes if n.local in _AFTER_DEFINED_NAMES), None)
                at = after.start if after is not None else self.wb_root.inner_end
                edits.append((at, at, f"<{p}definedNames>{defined}</{p}definedNames>"))
            elif names.empty:
                edits.append((names.start, names.end, f"<{p}definedNames>{defined}</{p}definedNames>"))
            else:
                edits.append((names.inner_start, names.inner_start, defined))
        views = first(self.wb_nodes, "bookViews")
        for view in children(text, views) if views is not None and not views.empty else []:
            if view.local == "workbookView":  # the first tab is active and in view
                tag = set_attr(set_attr(text[view.start:view.inner_start], "activeTab", None), "firstSheet", None)
                edits.append((view.start, view.inner_start, tag))


@functools.lru_cache(maxsize=16)
def _listed_sheets(data: bytes) -> tuple[tuple[str, int, str], ...]:
    """(name, sheetId, relationship id) of each sheet of workbook.xml, from defusedxml's tree (names are
    escaped text), memoised: units who filled the same template send the same workbook part."""
    sheets = parse(data).find(_q("sheets"))
    if sheets is None:
        raise Unsupported("no sheets")
    try:
        return tuple((el.get("name") or "", int(el.get("sheetId") or 0), el.get(f"{{{REL_NS}}}id") or "")
                     for el in sheets)
    except ValueError as exc:
        raise Unsupported("sheetId") from exc


def _sheet_xml(sheet: NewSheet) -> str:
    """The XML of a sheet we write; strings are inline, so the shared strings part is left alone."""
    rows: dict[int, list[str]] = {r: [] for r in sheet.heights}
    for (r, c), (value, xf) in sorted(sheet.cells.items()):
        at = ref(r, c)
        if value is None or value == "":
            cell = f'<c r="{at}" s="{xf}"/>'
        elif isinstance(value, bool):
            cell = f'<c r="{at}" s="{xf}" t="b"><v>{int(value)}</v></c>'
        elif isinstance(value, (int, float)):
            cell = f'<c r="{at}" s="{xf}"><v>{value!r}</v></c>'
        else:
            text = esc(clean_text(str(value))[:MAX_CELL_TEXT])
            cell = f'<c r="{at}" s="{xf}" t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'
        rows.setdefault(r, []).append(cell)
    body = "".join(
        f'<row r="{r}"' + (f' ht="{sheet.heights[r]}" customHeight="1"' if r in sheet.heights else "")
        + f'>{"".join(rows[r])}</row>'
        for r in sorted(rows)
    )
    last = ref(max(rows, default=1), max((c for _, c in sheet.cells), default=1))
    parts = [f'{XML_DECL}<worksheet xmlns="{MAIN_NS}" xmlns:r="{REL_NS}">']
    if sheet.landscape_fit_width:
        parts.append('<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>')
    parts.append(f'<dimension ref="A1:{last}"/>')
    if sheet.freeze_rows:
        top = f"A{sheet.freeze_rows + 1}"
        parts.append(f'<sheetViews><sheetView tabSelected="1" workbookViewId="0"><pane ySplit="{sheet.freeze_rows}" '
                     f'topLeftCell="{top}" activePane="bottomLeft" state="frozen"/><selection pane="bottomLeft" '
                     f'activeCell="{top}" sqref="{top}"/></sheetView></sheetViews>')
    else:
        parts.append('<sheetViews><sheetView tabSelected="1" workbookViewId="0"/></sheetViews>')
    parts.append('<sheetFormatPr defaultRowHeight="15"/>')
    if sheet.widths:
        parts.append("<cols>" + "".join(f'<col min="{c}" max="{c}" width="{w}" customWidth="1"/>'
                                        for c, w in sorted(sheet.widths.items())) + "</cols>")
    parts.append(f"<sheetData>{body}</sheetData>")
    if sheet.merges:
        parts.append(f'<mergeCells count="{len(sheet.merges)}">'
                     + "".join(f'<mergeCell ref="{m}"/>' for m in sheet.merges) + "</mergeCells>")
    if sheet.links:
        parts.append("<hyperlinks>" + "".join(
            f'<hyperlink ref="{at}" location="{attr_esc(location)}" display="{attr_esc(display)}"/>'
            for at, location, display in sheet.links) + "</hyperlinks>")
    parts.append(f'<pageMargins left="{sheet.side_margin}" right="{sheet.side_margin}" top="0.75" bottom="0.75" '
                 'header="0.3" footer="0.3"/>')
    if sheet.landscape_fit_width:
        parts.append('<pageSetup paperSize="9" orientation="landscape" fitToWidth="1" fitToHeight="0"/>')
    if sheet.footer:
        parts.append(f"<headerFooter><oddFooter>{esc(sheet.footer)}</oddFooter></headerFooter>")
    parts.append("</worksheet>")
    return "".join(parts)
