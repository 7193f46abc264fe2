"""A sheet's cell comments: the comments part that holds their text and the VML drawing that shows them.

The unit's own comments are kept as they were written (rich text, revision
ids); ours are added in plain text. Excel draws a comment only when the
sheet's legacy VML drawing has a note box for its cell, so boxes are
removed and added with the comments.

VML is not always well-formed XML (Excel writes ``<br>`` in form controls)
and its prefixes vary (openpyxl writes ``ns0:``), so a drawing is edited by
pattern on its note boxes only; everything else in it stays as it was.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from xml.etree.ElementTree import Element

from .package import MAIN_NS, Cell, ref, split_ref
from .xml_text import (
    XML_DECL,
    Unsupported,
    apply,
    check_well_formed,
    checked,
    children,
    decode,
    element_prefix,
    esc,
    parse,
    root,
)

VML_NS = {"v": "urn:schemas-microsoft-com:vml", "o": "urn:schemas-microsoft-com:office:office",
          "x": "urn:schemas-microsoft-com:office:excel"}
STANDARD_VML_PREFIXES = {"v": "v", "o": "o", "x": "x"}


@dataclass
class Note:
    """A cell comment as the unit sees it: who wrote it and its plain text."""

    author: str
    text: str


@dataclass
class NewNote:
    """A comment to write, with the size of its box in pixels."""

    text: str
    author: str
    width: int
    height: int


def plain_text(el: Element | None) -> str:
    """Rich text without its formatting (no phonetic runs), as openpyxl's ``comment.text`` gives it."""
    if el is None:
        return ""
    q = f"{{{MAIN_NS}}}"
    return "".join([el.findtext(q + "t") or "", *(r.findtext(q + "t") or "" for r in el.findall(q + "r"))])


class CommentsPart:
    """A sheet's existing comments part, read to be merged with ours."""

    def __init__(self, part: str, data: bytes) -> None:
        self.part = part
        self.text = text = decode(data)
        tree = parse(data)
        node = root(text)
        self.p = element_prefix(node, MAIN_NS, "comments")
        q = f"{{{MAIN_NS}}}"
        self.authors = [a.text or "" for a in tree.iterfind(f"{q}authors/{q}author")]
        self.nodes = {n.local: n for n in children(text, node)}
        if "commentList" not in self.nodes or "authors" not in self.nodes:
            raise Unsupported("comments part")
        nodes = children(text, self.nodes["commentList"])
        elements = tree.findall(f"{q}commentList/{q}comment")
        if len(nodes) != len(elements):
            raise Unsupported("comments part")
        self.notes: dict[Cell, Note] = {}
        self.xml: dict[Cell, str] = {}  # each comment as the unit's program wrote it
        for node, el in zip(nodes, elements):
            try:
                key = split_ref((el.get("ref") or "").partition(":")[0])
                author_id = int(el.get("authorId", "0"))
            except ValueError as exc:
                raise Unsupported("comment reference") from exc
            if key in self.notes:
                raise Unsupported("two comments on one cell")
            author = self.authors[author_id] if 0 <= author_id < len(self.authors) else ""
            self.notes[key] = Note(author, plain_text(el.find(f"{q}text")))
            self.xml[key] = text[node.start:node.end]


def comments_xml(existing: CommentsPart | None, kept: dict[Cell, str], new: dict[Cell, NewNote]) -> bytes:
    """The comments part: the unit's kept comments as written and ours, in cell order."""
    p = existing.p if existing else ""
    authors = list(existing.authors) if existing else []
    added = [a for a in sorted({n.author for n in new.values()}) if a not in authors]
    authors += added
    items = []
    for key in sorted(set(kept) | set(new)):
        if key in kept:
            items.append(kept[key])
        else:
            note = new[key]
            items.append(f'<{p}comment ref="{ref(*key)}" authorId="{authors.index(note.author)}">'
                         f'<{p}text><{p}t xml:space="preserve">{esc(note.text)}</{p}t></{p}text></{p}comment>')
    author_xml = "".join(f"<{p}author>{esc(a)}</{p}author>" for a in added)
    comment_list = f"<{p}commentList>{''.join(items)}</{p}commentList>"
    if existing is None:
        return checked(f'{XML_DECL}<comments xmlns="{MAIN_NS}"><authors>{author_xml}</authors>'
                       f"{comment_list}</comments>")
    a_node, l_node = existing.nodes["authors"], existing.nodes["commentList"]
    edits = [(l_node.start, l_node.end, comment_list)]
    if added and a_node.empty:
        edits.append((a_node.start, a_node.end, f"<{p}authors>{author_xml}</{p}authors>"))
    elif added:
        edits.append((a_node.inner_end, a_node.inner_end, author_xml))
    return checked(apply(existing.text, edits))


# The VML drawing --------------------------------------------------------------

_VML_ID = re.compile(r"_x0000_s(\d+)")
_VML_IDMAP = re.compile(r"<[\w.\-]+:idmap\b[^>]*?\bdata\s*=\s*[\"']([\d,\s]*)[\"']")


def vml_blocks(text: str) -> list[int]:
    """The shape-id blocks (of 1024 ids) a VML drawing claims in its o:idmap."""
    return [int(x) for m in _VML_IDMAP.finditer(text) for x in m.group(1).replace(" ", "").split(",") if x]


def _shapetype(ns: dict[str, str]) -> str:
    v, o = ns["v"], ns["o"]
    return (f'<{v}:shapetype id="_x0000_t202" coordsize="21600,21600" {o}:spt="202" '
            f'path="m,l,21600r21600,l21600,xe"><{v}:stroke joinstyle="miter"/>'
            f'<{v}:path gradientshapeok="t" {o}:connecttype="rect"/></{v}:shapetype>')


def _note_box(shape_id: int, cell: Cell, note: NewNote, ns: dict[str, str]) -> str:
    """A hidden comment box, as openpyxl writes it (Excel and LibreOffice place it by the cell)."""
    v, o, x = ns["v"], ns["o"], ns["x"]
    row, col = cell
    return (
        f'<{v}:shape id="_x0000_s{shape_id}" type="#_x0000_t202" style="position:absolute; margin-left:59.25pt;'
        f'margin-top:1.5pt;width:{note.width}px;height:{note.height}px;z-index:1;visibility:hidden" '
        f'fillcolor="#ffffe1" {o}:insetmode="auto"><{v}:fill color2="#ffffe1"/><{v}:shadow color="black" '
        f'obscured="t"/><{v}:path {o}:connecttype="none"/><{v}:textbox style="mso-direction-alt:auto">'
        f'<div style="text-align:left"/></{v}:textbox><{x}:ClientData ObjectType="Note"><{x}:MoveWithCells/>'
        f"<{x}:SizeWithCells/><{x}:AutoFill>False</{x}:AutoFill><{x}:Row>{row - 1}</{x}:Row>"
        f"<{x}:Column>{col - 1}</{x}:Column></{x}:ClientData></{v}:shape>"
    )


def new_vml(boxes: dict[Cell, NewNote], first_block: int) -> tuple[bytes, int]:
    """A drawing with a box for each comment, and the last id block it claims (from ``first_block``)."""
    ns = STANDARD_VML_PREFIXES
    blocks = range(first_block, first_block + (len(boxes) + 1024) // 1024)
    body = "".join(_note_box(first_block * 1024 + 1 + i, cell, note, ns)
                   for i, (cell, note) in enumerate(sorted(boxes.items())))
    vml = (f'<xml xmlns:v="{VML_NS["v"]}" xmlns:o="{VML_NS["o"]}" xmlns:x="{VML_NS["x"]}">'
           f'<o:shapelayout v:ext="edit"><o:idmap v:ext="edit" data="{",".join(map(str, blocks))}"/>'
           f"</o:shapelayout>{_shapetype(ns)}{body}</xml>")
    return check_well_formed(vml.encode("utf-8")), blocks[-1]


class VmlDrawing:
    """An existing VML drawing, edited on its note boxes only."""

    def __init__(self, data: bytes) -> None:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise Unsupported("VML not UTF-8") from exc
        start = text.find("<xml")
        if "<!" in text or start < 0 or "</xml>" not in text:
            raise Unsupported("VML drawing")
        head = text[start:text.find(">", start) + 1]
        self.ns: dict[str, str] = {}
        for role, uri in VML_NS.items():
            m = re.search(rf"\sxmlns:([\w.\-]+)\s*=\s*[\"']{re.escape(uri)}[\"']", head)
            if not m:
                raise Unsupported("VML namespaces")
            self.ns[role] = m.group(1)
        self.text = text

    def edit(self, gone: set[Cell], new: dict[Cell, NewNote], next_block: int) -> str:
        """The drawing without the boxes of the cells in ``gone`` and with boxes for ``new``."""
        v, x = re.escape(self.ns["v"]), re.escape(self.ns["x"])
        # A shape's content never runs into the next shape: an unclosed <v:shape> (VML is not checked
        # well-formed) would otherwise make every match scan to the end of the drawing (quadratic).
        shape_re = re.compile(rf"<{v}:shape\b[^>]*?(?:/>|>(?:(?!<{v}:shape\b).)*?</{v}:shape\s*>)", re.S)
        row_re = re.compile(rf"<{x}:Row>\s*(\d+)\s*</{x}:Row>")
        col_re = re.compile(rf"<{x}:Column>\s*(\d+)\s*</{x}:Column>")

        def keep(m: re.Match[str]) -> str:
            shape = m.group(0)
            if 'ObjectType="Note"' not in shape:
                return shape
            r, c = row_re.search(shape), col_re.search(shape)
            return "" if r and c and (int(r.group(1)) + 1, int(c.group(1)) + 1) in gone else shape

        text = shape_re.sub(keep, self.text)
        ids = [int(i) for i in _VML_ID.findall(self.text)]
        start = max(ids) + 1 if ids else (vml_blocks(self.text) or [next_block])[0] * 1024 + 1
        boxes = "".join(_note_box(start + i, cell, note, self.ns) for i, (cell, note) in enumerate(sorted(new.items())))
        if boxes and 'id="_x0000_t202"' not in text:
            boxes = _shapetype(self.ns) + boxes
        end = text.rfind("</xml>")
        return text[:end] + boxes + text[end:]
