"""An Office Open XML package opened for a few edits: its parts, relationships and content types.

Every part not edited is written back byte for byte, compressed stream
included (no inflate, no deflate: most of what a copy would otherwise
spend). Part names, relationship targets and content types follow OPC
(ECMA-376 part 2); a package this module does not understand raises
``Unsupported``.
"""

from __future__ import annotations

import functools
import io
import posixpath
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote

from ..core.cells import address, column_letters
from .xml_text import XML_DECL, Node, Unsupported, attr_esc, ns_prefix, parse

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
CT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
MAX_ROW, MAX_COL = 1_048_576, 16_384

Cell = tuple[int, int]  # (row, column), 1-based


# Cell references ----------------------------------------------------------------

_REF = re.compile(r"\$?([A-Z]{1,3})\$?([1-9][0-9]{0,6})")


def split_ref(text: str) -> Cell:
    """(row, column) of an A1 reference; ValueError for anything that is not one cell of a sheet."""
    m = _REF.fullmatch(text.strip().upper())
    if not m:
        raise ValueError(text)
    col = 0
    for ch in m.group(1):
        col = col * 26 + ord(ch) - 64
    row = int(m.group(2))
    if row > MAX_ROW or col > MAX_COL:
        raise ValueError(text)
    return row, col


col_letter = column_letters
ref = address


def cell_range(text: str | None) -> tuple[Cell, Cell] | None:
    """(first, last) cell of an A1 range ('C7' alone is a range of one), None when it is not one."""
    first_ref, _, last_ref = (text or "").partition(":")
    try:
        return split_ref(first_ref), split_ref(last_ref or first_ref)
    except ValueError:
        return None


# Relationships and content types ---------------------------------------------


def rel_id_attr(node: Node) -> tuple[str, str]:
    """How to write r:id under this root: the qualified name, and a declaration when the root binds none."""
    prefix = ns_prefix(node, REL_NS)
    if prefix:
        return f"{prefix}:id", ""
    return "r:id", f' xmlns:r="{REL_NS}"'


def rels_path(part: str) -> str:
    folder, name = posixpath.split(part)
    return posixpath.join(folder, "_rels", name + ".rels")


def _resolve(source: str, target: str) -> str:
    target = unquote(target)
    path = target[1:] if target.startswith("/") else posixpath.join(posixpath.dirname(source), target)
    path = posixpath.normpath(path)
    if path.startswith("..") or path.startswith("/"):
        raise Unsupported("relationship target outside the package")
    return path


def _relative(folder: str, part: str) -> str:
    """``part`` relative to ``folder`` (both part names): posixpath.relpath would ask the OS for the cwd."""
    here, there = [p for p in folder.split("/") if p], part.split("/")
    common = 0
    while common < min(len(here), len(there) - 1) and here[common] == there[common]:
        common += 1
    return "/".join([".."] * (len(here) - common) + there[common:])


@functools.lru_cache(maxsize=64)
def _relationships(data: bytes) -> tuple[tuple[tuple[str, str], ...], ...]:
    """The relationships of a part, memoised: units who filled the same template send identical parts."""
    tree = parse(data)
    if tree.tag != f"{{{PKG_REL_NS}}}Relationships":
        raise Unsupported("relationships part")
    items = []
    for el in tree:
        if el.tag != f"{{{PKG_REL_NS}}}Relationship" or not {"Id", "Type", "Target"} <= el.attrib.keys():
            raise Unsupported("relationship")
        items.append(tuple((k, v) for k, v in el.attrib.items() if k in ("Id", "Type", "Target", "TargetMode")))
    if len({dict(r)["Id"] for r in items}) != len(items):
        raise Unsupported("duplicate relationship ids")
    return tuple(items)


@functools.lru_cache(maxsize=64)
def _content_types(data: bytes) -> tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]:
    """(defaults, overrides) of [Content_Types].xml, memoised like ``_relationships``."""
    tree = parse(data)
    if tree.tag != f"{{{CT_NS}}}Types":
        raise Unsupported("content types")
    defaults, overrides = [], []
    for el in tree:
        if el.tag == f"{{{CT_NS}}}Default" and {"Extension", "ContentType"} <= el.attrib.keys():
            defaults.append((el.attrib["Extension"].lower(), el.attrib["ContentType"]))
        elif el.tag == f"{{{CT_NS}}}Override" and {"PartName", "ContentType"} <= el.attrib.keys():
            overrides.append(("/" + el.attrib["PartName"].lstrip("/"), el.attrib["ContentType"]))
        else:
            raise Unsupported("content types")
    return tuple(defaults), tuple(overrides)


class Rels:
    """A relationships part, rewritten whole when it changes (it holds nothing but relationships)."""

    def __init__(self, source: str, data: bytes | None) -> None:
        self.source = source
        self.items: list[dict[str, str]] = [dict(r) for r in _relationships(data)] if data is not None else []
        self.changed = False

    def get(self, rid: str) -> dict[str, str] | None:
        return next((r for r in self.items if r["Id"] == rid), None)

    def of_type(self, rel_type: str) -> list[dict[str, str]]:
        return [r for r in self.items if r["Type"] == rel_type]

    def part(self, rel: dict[str, str]) -> str:
        """The part a relationship points at."""
        if rel.get("TargetMode") == "External":
            raise Unsupported("external target")
        return _resolve(self.source, rel["Target"])

    def add(self, rel_type: str, part: str) -> str:
        ids = {r["Id"] for r in self.items}
        n = len(self.items) + 1
        while f"rId{n}" in ids:
            n += 1
        target = quote(_relative(posixpath.dirname(self.source), part))
        self.items.append({"Id": f"rId{n}", "Type": rel_type, "Target": target})
        self.changed = True
        return f"rId{n}"

    def remove(self, rid: str) -> None:
        self.items = [r for r in self.items if r["Id"] != rid]
        self.changed = True

    def xml(self) -> bytes:
        rows = "".join(
            "<Relationship" + "".join(f' {k}="{attr_esc(v)}"' for k, v in r.items()) + "/>" for r in self.items
        )
        return f'{XML_DECL}<Relationships xmlns="{PKG_REL_NS}">{rows}</Relationships>'.encode()


class ContentTypes:
    """[Content_Types].xml, rewritten whole (it holds nothing but the two kinds of entries)."""

    def __init__(self, data: bytes) -> None:
        defaults, overrides = _content_types(data)
        self.defaults: dict[str, str] = dict(defaults)
        self.overrides: dict[str, str] = dict(overrides)

    def of(self, part: str) -> str | None:
        wanted = "/" + part.lower()
        found = next((v for k, v in self.overrides.items() if k.lower() == wanted), None)
        return found or self.defaults.get(posixpath.splitext(part)[1][1:].lower())

    def add(self, part: str, content_type: str) -> None:
        ext = posixpath.splitext(part)[1][1:].lower()
        if ext == "vml" and ext not in self.defaults:  # Excel declares VML drawings by extension
            self.defaults[ext] = content_type
        elif self.of(part) != content_type:
            self.overrides["/" + part] = content_type

    def remove(self, part: str) -> None:
        for key in [k for k in self.overrides if k.lower() == "/" + part.lower()]:
            del self.overrides[key]

    def xml(self) -> bytes:
        items = "".join(f'<Default Extension="{attr_esc(k)}" ContentType="{attr_esc(v)}"/>'
                        for k, v in self.defaults.items())
        items += "".join(f'<Override PartName="{attr_esc(k)}" ContentType="{attr_esc(v)}"/>'
                         for k, v in self.overrides.items())
        return f'{XML_DECL}<Types xmlns="{CT_NS}">{items}</Types>'.encode()


# The zip ----------------------------------------------------------------------

_LOCAL = struct.Struct("<4sHHHHHIIIHH")
_CENTRAL = struct.Struct("<4sHHHHHHIIIHHHHHII")
_END = struct.Struct("<4sHHHHIIH")
_MAX_ENTRIES = 65_535  # beyond this the zip needs ZIP64: no template comes near it


class TooLarge(Unsupported):
    """The package unpacks to more than the caller is willing to hold."""


def stored_bytes(data: bytes, info: zipfile.ZipInfo) -> bytes:
    """A member's compressed bytes in an in-memory zip, found through its local header.

    zipfile allows a negative offset (a directory that overstates its own position); sliced
    with it, the bytes would come from the file's tail, a decoy: refused, as truncated data is.
    """
    offset = info.header_offset
    if offset < 0:
        raise Unsupported("member before the start of the zip")
    header = data[offset:offset + _LOCAL.size]
    if len(header) < _LOCAL.size:
        raise Unsupported("truncated zip")
    fields = _LOCAL.unpack(header)
    if fields[0] != b"PK\x03\x04":
        raise Unsupported("bad local header")
    start = offset + _LOCAL.size + fields[9] + fields[10]
    stored = data[start:start + info.compress_size]
    if len(stored) != info.compress_size:
        raise Unsupported("truncated zip")
    return stored


def inflated(stored: bytes, info: zipfile.ZipInfo) -> bytes:
    """A member's content from its stored bytes, checked against its declared size and CRC."""
    try:
        data = zlib.decompressobj(-15).decompress(stored, info.file_size + 1) if info.compress_type else stored
    except zlib.error as exc:
        raise Unsupported(f"corrupt part {info.filename}") from exc
    if len(data) != info.file_size or zlib.crc32(data) != info.CRC:
        raise Unsupported(f"corrupt part {info.filename}")
    return data


class Package:
    """The parts of a zip package: read on demand, edited in memory, written with the rest copied raw."""

    def __init__(self, path: Path, max_unpacked: int | None = None, data: bytes | None = None) -> None:
        """The package at ``path``, or in ``data`` when given (the bytes a run checked: the file may have changed)."""
        if max_unpacked is not None and (path.stat().st_size if data is None else len(data)) > max_unpacked:
            raise TooLarge(path.name)
        self.raw = path.read_bytes() if data is None else data
        with zipfile.ZipFile(io.BytesIO(self.raw)) as zf:  # the directory only: members are read from self.raw
            self.infos = [i for i in zf.infolist() if not i.is_dir()]
        if max_unpacked is not None and sum(i.file_size for i in self.infos) > max_unpacked:
            raise TooLarge(path.name)
        names = [i.filename for i in self.infos]
        if len({n.lower() for n in names}) != len(names):
            raise Unsupported("duplicate part names")
        if len(self.infos) >= _MAX_ENTRIES:
            raise Unsupported("too many parts")
        for info in self.infos:
            if info.flag_bits & 0x1 or info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise Unsupported("encrypted or unusually compressed part")
        self._by_lower = {i.filename.lower(): i for i in self.infos}
        self._cache: dict[str, bytes] = {}
        self.changed: dict[str, bytes] = {}  # part name → new content (edited or added)
        self.removed: set[str] = set()

    def name(self, part: str) -> str | None:
        """The part's name as the zip spells it (part names are case-insensitive), None when absent."""
        if part in self.changed:
            return part
        info = self._by_lower.get(part.lower())
        return None if info is None or info.filename in self.removed else info.filename

    def read_optional(self, part: str) -> bytes | None:
        name = self.name(part)
        if name is None:
            return None
        if name in self.changed:
            return self.changed[name]
        if name not in self._cache:
            self._cache[name] = self._inflate(self._by_lower[name.lower()])
        return self._cache[name]

    def _inflate(self, info: zipfile.ZipInfo) -> bytes:
        """A member's bytes, checked against its size and CRC (zipfile's reader costs ~5x more per part)."""
        return inflated(self._raw_member(info), info)

    def read(self, part: str) -> bytes:
        found = self.read_optional(part)
        if found is None:
            raise Unsupported(f"missing part {part}")
        return found

    def parts(self) -> list[str]:
        return [i.filename for i in self.infos if i.filename not in self.removed]

    def put(self, part: str, data: bytes) -> None:
        """Replace or add a part."""
        info = self._by_lower.get(part.lower())
        name = info.filename if info is not None else part
        self.removed.discard(name)
        self.changed[name] = data

    def remove(self, part: str) -> None:
        info = self._by_lower.get(part.lower())
        if info is not None:
            self.removed.add(info.filename)
        self.changed.pop(part, None)

    def free_name(self, pattern: str) -> str:
        """``pattern`` with the smallest number that names no part yet."""
        n = 1
        while self.name(pattern.format(n)) is not None or pattern.format(n).lower() in self._by_lower:
            n += 1
        return pattern.format(n)

    def _raw_member(self, info: zipfile.ZipInfo) -> bytes:
        """A member's compressed bytes as stored in the source."""
        return stored_bytes(self.raw, info)

    def write(self, target: Path) -> None:
        """Write the package: unchanged parts keep their compressed bytes, edited and new ones are deflated."""
        entries: list[_Entry] = []
        for info in self.infos:
            name = info.filename
            if name in self.removed:
                continue
            host = (info.create_system << 8) | 20, info.external_attr
            if name in self.changed:
                entries.append(_deflated(name, info.date_time, host, self.changed[name]))
            else:
                entries.append(_Entry(name, info.date_time, host, info.compress_type, info.CRC,
                                      info.file_size, self._raw_member(info)))
        existing = {i.filename for i in self.infos}
        for name, data in self.changed.items():
            if name not in existing:
                entries.append(_deflated(name, NEW_PART_TIME, (20, 0), data))
        _write_zip(target, entries)


# The time stamped on a part the copy adds: fixed, as XlsxWriter does, so the same inbox gives the same bytes
# (a part that was in the unit's file keeps its own time, edited or not).
NEW_PART_TIME = (1980, 1, 1, 0, 0, 0)


@dataclass
class _Entry:
    name: str
    date_time: tuple
    host: tuple[int, int]  # (version made by, external attributes), as the source had them
    method: int
    crc: int
    size: int
    data: bytes  # compressed


def _deflated(name: str, date_time: tuple, host: tuple[int, int], data: bytes) -> _Entry:
    # A part that fits in an 8 kB window loses nothing with it, and zlib then sets up a quarter of the
    # state: most edited parts are a few kB, and the setup, not the compression, was the cost.
    small = len(data) <= 8192
    compressor = zlib.compressobj(6, zlib.DEFLATED, -13 if small else -15, 6 if small else 8)
    packed = compressor.compress(data) + compressor.flush()
    return _Entry(name, date_time, host, zipfile.ZIP_DEFLATED, zlib.crc32(data), len(data), packed)


def _dos_time(date_time: tuple) -> tuple[int, int]:
    year, month, day, hour, minute, second = date_time
    if year < 1980:
        year, month, day, hour, minute, second = 1980, 1, 1, 0, 0, 0
    return (hour << 11) | (minute << 5) | (second // 2), ((year - 1980) << 9) | (month << 5) | day


def _write_zip(target: Path, entries: list[_Entry]) -> None:
    """A plain zip (no ZIP64, no data descriptors): what Excel and every zip reader accept."""
    out = io.BytesIO()
    central = []
    for e in entries:
        encoded = e.name.encode("utf-8")
        flags = 0x800 if not e.name.isascii() else 0  # bit 11: the name is UTF-8
        dos_time, dos_date = _dos_time(e.date_time)
        offset, csize = out.tell(), len(e.data)
        if max(offset, e.size, csize) >= 0xFFFFFFFF:
            raise Unsupported("package too large")
        out.write(_LOCAL.pack(b"PK\x03\x04", 20, flags, e.method, dos_time, dos_date, e.crc, csize, e.size,
                              len(encoded), 0))
        out.write(encoded)
        out.write(e.data)
        central.append(_CENTRAL.pack(b"PK\x01\x02", e.host[0], 20, flags, e.method, dos_time, dos_date, e.crc, csize,
                                     e.size, len(encoded), 0, 0, 0, 0, e.host[1], offset) + encoded)
    start = out.tell()
    directory = b"".join(central)
    out.write(directory)
    out.write(_END.pack(b"PK\x05\x06", 0, 0, len(central), len(central), len(directory), start, 0))
    target.write_bytes(out.getvalue())
