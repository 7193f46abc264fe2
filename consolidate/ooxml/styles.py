"""xl/styles.xml: the cell formats of a workbook, only ever appended to.

A marked cell keeps its own cell format (borders, number format, font,
protection, alignment) cloned from its raw XML with only the fill replaced;
the new sheet's formats take the workbook's default font. Appending keeps
every index the sheets already use valid, and identical entries are reused,
so a copy that goes back and forth does not grow a format each round.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Callable

from .package import MAIN_NS
from .xml_text import (
    ATTRS,
    Node,
    Unsupported,
    apply,
    attr,
    attr_esc,
    checked,
    decode,
    element_prefix,
    items,
    root,
    section,
    set_attr,
    start_tag,
)


@dataclass(frozen=True)
class Style:
    """The look of a cell of a sheet we write: font, solid fill, alignment (the rest is the workbook default)."""

    bold: bool = False
    size: float | None = None
    color: str | None = None
    underline: bool = False
    fill: str | None = None
    wrap: bool = False
    horizontal: str | None = None
    vertical: str | None = None


def _tag_attrs(raw: str, prefix: str, local: str) -> str | None:
    """The attributes of the first ``local`` element in an element's raw XML, None when it has none."""
    m = re.search(rf"<{re.escape(prefix + local)}(?=[\s/>])({ATTRS})", raw)
    return m.group(1) if m else None


def _fill_kind(raw: str, p: str) -> str | None:
    """The rgb of a solid fill, '' for no fill, None for anything else (pattern, gradient, theme colour)."""
    pattern = _tag_attrs(raw, p, "patternFill")
    if pattern is None:
        return None
    kind = attr(pattern, "patternType")
    if kind in (None, "none"):
        return ""
    fg = _tag_attrs(raw, p, "fgColor")
    return attr(fg, "rgb") if kind == "solid" and fg is not None else None


def _locked(raw: str, p: str) -> bool:
    protection = _tag_attrs(raw, p, "protection")
    return protection is None or attr(protection, "locked") not in ("0", "false")


@dataclass(frozen=True)
class _Read:
    """What styles.xml holds, read once per distinct part (units who fill one template send the same)."""

    text: str
    p: str
    nodes: tuple[tuple[str, Node], ...]
    font_raw: tuple[str, ...]
    base_font: tuple[tuple[str, str], ...]
    fill_raw: tuple[str, ...]
    fills: tuple[str | None, ...]
    xf_raw: tuple[str, ...]
    xf_fill: tuple[int, ...]
    xf_locked: tuple[bool, ...]
    has_style_xf: bool


@functools.lru_cache(maxsize=16)
def _read(data: bytes) -> _Read:
    """The part by its few sections (each occurs once and never nests): ~5x faster than building
    defusedxml's tree of it. The edited part is checked well-formed before it is written."""
    text = decode(data)
    p = element_prefix(root(text), MAIN_NS, "styleSheet")
    nodes = {local: node for local in ("fonts", "fills", "borders", "cellStyleXfs", "cellXfs")
             if (node := section(text, p, local)) is not None}
    for needed in ("fonts", "fills", "borders", "cellXfs"):
        if needed not in nodes or nodes[needed].empty:
            raise Unsupported(f"styles without {needed}")
    fonts = items(text, nodes["fonts"], p, "font")
    base_font = []
    for local in ("sz", "name", "family", "charset", "scheme"):
        found = _tag_attrs(text[fonts[0].start:fonts[0].end], p, local) if fonts else None
        if found is not None and attr(found, "val"):
            base_font.append((local, attr(found, "val") or ""))
    fill_raw = tuple(text[n.start:n.end] for n in items(text, nodes["fills"], p, "fill"))
    xfs = items(text, nodes["cellXfs"], p, "xf")
    xf_raw = tuple(text[n.start:n.end] for n in xfs)
    return _Read(
        text=text, p=p, nodes=tuple(nodes.items()),
        font_raw=tuple(text[n.start:n.end] for n in fonts), base_font=tuple(base_font),
        fill_raw=fill_raw, fills=tuple(_fill_kind(raw, p) for raw in fill_raw),
        xf_raw=xf_raw, xf_fill=tuple(int(attr(n.attrs, "fillId") or 0) for n in xfs),
        xf_locked=tuple(_locked(raw, p) for raw in xf_raw),
        has_style_xf="cellStyleXfs" in nodes and bool(items(text, nodes["cellStyleXfs"], p, "xf")),
    )


class Styles:
    """xl/styles.xml: fonts, fills and cell formats are only ever appended, so existing indices stay valid."""

    def __init__(self, part: str, data: bytes) -> None:
        read = _read(data)
        self.part, self.text, self.p, self.nodes = part, read.text, read.p, dict(read.nodes)
        self.font_raw = list(read.font_raw)
        self.base_font = dict(read.base_font)
        self.fill_raw = list(read.fill_raw)
        self.fills = list(read.fills)
        self.xf_raw = list(read.xf_raw)
        self.xf_fill = list(read.xf_fill)
        self.xf_locked = list(read.xf_locked)
        self.has_style_xf = read.has_style_xf
        self.new_fonts: list[str] = []
        self.new_fills: list[str] = []
        self.new_xfs: list[str] = []
        self._fill_ids: dict[str, int] = {}
        self._clones: dict[tuple[int, int], int] = {}
        self._styles: dict[Style, int] = {}

    @property
    def changed(self) -> bool:
        return bool(self.new_fonts or self.new_fills or self.new_xfs)

    def _check(self, xf: int) -> None:
        if not 0 <= xf < len(self.xf_raw):
            raise Unsupported("style index out of range")

    def fill_of(self, xf: int) -> str | None:
        """The rgb of the format's solid fill, '' for no fill, None for another kind of fill."""
        self._check(xf)
        fill = self.xf_fill[xf]
        return self.fills[fill] if 0 <= fill < len(self.fills) else None

    def locked(self, xf: int) -> bool:
        self._check(xf)
        return self.xf_locked[xf]

    def fill(self, rgb: str | None) -> int:
        """A solid fill of ``rgb`` (appended once), or no fill for None (fill 0 when it is the usual 'none')."""
        key = rgb or ""
        if key not in self._fill_ids:
            if not key and self.fills and self.fills[0] == "":
                self._fill_ids[key] = 0
            else:
                p = self.p
                if rgb:
                    body = (f'<{p}patternFill patternType="solid"><{p}fgColor rgb="{rgb}"/>'
                            f'<{p}bgColor rgb="{rgb}"/></{p}patternFill>')
                else:
                    body = f'<{p}patternFill patternType="none"/>'
                self._fill_ids[key] = self._append(self.fill_raw, self.new_fills, f"<{p}fill>{body}</{p}fill>",
                                                   lambda: self.fills.append(key))
        return self._fill_ids[key]

    @staticmethod
    def _append(raws: list[str], new: list[str], xml: str, also: Callable[[], None]) -> int:
        """The index of ``xml`` in the list, appended only when no identical entry exists.

        A copy that goes back and forth between a unit and us would otherwise
        gain the same formats on every round.
        """
        if xml in raws:
            return raws.index(xml)
        raws.append(xml)
        new.append(xml)
        also()
        return len(raws) - 1

    def with_fill(self, xf: int, rgb: str | None) -> int:
        """Cell format ``xf`` with only its fill replaced: cloned from its raw XML, so nothing else changes."""
        self._check(xf)
        fill_id = self.fill(rgb)
        key = (xf, fill_id)
        if key not in self._clones:
            if self.xf_fill[xf] == fill_id:
                self._clones[key] = xf
            else:
                raw = self.xf_raw[xf]
                m = start_tag(raw)
                tag = set_attr(set_attr(m.group(0), "fillId", str(fill_id)), "applyFill", "1")
                self._clones[key] = self._add_xf(tag + raw[m.end():], fill_id, self.xf_locked[xf])
        return self._clones[key]

    def style(self, style: Style) -> int:
        """The cell format for a cell of a sheet we write."""
        if style not in self._styles:
            p = self.p
            font_id = self._font(style) if (style.bold or style.size or style.color or style.underline) else 0
            fill_id = self.fill(style.fill) if style.fill else 0
            align = "".join(f' {k}="{v}"' for k, v in (("horizontal", style.horizontal),
                                                      ("vertical", style.vertical),
                                                      ("wrapText", "1" if style.wrap else None)) if v)
            attrs = f'numFmtId="0" fontId="{font_id}" fillId="{fill_id}" borderId="0"'
            attrs += ' xfId="0"' if self.has_style_xf else ""
            attrs += ' applyFont="1"' if font_id else ""
            attrs += ' applyFill="1"' if fill_id else ""
            if align:
                xml = f'<{p}xf {attrs} applyAlignment="1"><{p}alignment{align}/></{p}xf>'
            else:
                xml = f"<{p}xf {attrs}/>"
            self._styles[style] = self._add_xf(xml, fill_id, True)
        return self._styles[style]

    def _add_xf(self, xml: str, fill_id: int, locked: bool) -> int:
        def more() -> None:
            self.xf_fill.append(fill_id)
            self.xf_locked.append(locked)

        return self._append(self.xf_raw, self.new_xfs, xml, more)

    def _font(self, style: Style) -> int:
        """A font like the workbook's default one (name, family, scheme) with our weight, size and colour."""
        p, base = self.p, self.base_font
        parts = []
        if style.bold:
            parts.append(f"<{p}b/>")
        if style.underline:
            parts.append(f'<{p}u val="single"/>')
        parts.append(f'<{p}sz val="{attr_esc(str(style.size or base.get("sz") or 11))}"/>')
        if style.color:
            parts.append(f'<{p}color rgb="{style.color}"/>')
        parts.append(f'<{p}name val="{attr_esc(base.get("name") or "Calibri")}"/>')
        for extra in ("family", "charset", "scheme"):
            if base.get(extra):
                parts.append(f'<{p}{extra} val="{attr_esc(base[extra])}"/>')
        return self._append(self.font_raw, self.new_fonts, f"<{p}font>{''.join(parts)}</{p}font>", lambda: None)

    def xml(self) -> bytes:
        edits = []
        for local, new, total in (("fonts", self.new_fonts, len(self.font_raw)),
                                  ("fills", self.new_fills, len(self.fills)),
                                  ("cellXfs", self.new_xfs, len(self.xf_raw))):
            if new:
                node = self.nodes[local]
                edits.append((node.inner_end, node.inner_end, "".join(new)))
                if attr(node.attrs, "count") is not None:
                    tag = self.text[node.start:node.inner_start]
                    edits.append((node.start, node.inner_start, set_attr(tag, "count", str(total))))
        return checked(apply(self.text, edits))
