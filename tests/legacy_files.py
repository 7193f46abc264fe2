"""Small .xls (BIFF8 in an OLE2 compound file) and .ods files built in code, for tests that need a
legacy-format submission without LibreOffice: a few cells, Vietnamese text, and whatever sheet
size the file cares to declare."""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

Cells = dict[tuple[int, int], object]  # (row, column), 0-based -> str or number

_END, _FREE, _FAT, _NONE = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD, 0xFFFFFFFF


def _record(kind: int, data: bytes = b"") -> bytes:
    return struct.pack("<HH", kind, len(data)) + data


def _bof(substream: int) -> bytes:
    return _record(0x0809, struct.pack("<HHHHII", 0x0600, substream, 0x0DBB, 0x07CC, 0, 0x0600))


def _unicode(text: str, length_bytes: int) -> bytes:
    """An XLUnicodeString (cch 2 bytes) or ShortXLUnicodeString (cch 1 byte), stored as UTF-16."""
    return struct.pack("<H" if length_bytes == 2 else "<B", len(text)) + b"\x01" + text.encode("utf-16-le")


def workbook_stream(sheet: str, cells: Cells, declared: tuple[int, int] | None = None) -> bytes:
    """A BIFF8 Workbook stream of one sheet; ``declared`` (rows, columns) is what its DIMENSIONS
    record claims, by default the cells' own extent."""
    strings = sorted({v for v in cells.values() if isinstance(v, str)})
    sst = _record(0x00FC, struct.pack("<II", len(strings), len(strings)) + b"".join(_unicode(s, 2) for s in strings))
    name = _unicode(sheet, 1)
    boundsheet_len = 4 + 6 + len(name)  # header, lbPlyPos, hsState, dt, name
    globals_ = _bof(0x0005) + _record(0x0042, struct.pack("<H", 1200)) + sst  # CODEPAGE: UTF-16
    globals_ += _record(0x00EB, b"\0" * 4096)  # (an ignored drawing group) past the mini-stream cutoff
    sheet_at = len(globals_) + boundsheet_len + 4  # after BOUNDSHEET8 and EOF
    globals_ += _record(0x0085, struct.pack("<IBB", sheet_at, 0, 0) + name) + _record(0x000A)

    rows = 1 + max((r for r, _ in cells), default=0)
    cols = 1 + max((c for _, c in cells), default=0)
    rows, cols = declared or (rows, cols)
    body = _bof(0x0010) + _record(0x0200, struct.pack("<IIHHH", 0, rows, 0, cols, 0))
    for (r, c), v in sorted(cells.items()):
        if isinstance(v, str):
            body += _record(0x00FD, struct.pack("<HHHI", r, c, 0, strings.index(v)))
        else:
            body += _record(0x0203, struct.pack("<HHHd", r, c, 0, float(v)))
    return globals_ + body + _record(0x000A)


def compound_file(stream: bytes, name: str = "Workbook") -> bytes:
    """An OLE2 compound file (version 3, 512-byte sectors) holding one stream: sector 0 is the FAT,
    sector 1 the directory, the stream follows; it must be at least 4096 bytes (the mini-stream cutoff)."""
    assert len(stream) >= 4096
    n = -(-len(stream) // 512)
    assert n + 2 <= 128, "one FAT sector only"
    fat = [_FAT, _END] + [3 + i for i in range(n - 1)] + [_END]
    fat += [_FREE] * (128 - len(fat))
    header = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 16
              + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6) + b"\0" * 6
              + struct.pack("<IIIIIIIII", 0, 1, 1, 0, 4096, _END, 0, _END, 0)
              + struct.pack("<I", 0) + struct.pack("<I", _FREE) * 108)

    def entry(label: str, kind: int, child: int, start: int, size: int) -> bytes:
        encoded = (label + "\0").encode("utf-16-le") if label else b""
        return (encoded.ljust(64, b"\0") + struct.pack("<HBB", len(encoded), kind, 1 if label else 0)
                + struct.pack("<III", _NONE, _NONE, child) + b"\0" * 16 + struct.pack("<IQQ", 0, 0, 0)
                + struct.pack("<III", start, size, 0))

    directory = (entry("Root Entry", 5, 1, _END, 0) + entry(name, 2, _NONE, 2, len(stream))
                 + entry("", 0, _NONE, 0, 0) * 2)
    return header + struct.pack("<128I", *fat) + directory + stream.ljust(n * 512, b"\0")


def write_xls(dst: Path, cells: Cells, sheet: str = "Biểu mẫu 1", declared: tuple[int, int] | None = None) -> Path:
    dst.write_bytes(compound_file(workbook_stream(sheet, cells, declared)))
    return dst


def write_ods(dst: Path, cells: Cells, sheet: str = "Biểu mẫu 1") -> Path:
    """An OpenDocument spreadsheet of one sheet, as small as LibreOffice still opens."""
    rows = 1 + max((r for r, _ in cells), default=0)
    cols = 1 + max((c for _, c in cells), default=0)
    body = []
    for r in range(rows):
        row = []
        for c in range(cols):
            v = cells.get((r, c))
            if v is None:
                row.append("<table:table-cell/>")
            elif isinstance(v, str):
                row.append(f'<table:table-cell office:value-type="string"><text:p>{escape(v)}</text:p></table:table-cell>')
            else:
                row.append(f'<table:table-cell office:value-type="float" office:value="{v}"/>')
        body.append("<table:table-row>" + "".join(row) + "</table:table-row>")
    ns = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
          'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
          'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"')
    content = (f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {ns} office:version="1.2">'
               f'<office:body><office:spreadsheet><table:table table:name="{escape(sheet)}">'
               + "".join(body) + "</table:table></office:spreadsheet></office:body></office:document-content>")
    manifest = ('<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
                'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
                '<manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
                '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
                "</manifest:manifest>")
    with zipfile.ZipFile(dst, "w") as zf:
        zf.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
        zf.writestr("META-INF/manifest.xml", manifest, zipfile.ZIP_DEFLATED)
        zf.writestr("content.xml", content, zipfile.ZIP_DEFLATED)
    return dst
