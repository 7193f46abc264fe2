"""Discover: list the inbox, refuse what leads outside it, and say which entries are read as submissions."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ..core import problems as P
from ..core.formats import (FEEDBACK_DIR, HISTORY_NAME, LOG_PREFIX, LOG_SUFFIX, PAGE_SUFFIX, READABLE,
                            SPREADSHEET_SUFFIXES, SUMMARY_PREFIX, display_name)
from ..core.results import InboxFile


def discover(inbox: Path) -> list[InboxFile]:
    """Every entry under the inbox, in a stable order (one stat per file: a country has 10,000).

    Nothing outside the inbox is read, and nothing is dropped silently: a link
    that leads outside, a dangling link and a folder that cannot be opened
    each come back as an entry carrying its log line (``refused``).
    """
    root = os.path.realpath(inbox)
    found: list[tuple[tuple[str, ...], InboxFile]] = []

    def unreadable_folder(err: OSError) -> None:
        where = err.filename if isinstance(err.filename, str) else str(inbox)
        parts = _relative_parts(where, inbox) or (".",)
        found.append((parts, _refused(inbox, parts, P.FolderUnreadable, reason=_reason(err))))

    for folder, dirs, names in os.walk(inbox, onerror=unreadable_folder):
        prefix = _relative_parts(folder, inbox)
        for name in [d for d in dirs if _is_link(os.path.join(folder, d))]:
            dirs.remove(name)  # never walked into: a linked folder is refused or read where it really is
            parts = (*prefix, name)
            if not _inside(os.path.join(folder, name), root):
                found.append((parts, _refused(inbox, parts, P.FileLinkOutside)))
            else:
                found.append((parts, _refused(inbox, parts, P.FileSkipped, what="liên kết tới thư mục đã có trong thư mục báo cáo")))
        for name in names:
            entry = _entry(inbox, root, folder, (*prefix, name))
            if entry is not None:
                found.append(((*prefix, name), entry))
    found.sort(key=lambda item: item[0])  # as sorted Paths: part by part
    return _unique_names([f for _, f in found])


def _entry(inbox: Path, root: str, folder: str, parts: tuple[str, ...]) -> InboxFile | None:
    """One listed name as an inbox entry, or None for what is not a file (a pipe) or is gone."""
    path = os.path.join(folder, parts[-1])
    try:
        st = os.lstat(path)  # one call for an ordinary file, as before
    except OSError:
        return None  # removed since it was listed: it is no longer in the inbox
    if stat.S_ISLNK(st.st_mode):
        try:
            st = os.stat(path)
        except OSError:
            return _refused(inbox, parts, P.FileLinkBroken)
        if not _inside(path, root):
            return _refused(inbox, parts, P.FileLinkOutside)
    if not stat.S_ISREG(st.st_mode):
        return None
    return InboxFile(inbox.joinpath(*parts), "/".join(parts), st.st_size, st.st_mtime)


def _is_link(path: str) -> bool:
    """A symbolic link, or on Windows a junction (which os.walk would otherwise walk into).

    os.path.isjunction exists only from Python 3.12, and islink says False for a junction: a folder
    whose real path is not where it is listed leads somewhere else, whatever the link's kind.
    """
    if os.path.islink(path) or bool(getattr(os.path, "isjunction", lambda _: False)(path)):
        return True
    parent, name = os.path.split(path)
    listed = os.path.join(os.path.realpath(parent), name)
    return os.path.normcase(os.path.realpath(path)) != os.path.normcase(listed)


def _relative_parts(folder: str, inbox: Path) -> tuple[str, ...]:
    parts = Path(os.path.relpath(folder, inbox)).parts
    return () if parts == (".",) else parts


def _inside(path: str, root: str) -> bool:
    """Whether a link, followed to the end, stays in the inbox (``root``, already resolved)."""
    target = os.path.realpath(path)
    return target == root or target.startswith(root.rstrip(os.sep) + os.sep)


def _reason(err: OSError) -> str:
    if isinstance(err, PermissionError):
        return "không có quyền truy cập"
    return err.strerror or type(err).__name__


def _refused(inbox: Path, parts: tuple[str, ...], problem: type[P.Problem], **params: object) -> InboxFile:
    """An entry that is not read, with the log line that says why."""
    name = "/".join(parts)
    f = InboxFile(inbox.joinpath(*parts), name, 0, 0.0, kind="refused")
    f.refused = problem(file=name, name=name, **params)
    return f


def _unique_names(files: list[InboxFile]) -> list[InboxFile]:
    """Each entry under a name every writer accepts, unique (the run keys files by name).

    A name that is not valid UTF-8 is shown with "\ufffd" for its odd bytes and
    logged; two such names that would look alike get " (2)", " (3)"… before the suffix.
    """
    taken = {f.name for f in files}
    for f in files:
        shown = display_name(f.name)
        if shown == f.name:
            continue
        stem, dot, suffix = shown.rpartition(".") if "." in shown.rsplit("/", 1)[-1] else (shown, "", "")
        n, candidate = 1, shown
        while candidate in taken:
            n += 1
            candidate = f"{stem} ({n}){dot}{suffix}"
        taken.add(candidate)
        f.name = candidate
        f.renamed = P.FileNameUndecodable(file=candidate, name=candidate)
        if f.refused is not None:
            f.refused.file = candidate
            f.refused.params["name"] = candidate
    return files


def skipped(f: InboxFile) -> P.Problem | None:
    """The log entry for a file that is not even looked at (Excel's lock files, hidden files)."""
    if f.path.name.startswith("~$"):
        return P.FileSkipped(file=f.name, what="tệp khóa tạm của Excel", name=f.name)
    if any(part.startswith(".") for part in Path(f.name).parts):
        return P.FileSkipped(file=f.name, what="tệp ẩn", name=f.name)
    what = run_output(f.name)
    if what is not None:
        return P.FileSkipped(file=f.name, what=what, name=f.name)
    return None


RUN_OUTPUT = "bản phản hồi/nhật ký của huyện (không phải báo cáo)"

# What else the district's tools leave in its --out folder (named where they are written: the history in
# core/formats.py, the server's files in web/links.py, web/state.py and web/uploads.py, the blank templates in
# write/templates.py and cli/reporting.py). `read` may not import `web` or `write`: tests/test_province_inbox.py
# checks these names against theirs.
HISTORY_FILES = (HISTORY_NAME, HISTORY_NAME + "-journal", HISTORY_NAME + "-wal", HISTORY_NAME + "-shm")
SERVER_FILES = ("lien-ket-don-vi.csv", "may-chu-nhan-bao-cao.json", "may-chu-nhan-bao-cao.json.lock")
SERVER_DIR = "may-chu"
TEMPLATES_DIR, TEMPLATE_PREFIX = "mau-bao-cao", "mau-bao-cao-"
RUN_FILES = {
    "history": "lịch sử các kỳ báo cáo của huyện (không phải báo cáo)",
    "server": "tệp của máy chủ nhận báo cáo của huyện (không phải báo cáo)",
    "template": "mẫu báo cáo trống của huyện (không phải báo cáo)",
}


def run_output(name: str) -> str | None:
    """What a district's own non-report file is, said for the log; None for anything that may be a report.

    A district may send the province its whole output folder; its feedback copies are copies of
    the communes' files, and read as submissions they would "replace" the communes' rows that the
    district's merged workbook carries; its blank templates likewise. Its history, its server's
    links and state are not spreadsheets at all, and would each be a warning the province cannot act
    on. Only the merged workbooks are the district's report. A unit's filled template sent back under
    the template's own name is still read: only those inside a ``mau-bao-cao/`` folder are skipped.
    """
    parts = name.split("/")
    base, folders = parts[-1].lower(), [part.lower() for part in parts[:-1]]
    if FEEDBACK_DIR in folders:
        return RUN_OUTPUT
    if ((base.startswith(LOG_PREFIX) and base.endswith(LOG_SUFFIX))
            or (base.startswith(SUMMARY_PREFIX) and base.endswith(PAGE_SUFFIX))):
        return RUN_OUTPUT
    if base in HISTORY_FILES:
        return RUN_FILES["history"]
    if base in SERVER_FILES or SERVER_DIR in folders:
        return RUN_FILES["server"]
    if folders and folders[-1] == TEMPLATES_DIR and base.startswith(TEMPLATE_PREFIX):
        return RUN_FILES["template"]
    return None


def is_submission(path: Path, kind: str) -> bool:
    """Whether a file of this kind is read as a submission; a "spreadsheet" that is not one is,
    so the reader can say what it really is."""
    return kind in READABLE | {"encrypted", "empty", "corrupt"} or path.suffix.lower() in SPREADSHEET_SUFFIXES
