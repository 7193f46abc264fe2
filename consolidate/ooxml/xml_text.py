"""XML parts edited as text: found by a quote-aware tag scanner, never re-serialised from a tree.

Serialising a parsed tree renames namespace prefixes (``ns0:``), and Excel
refuses a file whose ``mc:Ignorable`` names a prefix that is no longer
declared; editing the text at the positions of its elements keeps every
byte we do not mean to change.

The text is untrusted. Trees are built only with defusedxml (no DTD, no
entities); text we edit must hold no markup declarations at all (no
DOCTYPE, comments or CDATA, which Excel never writes and which would fool
the scanner); every part written is checked to be well-formed. Anything
unexpected raises ``Unsupported``: the caller then takes another way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from xml.etree.ElementTree import Element
from xml.parsers import expat

from defusedxml import DTDForbidden
from defusedxml import ElementTree as SafeET

XML_DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'


class Unsupported(Exception):
    """The input has something this code does not handle: the caller should take another way."""


# What XML 1.0 cannot carry: C0 controls but tab/newline/return, lone surrogates, U+FFFE/U+FFFF.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


_NEEDS_WORK = re.compile('[\x00-\x1f&<>"\ud800-\udfff\ufffe\uffff]')


def clean_text(value: str) -> str:
    """Text that XML can carry (openpyxl strips the same control characters)."""
    return _XML_ILLEGAL.sub("", value)


def esc(value: str) -> str:
    """Element text, cleaned and escaped."""
    if not _NEEDS_WORK.search(value):
        return value
    return clean_text(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def attr_esc(value: str) -> str:
    """An attribute value for a double-quoted attribute, cleaned and escaped (whitespace kept as written)."""
    if not _NEEDS_WORK.search(value):
        return value
    return (esc(value).replace('"', "&quot;").replace("\n", "&#10;").replace("\r", "&#13;")
            .replace("\t", "&#9;"))


def parse(data: bytes | str) -> Element:
    """A tree of a part, refusing DTDs and entities: for the small parts we read values from."""
    try:
        return SafeET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except Exception as exc:  # ParseError, the defusedxml refusals
        raise Unsupported(f"unparsable part: {exc}") from exc


def _refuse(*_args: object) -> None:
    raise DTDForbidden(None, None, None)


def check_well_formed(data: bytes) -> bytes:
    """``data`` when it is well-formed XML, without building a tree (expat at C speed).

    The same refusals as defusedxml's parser: a DTD, an entity declaration or
    an external reference is an error, so nothing is ever expanded.
    """
    parser = expat.ParserCreate()
    parser.StartDoctypeDeclHandler = _refuse
    parser.EntityDeclHandler = _refuse
    parser.UnparsedEntityDeclHandler = _refuse
    parser.ExternalEntityRefHandler = _refuse
    try:
        parser.Parse(data, True)
    except (expat.ExpatError, DTDForbidden) as exc:
        raise Unsupported(f"not well-formed: {exc}") from exc
    return data


def checked(text: str) -> bytes:
    """An edited part as bytes, checked once more: an edit that broke the XML must not reach the unit."""
    return check_well_formed(text.encode("utf-8"))


# A part's encoding (XML 1.0, appendix F): its byte-order mark, else the first bytes of a "<?xml" in
# UTF-32 or UTF-16 without one, else the encoding its declaration names; UTF-8 when it names none.
_BOMS = ((b"\x00\x00\xfe\xff", "utf-32-be"), (b"\xff\xfe\x00\x00", "utf-32-le"), (b"\xef\xbb\xbf", "utf-8"),
         (b"\xfe\xff", "utf-16-be"), (b"\xff\xfe", "utf-16-le"))
_NO_BOM = ((b"\x00\x00\x00<", "utf-32-be"), (b"<\x00\x00\x00", "utf-32-le"), (b"\x00<\x00?", "utf-16-be"),
           (b"<\x00?\x00", "utf-16-le"))
_DECLARED = re.compile(rb"[ \t\r\n]*<\?xml[^>]*?\sencoding\s*=\s*[\"']([A-Za-z][\w.:\-]*)[\"']")
_DECLARATION = re.compile(r"(<\?xml[^>]*?\sencoding\s*=\s*)([\"'])[^\"']*\2")
_UTF8_NAMES = {b"utf-8", b"utf8"}


def part_encoding(data: bytes) -> tuple[str, int]:
    """(codec, length of the byte-order mark) of an XML part, from its first bytes."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return codec, len(bom)
    for head, codec in _NO_BOM:
        if data.startswith(head):
            return codec, 0
    m = _DECLARED.match(data, 0, 256)
    return (m.group(1).decode("ascii").lower() if m else "utf-8"), 0


def is_plain_utf8(data: bytes) -> bool:
    """Whether a part's bytes are (declared) UTF-8 without a byte-order mark, as Excel writes every part."""
    if data[:1] in (b"\x00", b"\xef", b"\xfe", b"\xff") or data[1:2] == b"\x00":
        return False
    m = _DECLARED.match(data, 0, 256)
    return m is None or m.group(1).lower().replace(b"_", b"-") in _UTF8_NAMES


def part_text(data: bytes, errors: str = "strict") -> str:
    """The text of an XML part, decoded by the encoding it declares (see ``part_encoding``), its byte-order
    mark left out and its declaration saying UTF-8: the one place a part's bytes become text, so every
    screen sees a UTF-16 part as it sees the same part in UTF-8. ``Unsupported`` when it cannot be decoded
    (with ``errors="replace"``, never: the screens look at what can be read, latin-1 for an unknown codec).
    """
    codec, bom = part_encoding(data)
    try:
        text = data[bom:].decode(codec, errors)
    except LookupError as exc:
        if errors == "strict":
            raise Unsupported(f"encoding {codec}") from exc
        text = data[bom:].decode("latin-1")
    except UnicodeDecodeError as exc:
        raise Unsupported(f"not {codec}") from exc
    if codec.replace("_", "-") not in ("utf-8", "utf8"):
        text = _DECLARATION.sub(r"\1\2UTF-8\2", text, count=1)
    return text


def utf8_part(data: bytes) -> bytes:
    """A part's bytes in UTF-8, for the screens that look at bytes: ``data`` itself when it is plain UTF-8
    already (nearly every part, at the cost of a prefix test), else its text (``part_text``) encoded."""
    if is_plain_utf8(data):
        return data
    return part_text(data, errors="replace").encode("utf-8", "surrogatepass")


def decode(data: bytes) -> str:
    """The text of a part we edit, whatever encoding it declares (``part_text``: an edited part is written
    back in UTF-8, and says so); only text without markup declarations is edited."""
    text = part_text(data)
    if "<!" in text:  # DOCTYPE, comments, CDATA: never written by Excel, and they would fool the scanner
        raise Unsupported("markup declarations")
    return text


# A document type declaration: its name, an external identifier, an internal subset (quoted strings
# may hold ']' and '>'). Excel never writes one; a part's copy is made without it.
_DOCTYPE = re.compile(
    r"<!DOCTYPE\s+[^\s\[>]+(?:\s+(?:SYSTEM|PUBLIC)(?:\s+(?:\"[^\"]*\"|'[^']*')){1,2})?\s*"
    r"(?:\[(?:[^\]\"']|\"[^\"]*\"|'[^']*')*\]\s*)?>"
)
_SYSTEM_ID = re.compile(r"<!DOCTYPE\s+[^\s\[>]+\s+(?:SYSTEM|PUBLIC\s+(?:\"[^\"]*\"|'[^']*'))\s+(?:\"([^\"]*)\"|'([^']*)')")


def doctype_address(text: str) -> str | None:
    """The address a part's document type declaration names ('' for one without), None without one."""
    if "<!DOCTYPE" not in text:
        return None
    m = _SYSTEM_ID.search(text)
    return (m.group(1) if m.group(1) is not None else m.group(2)) if m else ""


def without_doctype(data: bytes) -> bytes | None:
    """The part in UTF-8 without its document type declaration; None when it has none.
    ``Unsupported`` when one is there but not in a form this recognises (it must not be kept)."""
    text = utf8_part(data)
    if b"<!DOCTYPE" not in text:
        return None
    cleaned, n = _DOCTYPE.subn("", part_text(text), count=1)
    if n != 1 or "<!DOCTYPE" in cleaned:
        raise Unsupported("document type declaration")
    return cleaned.encode("utf-8")


NAME = r"[^\W\d][\w.\-]*(?::[^\W\d][\w.\-]*)?"
ATTRS = r"(?:\s+[^\s=/>]+\s*=\s*(?:\"[^\"]*\"|'[^']*'))*"
_TAG = re.compile(rf"<(/?)({NAME})({ATTRS})\s*(/?)>|<\?.*?\?>", re.S)


@dataclass
class Node:
    """An element's place in a part's text; ``inner_start:inner_end`` is its content (empty for ``<x/>``)."""

    name: str
    start: int
    inner_start: int
    inner_end: int
    end: int
    attrs: str

    @property
    def local(self) -> str:
        return self.name.rpartition(":")[2]

    @property
    def prefix(self) -> str:
        """``x:`` for ``<x:row>``, '' for an element of the default namespace."""
        return self.name[: len(self.name) - len(self.local)]

    @property
    def empty(self) -> bool:
        return self.inner_start == self.end


def start_tag(text: str) -> re.Match[str]:
    """The start tag at the beginning of ``text`` (an element's raw XML)."""
    m = _TAG.match(text)
    if not m or m.group(2) is None or m.group(1):
        raise Unsupported("markup")
    return m


def root(text: str) -> Node:
    """The document element."""
    pos = 0
    while True:
        i = text.find("<", pos)
        if i < 0:
            raise Unsupported("no root element")
        m = _TAG.match(text, i)
        if not m or m.group(1):
            raise Unsupported("markup")
        if m.group(2) is None:  # the XML declaration or another processing instruction
            pos = m.end()
            continue
        name, attrs = m.group(2), m.group(3)
        if m.group(4):
            return Node(name, i, m.end(), m.end(), m.end(), attrs)
        close = text.rfind(f"</{name}")
        end = text.find(">", close) + 1
        if close < m.end() or end <= 0 or text[end:].strip():
            raise Unsupported("root element")
        return Node(name, i, m.end(), close, end, attrs)


def children(text: str, parent: Node, skip: tuple[str, ...] = ()) -> list[Node]:
    """The direct children of ``parent``; the content of a child named in ``skip`` is jumped over unread.

    Every '<' must open a tag: ``decode`` refused comments and CDATA, and
    well-formed text has no other '<' (the scan checks it as it goes).
    """
    out: list[Node] = []
    stack: list[tuple[str, int, int, str]] = []
    pos, hi = parent.inner_start, parent.inner_end
    while True:
        restart = False
        for m in _TAG.finditer(text, pos, hi):
            i = m.start()
            if text.find("<", pos, i) >= 0:
                raise Unsupported("markup")
            pos = m.end()
            closing, name, attrs, self_closing = m.groups()
            if name is None:
                continue
            if closing:
                if not stack or stack[-1][0] != name:
                    raise Unsupported("unbalanced markup")
                _, start, inner, a = stack.pop()
                if not stack:
                    out.append(Node(name, start, inner, i, pos, a))
            elif self_closing:
                if not stack:
                    out.append(Node(name, i, pos, pos, pos, attrs))
            elif not stack and name.rpartition(":")[2] in skip:
                close = f"</{name}>"
                j = text.find(close, pos, hi)
                if j < 0:
                    raise Unsupported("unbalanced markup")
                out.append(Node(name, i, pos, j, j + len(close), attrs))
                pos = j + len(close)
                restart = True
                break
            else:
                stack.append((name, i, pos, attrs))
        if not restart:
            break
    if stack or text.find("<", pos, hi) >= 0:
        raise Unsupported("unbalanced markup")
    return out


def section(text: str, prefix: str, local: str) -> Node | None:
    """The first element named ``local`` anywhere in the text: for elements that occur once and never nest."""
    m = re.compile(rf"<{re.escape(prefix + local)}(?=[\s/>])({ATTRS})\s*(/?)>").search(text)
    if not m:
        return None
    if m.group(2):
        return Node(prefix + local, m.start(), m.end(), m.end(), m.end(), m.group(1))
    close = f"</{prefix}{local}>"
    j = text.find(close, m.end())
    if j < 0:
        raise Unsupported("unbalanced markup")
    return Node(prefix + local, m.start(), m.end(), j, j + len(close), m.group(1))


def items(text: str, parent: Node, prefix: str, local: str) -> list[Node]:
    """The ``local`` elements inside ``parent``, for elements that never nest (xf, fill, font)."""
    pattern = re.compile(rf"<{re.escape(prefix + local)}(?=[\s/>])({ATTRS})\s*(/?)>")
    close = f"</{prefix}{local}>"
    out = []
    pos = parent.inner_start
    while (m := pattern.search(text, pos, parent.inner_end)) is not None:
        if m.group(2):
            out.append(Node(prefix + local, m.start(), m.end(), m.end(), m.end(), m.group(1)))
            pos = m.end()
        else:
            j = text.find(close, m.end(), parent.inner_end)
            if j < 0:
                raise Unsupported("unbalanced markup")
            out.append(Node(prefix + local, m.start(), m.end(), j, j + len(close), m.group(1)))
            pos = j + len(close)
    return out


def first(nodes: list[Node], local: str) -> Node | None:
    return next((n for n in nodes if n.local == local), None)


_ATTR_RES: dict[str, re.Pattern[str]] = {}


def _attr_re(name: str) -> re.Pattern[str]:
    if name not in _ATTR_RES:
        _ATTR_RES[name] = re.compile(rf"(\s){re.escape(name)}\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")
    return _ATTR_RES[name]


def attr(attrs: str, name: str) -> str | None:
    """A plain attribute value (a number, a reference: entities are refused, not expanded)."""
    m = _attr_re(name).search(attrs)
    if not m:
        return None
    value = m.group(2) if m.group(2) is not None else m.group(3)
    if "&" in value:
        raise Unsupported("escaped attribute")
    return value


def set_attr(tag: str, name: str, value: str | None) -> str:
    """A start tag with attribute ``name`` set to ``value`` (added when missing), or removed for None."""
    pattern = _attr_re(name)
    if pattern.search(tag):
        return pattern.sub(lambda m: "" if value is None else f'{m.group(1)}{name}="{value}"', tag, count=1)
    if value is None:
        return tag
    end = len(tag) - (2 if tag.endswith("/>") else 1)
    while tag[end - 1].isspace():
        end -= 1
    return f'{tag[:end]} {name}="{value}"{tag[end:]}'


def apply(text: str, edits: list[tuple[int, int, str]]) -> str:
    """Replace each (start, end) span by its text; an insertion at a span's start goes before it."""
    parts: list[str] = []
    last = len(text)
    for start, end, new in sorted(edits, key=lambda e: (e[0], e[1]), reverse=True):
        if end > last:
            raise Unsupported("overlapping edits")
        parts.append(text[end:last])
        parts.append(new)
        last = start
    parts.append(text[:last])
    return "".join(reversed(parts))


def ns_prefix(node: Node, uri: str) -> str | None:
    """The prefix an element binds to ``uri`` ('' for its default namespace), None when it binds none."""
    for m in re.finditer(r"\sxmlns(?::([^\s=]+))?\s*=\s*(?:\"([^\"]*)\"|'([^']*)')", node.attrs):
        if (m.group(2) if m.group(2) is not None else m.group(3)) == uri:
            return m.group(1) or ""
    return None


def element_prefix(node: Node, uri: str, local: str) -> str:
    """The prefix (``x:`` or '') the part's root writes its elements with, checked to be bound to ``uri``."""
    if node.local != local or ns_prefix(node, uri) != node.prefix[:-1]:
        raise Unsupported(f"not a {local} of {uri}")
    return node.prefix
