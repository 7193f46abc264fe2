"""How far each sheet of a legacy .xls reaches, found without python-calamine.

calamine allocates a sheet as one rectangle, from its first to its last value
cell: a 6 kB .xls with one value in A1 and one in IV65536 costs it a gigabyte
and a second or more. Where the OS caps a process's memory the reader merely
dies; on Windows nothing does. So the reader's child looks at the cells' extent
first, from the file's own records, and refuses a sheet too large to be a
report before calamine sees it.

The file is an OLE2 compound file holding a BIFF5/BIFF8 record stream. Only
what is needed is read: the sector tables, the directory, the Workbook stream,
and the row/column of each record that carries a value (as calamine counts
them: blanks do not widen its rectangle).
"""

from __future__ import annotations

import struct

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_END_OF_CHAIN = 0xFFFFFFFE
_MAX_SECTOR = 0xFFFFFFFA

# BIFF records that give calamine a value at (row, column): both u16, at the record's start.
_VALUE_RECORDS = {
    0x0006,  # FORMULA (its cached value)
    0x0203,  # NUMBER
    0x0204,  # LABEL
    0x0205,  # BOOLERR
    0x027E,  # RK
    0x00D6,  # RSTRING
    0x00FD,  # LABELSST
}
_MULRK = 0x00BD  # row, first column, …, last column (u16 at the end)
_BOF, _EOF, _BOUNDSHEET = 0x0809, 0x000A, 0x0085


class NotCompoundFile(ValueError):
    """The bytes are not a readable OLE2 compound file with a workbook stream."""


def _chain(table: list[int], start: int, limit: int) -> list[int]:
    """The sectors of a chain, refusing loops and chains longer than the table."""
    chain: list[int] = []
    sector = start
    while sector != _END_OF_CHAIN:
        if sector > _MAX_SECTOR or sector >= len(table) or len(chain) > limit:
            raise NotCompoundFile("broken sector chain")
        chain.append(sector)
        sector = table[sector]
    return chain


def workbook_stream(data: bytes) -> bytes:
    """The "Workbook" (BIFF8) or "Book" (BIFF5) stream of an OLE2 compound file."""
    if not data.startswith(OLE_MAGIC) or len(data) < 512:
        raise NotCompoundFile("not an OLE2 file")
    shift, mini_shift = struct.unpack_from("<HH", data, 0x1E)
    if not 7 <= shift <= 16 or not 2 <= mini_shift < shift:
        raise NotCompoundFile("odd sector size")
    size, mini_size = 1 << shift, 1 << mini_shift
    n_fat, first_dir = struct.unpack_from("<II", data, 0x2C)
    cutoff, first_minifat, _, first_difat, n_difat = struct.unpack_from("<IIIII", data, 0x38)
    n_sectors = max(0, (len(data) - size) // size)

    def sector(i: int) -> bytes:
        if i >= n_sectors:
            raise NotCompoundFile("sector outside the file")
        return data[(i + 1) * size : (i + 2) * size]

    def read(chain: list[int]) -> bytes:
        return b"".join(sector(i) for i in chain)

    difat = list(struct.unpack_from("<109I", data, 0x4C))
    per = size // 4
    d = first_difat
    for _ in range(min(n_difat, n_sectors)):
        if d > _MAX_SECTOR:
            break
        entries = struct.unpack(f"<{per}I", sector(d))
        difat.extend(entries[:-1])
        d = entries[-1]
    fat_sectors = [s for s in difat[:n_fat] if s <= _MAX_SECTOR]
    fat = list(struct.unpack(f"<{per * len(fat_sectors)}I", read(fat_sectors)))

    directory = read(_chain(fat, first_dir, n_sectors))
    entries = []
    for off in range(0, len(directory) - 127, 128):
        name_len = min(struct.unpack_from("<H", directory, off + 64)[0], 64)
        name = directory[off : off + max(0, name_len - 2)].decode("utf-16-le", "replace")
        kind = directory[off + 66]
        start, length = struct.unpack_from("<II", directory, off + 116)
        entries.append((name, kind, start, length))
    if not entries or entries[0][1] != 5:
        raise NotCompoundFile("no root entry")
    for name, kind, start, length in entries:
        if kind == 2 and name.lower() in ("workbook", "book"):
            break
    else:
        raise NotCompoundFile("no workbook stream")
    if length >= cutoff:
        return read(_chain(fat, start, n_sectors))[:length]
    # a small stream lives in the mini stream, itself stored in the root entry's chain
    mini_stream = read(_chain(fat, entries[0][2], n_sectors))
    minifat_bytes = read(_chain(fat, first_minifat, n_sectors)) if first_minifat <= _MAX_SECTOR else b""
    minifat = list(struct.unpack(f"<{len(minifat_bytes) // 4}I", minifat_bytes))
    chain = _chain(minifat, start, len(minifat))
    return b"".join(mini_stream[i * mini_size : (i + 1) * mini_size] for i in chain)[:length]


def _sheet_name(record: bytes) -> str:
    """A BOUNDSHEET record's name: BIFF8 (cch, flags, UTF-16 or Latin-1 chars) or BIFF5 (cch, 8-bit chars)."""
    cch = record[6] if len(record) > 6 else 0
    if len(record) == 8 + 2 * cch and record[7] & 1:
        return record[8:].decode("utf-16-le", "replace")
    if len(record) == 8 + cch:
        return record[8:].decode("latin-1")
    return record[7 : 7 + cch].decode("cp1252", "replace")


def sheet_extents(data: bytes) -> list[tuple[str, int, int]]:
    """(sheet name, rows, columns) of the rectangle calamine would allocate for each sheet that has
    a value, read from an .xls file's bytes."""
    stream = workbook_stream(data)
    names: dict[int, str] = {}
    extents: list[tuple[str, int, int]] = []
    depth, sheet, box = 0, "", None
    pos, end = 0, len(stream)
    while pos + 4 <= end:
        kind, length = struct.unpack_from("<HH", stream, pos)
        body = stream[pos + 4 : pos + 4 + length]
        if kind == _BOF:
            if depth == 0:
                sheet, box = names.get(pos, f"#{len(extents) + 1}"), None
            depth += 1
        elif kind == _EOF:
            depth = max(0, depth - 1)
            if depth == 0 and box is not None:
                extents.append((sheet, box[2] - box[0] + 1, box[3] - box[1] + 1))
                box = None
        elif kind == _BOUNDSHEET and len(body) >= 6:
            names[struct.unpack_from("<I", body)[0]] = _sheet_name(body)
        elif len(body) >= 4 and (kind in _VALUE_RECORDS or kind == _MULRK):
            row, first = struct.unpack_from("<HH", body)
            last = struct.unpack_from("<H", body, len(body) - 2)[0] if kind == _MULRK else first
            if box is None:
                box = [row, min(first, last), row, max(first, last)]
            else:
                box = [min(box[0], row), min(box[1], first, last), max(box[2], row), max(box[3], first, last)]
        pos += 4 + length
    if box is not None:  # a stream cut short before its last EOF
        extents.append((sheet, box[2] - box[0] + 1, box[3] - box[1] + 1))
    return extents
