"""What a file really is, from its bytes: the extension a unit gives it is only a hint.

A zip package is refused as a bomb (``zip-bomb``) before any part is inflated when its
parts declare more than a report can need. Measured (issue 21): a unit's report from the
template unpacks to ~30 kB (each of the 14 sample files: 11 kB stored, 33 kB unpacked,
no part compressed more than 5×); a generous real-sized workbook of 9 MB unpacks to
56 MB (figures) to 105 MB (300,000 blank cells with borders), and one of 9 MB of
identical formulas, the most compressible real content measured, to 185 MB at 21×
(real XML compresses 6–30×; a part of zeros ~1000×). So: 200 MB for the whole
package, 160 MB for one part, and no part over 1 MB compressed more than 100×.
A 3 MB file that inflates to 1 GB is refused (by its ratio, and by its size).
"""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"
ENCRYPTED_STREAM = "EncryptedPackage".encode("utf-16-le")
# The stream names an OLE2 container lists in its directory: Word 97–2003 and PowerPoint 97–2003 files
# share Excel 97–2003's container, and a commune sends a .doc as readily as a .xls.
WORD_STREAM = "WordDocument".encode("utf-16-le")
POWERPOINT_STREAM = "PowerPoint Document".encode("utf-16-le")
WORKBOOK_STREAM = "Book".encode("utf-16-le") + b"\x00\x00"  # "Workbook" or Excel 5's "Book", as the directory ends a name
SPREADSHEET_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".ods", ".xlsb"}
# A submission is a few kilobytes; these bounds refuse a zip bomb before any part is inflated
# (the measurements behind them are in the module's docstring).
MAX_PART_BYTES = 160 << 20
MAX_TOTAL_BYTES = 200 << 20
MAX_RATIO = 100  # for a part over RATIO_FROM bytes: a small part may compress more, and costs nothing
RATIO_FROM = 1 << 20

# What each kind is called in messages to the clerk.
KIND_NAMES = {
    "xlsx": "Excel (.xlsx)",
    "xls": "Excel 97–2003 (.xls)",
    "ods": "OpenDocument (.ods)",
    "xlsb": "Excel nhị phân (.xlsb)",
    "pdf": "tệp PDF",
    "image": "ảnh",
    "word": "tệp Word",
    "powerpoint": "tệp PowerPoint",
    "zip": "tệp nén zip",
    "encrypted": "Excel có mật khẩu",
    "empty": "tệp rỗng",
    "zip-bomb": "tệp nén bất thường (giải nén ra dung lượng rất lớn)",
    "unknown": "không rõ định dạng",
    "unreadable": "tệp không đọc được",
    "corrupt": "tệp nén bị hỏng hoặc không trọn vẹn",
}
READABLE = {"xlsx", "xls", "ods", "xlsb"}
# The names a run gives its outputs (write/outputs.py, write/feedback): here, so the reader can tell a
# district's whole output folder, copied into a province inbox, from the submissions in it.
FEEDBACK_DIR = "phan-hoi"
LOG_PREFIX, LOG_SUFFIX = "nhat-ky-loi-", ".csv"
SUMMARY_PREFIX, PAGE_SUFFIX = "tong-hop-", ".html"
HISTORY_NAME = "lich-su.sqlite"  # the default history store, beside the outputs; no run deletes it (issue 17)


def sniff(path: Path) -> str:
    """One of KIND_NAMES' keys, decided by the file's content; "unreadable" for a file that
    vanished or lost its read permission since it was listed (one log entry, not a stopped run)."""
    try:
        return _sniff(path)
    except OSError:
        return "unreadable"


def _sniff(path: Path) -> str:
    with open(path, "rb") as fh:
        head = fh.read(16)
    if not head:
        return "empty"
    if head.startswith(ZIP_MAGIC):
        return _sniff_zip(path)
    if head.startswith(OLE2_MAGIC):
        # Excel's password-protected .xlsx is an OLE2 container holding EncryptedPackage.
        with open(path, "rb") as fh:
            data = fh.read(4 << 20)
        return "encrypted" if ENCRYPTED_STREAM in data else _ole2_kind(data)
    if head.startswith(b"%PDF"):
        return "pdf"
    if head.startswith((b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"BM", b"II*\x00", b"MM\x00*")) or _is_photo(head):
        return "image"
    return "unknown"


def _ole2_kind(data: bytes) -> str:
    """A Word or PowerPoint 97–2003 file by the stream its directory names; else Excel 97–2003's
    (its reader says so if the container holds no workbook either). A workbook comes first: an Excel file
    may embed a Word document, whose streams its container then lists too."""
    if WORKBOOK_STREAM in data:
        return "xls"
    if WORD_STREAM in data:
        return "word"
    if POWERPOINT_STREAM in data:
        return "powerpoint"
    return "xls"


def _is_photo(head: bytes) -> bool:
    """A phone's photo in the formats whose mark is not at the very start: HEIC/HEIF ("ftyp" box), WebP."""
    return (head[4:8] == b"ftyp" and head[8:12] in {b"heic", b"heix", b"mif1", b"msf1", b"hevc", b"avif"}) or (
        head.startswith(b"RIFF") and head[8:12] == b"WEBP")


def _sniff_zip(path: Path) -> str:
    try:
        with zipfile.ZipFile(path) as zf:
            return zip_kind(zf)
    except (zipfile.BadZipFile, OSError, KeyError):
        return "corrupt"


def zip_kind(zf: zipfile.ZipFile) -> str:
    """What an opened zip package is; takes the open archive so a caller holding one opens it once."""
    if _is_bomb(zf.infolist()):
        return "zip-bomb"
    names = set(zf.namelist())
    if "mimetype" in names and zf.read("mimetype").strip().startswith(ODS_MIMETYPE):
        return "ods"
    if "xl/workbook.xml" in names:
        return "xlsx"
    if "xl/workbook.bin" in names:
        return "xlsb"
    if "word/document.xml" in names:  # .docx, .docm
        return "word"
    if "ppt/presentation.xml" in names:  # .pptx
        return "powerpoint"
    return "zip"


def _is_bomb(members: list[zipfile.ZipInfo]) -> bool:
    """Declared sizes too large for any report, or compressed beyond what real data allows."""
    total = 0
    for m in members:
        total += m.file_size
        if m.file_size > MAX_PART_BYTES or (m.file_size > RATIO_FROM and m.file_size > MAX_RATIO * max(m.compress_size, 1)):
            return True
    return total > MAX_TOTAL_BYTES


def expected_kind(path: Path) -> str | None:
    """The kind the extension promises, if it names a spreadsheet."""
    suffix = path.suffix.lower()
    if suffix in {".xlsx", ".xlsm"}:
        return "xlsx"
    if suffix in {".xls", ".ods", ".xlsb"}:
        return suffix[1:]
    return None


def sha256_of(path: Path) -> str:
    """The file's checksum, as the provenance sheet shows it; "" for a file that can no longer be
    read (its log entry says why), since provenance must never stop the run."""
    h = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    except OSError:
        return ""
    return h.hexdigest()


# Markup declarations ---------------------------------------------------------------
#
# Excel never writes a DTD. The careful reader (openpyxl through defusedxml) refuses an
# entity declaration in the parts it parses; a package is refused for one in *any* of its
# parts, whichever reader would have looked there, so every path gives the same verdict.

_ENTITY_MARKERS = tuple("<!ENTITY".encode(enc) for enc in ("utf-8", "utf-16-le", "utf-16-be"))
_DOCTYPE_MARKERS = tuple("<!DOCTYPE".encode(enc) for enc in ("utf-8", "utf-16-le", "utf-16-be"))


def declares_entity(part: bytes) -> bool:
    """Whether a part declares an XML entity (billion laughs, external entities), in UTF-8 or UTF-16."""
    return any(marker in part for marker in _ENTITY_MARKERS)


def has_doctype(part: bytes) -> bool:
    """Whether a part carries a document type declaration at all (never written by Excel)."""
    return any(marker in part for marker in _DOCTYPE_MARKERS)


UNSAFE_MARKUP_REASON = "chứa khai báo XML nguy hiểm (entity mở rộng hoặc tham chiếu tệp bên ngoài)"


def package_declares_entity(path: Path) -> bool:
    """Whether any member of a zip package declares an XML entity.

    Called only for packages ``sniff`` found to be no zip bomb, so every member is
    small enough to inflate; a member that cannot be read is the reader's concern.
    """
    try:
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                if info.is_dir():
                    continue
                try:
                    if declares_entity(zf.read(info)):
                        return True
                except Exception:  # noqa: BLE001 - zlib, zipfile and OS errors alike
                    continue  # unreadable member: the reader says so in its own words
    except (zipfile.BadZipFile, OSError):
        return False
    return False


def display_name(name: str) -> str:
    """A file name as it can be shown and written anywhere (CSV, workbook, HTML, JSON).

    On Linux a name that is not valid UTF-8 arrives surrogate-escaped, and every
    writer refuses it; its undecodable bytes are shown as "\ufffd" instead.
    """
    try:
        name.encode("utf-8")
        return name
    except UnicodeEncodeError:
        raw = name.encode("utf-8", "surrogateescape" if _only_escapes(name) else "surrogatepass")
        return raw.decode("utf-8", "replace")


def _only_escapes(name: str) -> bool:
    """Whether every surrogate in ``name`` is one of surrogateescape's (a byte 0x80–0xFF)."""
    return all(not 0xD800 <= ord(ch) <= 0xDFFF or 0xDC80 <= ord(ch) <= 0xDCFF for ch in name)
