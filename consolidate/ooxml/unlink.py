"""A package with nothing left in it that reaches outside by itself: no relationship to an outside
address, no document type declaration.

A feedback copy goes back to a unit and is opened in Excel. A picture linked
from ``file://///host/share/…`` (or any relationship with ``TargetMode="External"``)
makes Windows fetch that address as the file opens, over SMB with the user's
credentials; a hyperlink to a share is one click away from the same; a DTD named
by address is fetched by readers that resolve them. So a copy keeps none of
them (the reader logged each one, see ``external.package_scan``): the
relationship is dropped, and so are the attributes that pointed at it
(``r:link`` of a picture, ``o:relid`` of a VML image) and the hyperlinks that
used it; a part's document type declaration is dropped (Excel never writes one).

Done on the package as opened, before any part is read as text for an edit, so
every later edit starts from the cleaned part. Anything unexpected raises
``Unsupported``: the caller then makes the copy another way.
"""

from __future__ import annotations

import re

from .external import RT_EXTERNAL_LINK, EXTERNAL_TARGET, rels_source
from .package import Package, Rels
from .xml_text import check_well_formed, checked, decode, utf8_part, without_doctype

# Parts that are never XML: not inflated to look for a declaration.
_MEDIA = (".png", ".jpeg", ".jpg", ".gif", ".bmp", ".tif", ".tiff", ".emf", ".wmf", ".bin", ".wdp", ".svg")
# A namespace-qualified attribute (r:id, r:link, r:embed, o:relid): how parts point at relationships.
_INSIDE = r"""(?:[^>"']|"[^"]*"|'[^']*')*"""  # a tag's inside, quoted values may hold '>'
_QUALIFIED_ATTR = re.compile(r"""\s[\w.\-]+:[\w.\-]+\s*=\s*(?:"([^"]*)"|'([^']*)')""")


def leave_outside_out(package: Package) -> None:
    """Drop every document type declaration and every relationship to an outside address (see above)."""
    for name in package.parts():
        if name.lower().endswith(_MEDIA):
            continue
        cleaned = without_doctype(package.read(name))
        if cleaned is not None:  # checked: an entity its DTD declared would now be undefined
            package.put(name, check_well_formed(cleaned))
    rels_parts = [name for name in package.parts() if name.endswith(".rels")]
    outward = [name for name in rels_parts if EXTERNAL_TARGET.search(utf8_part(package.read(name)))]
    if not outward:
        return
    links = set()  # external link parts: removed whole with the formulas that use them (XlsxPatch)
    for name in rels_parts:
        rels = Rels(rels_source(name), package.read(name))
        links.update(rels.part(r) for r in rels.items if r["Type"] == RT_EXTERNAL_LINK)
    for name in outward:
        source = rels_source(name)
        if source in links:
            continue
        rels = Rels(source, package.read(name))
        outside = {r["Id"] for r in rels.items if r.get("TargetMode") == "External"}
        for rid in outside:
            rels.remove(rid)
        package.put(name, rels.xml())
        if source and package.name(source) is not None:
            package.put(source, checked(_unlinked(decode(package.read(source)), outside)))


def _unlinked(text: str, ids: set[str]) -> str:
    """A part's text without the hyperlinks that use these relationships and without any other
    attribute that points at one of them."""
    def attribute(m: re.Match[str]) -> str:
        value = m.group(1) if m.group(1) is not None else m.group(2)
        return "" if value in ids else m.group(0)

    def hyperlink(m: re.Match[str]) -> str:
        return "" if _QUALIFIED_ATTR.sub(attribute, m.group(0)) != m.group(0) else m.group(0)

    text = re.sub(rf"<(?:[\w.\-]+:)?hyperlink(?=[\s/>]){_INSIDE}/>", hyperlink, text)
    text = re.sub(r"<((?:[\w.\-]+:)?)hyperlinks(?=[\s/>])[^>]*>\s*</\1hyperlinks>|<(?:[\w.\-]+:)?hyperlinks\s*/>",
                  "", text)
    return re.sub(rf"<[^!?/]{_INSIDE}>", lambda tag: _QUALIFIED_ATTR.sub(attribute, tag.group(0)), text)

