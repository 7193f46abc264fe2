"""The run, step by step: discover → read → match units → choose one file per unit → validate → consolidate.

Files are only read here; writing is left to the writers, so a caller (the
CLI, a test) gets the whole result before anything touches the disk.
"""

from __future__ import annotations

import datetime as dt
import gc
import hashlib
import os
import re
import stat
import unicodedata
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache, partial
from pathlib import Path
from typing import Callable, Iterator

from . import plausibility
from . import problems as P
from .consolidation import Consolidated, consolidate
from .formats import KIND_NAMES, READABLE, SPREADSHEET_SUFFIXES, display_name, expected_kind
from .loading import VANISHED
from .legacy import ENCODING_NAMES, decode, looks_legacy
from .quiet import quiet_cleanup
from .reader import Record, Source, Submission, read_submission
from .reading_pool import read_files
from .registry import Registry, ReportSettings, Unit, default_registry, default_settings

REPORTED, MISSING, UNUSABLE = "reported", "missing", "unusable"
STATUS_LABELS = {REPORTED: "Đã báo cáo", MISSING: "Chưa báo cáo", UNUSABLE: "Báo cáo không dùng được"}


@dataclass
class InboxFile:
    path: Path
    name: str  # relative to the inbox, as the clerk sees it
    size: int
    mtime: float
    kind: str = ""  # what the bytes say it is (formats.sniff)
    refused: P.Problem | None = None  # not read, and why (a link leading outside, a folder that will not open)
    renamed: P.Problem | None = None  # the note that its real name could not be shown as it is


@dataclass
class UnitStatus:
    state: str  # REPORTED, MISSING or UNUSABLE
    file: str = ""  # the file used, or the file that could not be used
    note: str = ""

    @property
    def label(self) -> str:
        return STATUS_LABELS[self.state]


@dataclass
class RunResult:
    registry: Registry
    settings: ReportSettings
    files: list[InboxFile]
    submissions: list[Submission]
    problems: list[P.Problem]
    consolidated: Consolidated
    used: dict[str, str] = field(default_factory=dict)  # unit code → file name used
    status: dict[str, UnitStatus] = field(default_factory=dict)  # unit code → status

    @property
    def errors(self) -> list[P.Problem]:
        return [p for p in self.problems if p.severity == P.ERROR]

    @property
    def warnings(self) -> list[P.Problem]:
        return [p for p in self.problems if p.severity == P.WARNING]

    @property
    def notes(self) -> list[P.Problem]:
        return [p for p in self.problems if p.severity == P.INFO]

    def count(self, state: str) -> int:
        return sum(1 for s in self.status.values() if s.state == state)

    def registry_name(self, code: str) -> str:
        return self.registry.unit(code).name


# Discover --------------------------------------------------------------------


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


def _skipped(f: InboxFile) -> P.Problem | None:
    """The log entry for a file that is not even looked at (Excel's lock files, hidden files)."""
    if f.path.name.startswith("~$"):
        return P.FileSkipped(file=f.name, what="tệp khóa tạm của Excel", name=f.name)
    if any(part.startswith(".") for part in Path(f.name).parts):
        return P.FileSkipped(file=f.name, what="tệp ẩn", name=f.name)
    return None


def is_submission(path: Path, kind: str) -> bool:
    """Whether a file of this kind is read as a submission; a "spreadsheet" that is not one is,
    so the reader can say what it really is."""
    return kind in READABLE | {"encrypted", "empty", "corrupt"} or path.suffix.lower() in SPREADSHEET_SUFFIXES


# Units -----------------------------------------------------------------------


def _match_units(sub: Submission, registry: Registry) -> dict[str, Unit]:
    """Typed unit name → registry unit for this submission; unknown names become problems.

    A district's workbook names many units; names that several districts share
    ("Cấp huyện") are resolved within the district the other names point to.
    """
    first = {cell.name: registry.match(cell.name) for cell in sub.units}
    parents = Counter(u.parent for u in first.values() if u is not None and registry.reports(u))
    within = parents.most_common(1)[0][0] if parents else None

    matched: dict[str, Unit] = {}
    for cell in sub.units:
        if cell.name in matched:
            continue
        unit = registry.match(cell.name, within)
        if unit is not None and registry.reports(unit):  # nearly every name: known as typed
            matched[cell.name] = unit
            continue
        where = dict(file=sub.name, sheet=cell.source.sheet, cell=cell.source.cell)
        if unit is None:
            unit = registry.match_loosely(cell.name, within)
            if unit is not None:
                sub.problems.append(P.UnitNameInterpreted(**where, unit=unit.name, typed=cell.name, name=unit.name))
        if unit is None and looks_legacy(cell.name):
            for encoding in ENCODING_NAMES:
                name = decode(cell.name, encoding)
                unit = registry.match(name, within) or registry.match_loosely(name, within)
                if unit is not None:
                    sub.problems.append(P.LegacyEncoding(**where, unit=unit.name, what=f"tên đơn vị “{cell.name}”",
                                                         encoding=ENCODING_NAMES[encoding]))
                    break
        same_name = [u for u in registry.named(cell.name) if registry.reports(u)]
        if unit is None and len(same_name) > 1:
            districts = ", ".join(f"{u.name} – {registry.unit(u.parent).name}" for u in same_name)
            sub.problems.append(P.UnitAmbiguous(file=sub.name, sheet=cell.source.sheet, cell=cell.source.cell,
                                                unit=cell.name, name=cell.name, where=districts))
            continue
        if unit is None or not registry.reports(unit):
            close = registry.closest(cell.name, within=within)
            suggestion = f" (có phải: {', '.join(close)}?)" if close else ""
            sub.problems.append(P.UnitUnknown(**where, unit=cell.name, name=cell.name, suggestion=suggestion))
            continue
        matched[cell.name] = unit
    return matched


def _repeated_rows(sub: Submission, matched: dict[str, Unit]) -> set:
    """Cells of a unit's second and later Biểu mẫu 1 rows in one file: logged, and only the first row used."""
    rows: dict[str, list] = {}
    for cell in sub.units:
        unit = matched.get(cell.name)
        if unit is not None and cell.source.sheet:
            rows.setdefault(unit.code, []).append(cell)
    skip = set()
    for cells in rows.values():
        if len(cells) < 2:
            continue
        first = cells[0]
        name = matched[first.name].name
        sub.problems.append(P.UnitRepeated(file=sub.name, sheet=first.source.sheet, cell=cells[1].source.cell,
                                           unit=name, name=name, cells=", ".join(c.source.cell for c in cells)))
        later = {(c.source.sheet, _row_of(c.source.cell)) for c in cells[1:]}
        skip |= {r.source for r in sub.records if (r.source.sheet, _row_of(r.source.cell)) in later}
    return skip


def _row_of(cell: str) -> str:
    return cell.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")


# Periods ---------------------------------------------------------------------

_DATE = re.compile(r"(\d{1,2})\s*/\s*(\d{1,2})(?:\s*/\s*(\d{4}))?")


@lru_cache(maxsize=256)
def _dates(text: str) -> tuple[tuple[int, int, int | None], ...]:
    """Cached: every file of a round carries the same few header texts."""
    return tuple((int(d), int(m), int(y) if y else None) for d, m, y in _DATE.findall(text))


def _period_problem(sub: Submission, settings: ReportSettings) -> P.Problem | None:
    """A submission whose Biểu mẫu 2 headers carry other dates is for another period."""
    expected = {"before": settings.period_before, "after": settings.period_after}
    for key, header in sub.periods.items():
        found, wanted = _dates(header), _dates(expected[key])
        if not found or not wanted:
            continue
        same = len(found) == len(wanted) and all(
            (d, m) == (wd, wm) and (y is None or wy is None or y == wy)
            for (d, m, y), (wd, wm, wy) in zip(found, wanted)
        )
        if not same:
            spans = list(_DATE.finditer(header))
            return P.PeriodMismatch(file=sub.name, found=header[spans[0].start() : spans[-1].end()], expected=expected[key])
    return None


# Resubmissions -----------------------------------------------------------------

_VERSION = (
    re.compile(r"(?:^|[_\-\s.(])v\s*(\d+)(?=$|[_\-\s.)])"),
    re.compile(r"(?:^|[_\-\s.(])lan[_\-\s]*(\d+)(?=$|[_\-\s.)])"),
)
_COPY_MARK = re.compile(r"(?:\s*\(\d+\)|\s*-\s*(?:copy|sao chep|ban sao))+$")
_COPY_NUMBER = re.compile(r"\((\d+)\)$")


def version(name: str) -> tuple[int, int]:
    """The version a file name carries ("_v2", "lần 2"), then its copy number ("(3)", as a browser
    numbers a file downloaded again); an unnumbered file is version 1, copy 0."""
    stem = Path(name).stem
    text = "".join(ch for ch in unicodedata.normalize("NFD", stem.casefold()) if not unicodedata.combining(ch))
    text = text.replace("đ", "d").strip()
    copy = _COPY_NUMBER.search(text)
    base = _COPY_MARK.sub("", text)
    found = [int(m[1]) for pattern in _VERSION for m in pattern.finditer(base)]
    return (max(found) if found else 1, int(copy[1]) if copy else 0)


@dataclass
class _Candidate:
    file: InboxFile
    sub: Submission
    records: list[Record]

    @property
    def order(self) -> tuple[int, float, int]:
        major, copy = version(self.file.name)
        return (major, self.file.mtime, copy)

    def values(self) -> list[tuple]:
        return sorted((r.form, r.item, r.field, repr(r.value)) for r in self.records)


def _why_newer(winner: _Candidate, other: _Candidate) -> str:
    if version(winner.file.name)[0] != version(other.file.name)[0]:
        return f"bản số {version(winner.file.name)[0]}"
    when = dt.datetime.fromtimestamp(winner.file.mtime).strftime("%H:%M %d/%m/%Y")
    return f"sửa lần cuối lúc {when}"


def _choose(unit: Unit, cands: list[_Candidate], problems: list[P.Problem]) -> _Candidate | None:
    """The newest submission of a unit; the others are logged, none is dropped silently."""
    if len(cands) == 1:  # nearly every unit: nothing to compare, no file name to parse
        return cands[0]
    cands = sorted(cands, key=lambda c: (c.order, c.file.name))
    winner = cands[-1]
    if len(cands) > 1 and cands[-2].order == winner.order:
        other = cands[-2]
        if other.values() != winner.values():
            for a, b in ((winner, other), (other, winner)):
                problems.append(P.ResubmissionConflict(file=a.file.name, unit=unit.name, name=unit.name,
                                                       file_name=a.file.name, other=b.file.name))
            return None
    for older in cands[:-1]:
        if older.values() == winner.values():
            problems.append(P.DuplicateFile(file=older.file.name, unit=unit.name, name=unit.name,
                                            used=winner.file.name, file_name=older.file.name))
        else:
            problems.append(P.Superseded(file=older.file.name, unit=unit.name, name=unit.name,
                                         used=winner.file.name, file_name=older.file.name,
                                         why=_why_newer(winner, older)))
    return winner


def _in_error(records: list[Record], problems: list[P.Problem]) -> set:
    """Sources of records whose cell already has an error: not checked or warned about again."""
    cells = {Source(p.file, p.sheet, p.cell) for p in problems if p.cell and p.severity == P.ERROR}
    return {r.source for r in records if r.source in cells}


# The run -----------------------------------------------------------------------


def _prepare(sub: Submission, registry: Registry, settings: ReportSettings) -> None:
    """What one file decides alone, done where it was read (a reading worker, on the other core):
    its units matched, its period checked, its rows renamed to the registry's units."""
    matched = _match_units(sub, registry)
    sub.matched = {name: unit.code for name, unit in matched.items()}
    wrong_period = _period_problem(sub, settings)
    if wrong_period is not None:
        wrong_period.unit = ", ".join(u.name for u in matched.values())
        sub.problems.append(wrong_period)
        sub.wrong_period = wrong_period
        sub.records = []
        return
    if sub.upstream_errors:
        sub.problems.append(P.UpstreamErrors(file=sub.name, sheet="Nhật ký lỗi", count=sub.upstream_errors))
    skip = _repeated_rows(sub, matched)
    records = []
    for rec in sub.records:
        if skip and rec.source in skip:
            continue
        unit = matched.get(rec.unit)
        if unit is not None:  # built, not _replace()d: ~40 a file, and _replace is 4× slower
            records.append(Record(rec.form, unit.name, rec.item, rec.field, rec.value, rec.raw, rec.source, unit.code))
    sub.records = records


def read_previous(path: Path, registry: Registry) -> list[Record]:
    """The unit figures of an earlier merged workbook, under their registry names."""
    sub = read_submission(path, path.name)
    matched = _match_units(sub, registry)
    return [r._replace(unit=matched[r.unit].name, code=matched[r.unit].code)
            for r in sub.records if r.unit in matched]


def _load_checks() -> Callable:
    """The pandera checks, imported on first use: pandas and pandera take ~1 s to import, which
    the run spends while the reading workers are busy rather than before they start."""
    from .validate import validate_records

    return validate_records


@contextmanager
def no_cycle_collection() -> Iterator[None]:
    """Python's cycle collector, off while the run builds its rows (and, in the CLI, while the
    outputs are written and checked from them).

    A country-wide run creates ~230,000 rows, each with its source-cell tuple, none in a cycle;
    each full collection re-scans all of them, which took a third of the time
    at N = 10,000. Reference counting still frees everything as usual.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def run(
    inbox: Path,
    registry: Registry | None = None,
    settings: ReportSettings | None = None,
    previous: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> RunResult:
    """The whole check-and-merge, in memory; ``progress(done, total)`` is told after each file read."""
    with no_cycle_collection(), quiet_cleanup():
        return _run(inbox, registry, settings, previous, progress)


def _run(inbox: Path, registry: Registry | None, settings: ReportSettings | None, previous: Path | None,
         progress: Callable[[int, int], None] | None) -> RunResult:
    registry = registry or default_registry()
    settings = settings or default_settings()
    problems: list[P.Problem] = []
    units = {u.code: u for u in registry.reporting_units()}
    status: dict[str, UnitStatus] = {}

    # Discover
    files = discover(inbox)
    to_read = []
    for f in files:
        if f.renamed is not None:
            problems.append(f.renamed)
        skipped = f.refused or _skipped(f)
        if skipped is None:
            to_read.append(f)
        else:
            problems.append(skipped)

    # Read (in worker processes), check the period, match units
    submissions: list[Submission] = []
    candidates: dict[str, list[_Candidate]] = {}
    read = read_files([(f.path, f.name) for f in to_read], is_submission, progress, meanwhile=_load_checks,
                      prepare=partial(_prepare, registry=registry, settings=settings))
    for f, (kind, sub) in zip(to_read, read):
        f.kind = kind
        if sub is None and kind == "unreadable":  # gone or locked since it was listed
            problems.append(P.FileUnreadable(file=f.name, reason=VANISHED))
            continue
        if sub is None:
            problems.append(P.FileNotSpreadsheet(file=f.name, name=f.name, kind=KIND_NAMES.get(kind, kind)))
            continue
        submissions.append(sub)
        claimed = expected_kind(f.path)
        if claimed and f.kind in READABLE and f.kind != claimed:
            sub.problems.insert(0, P.FileFormatMismatch(file=f.name, suffix=f.path.suffix, kind=KIND_NAMES[f.kind]))
        problems.extend(sub.problems)
        if sub.wrong_period is not None:
            for code in sub.matched.values():
                status[code] = UnitStatus(UNUSABLE, f.name, sub.wrong_period.message)
            continue
        per_unit: dict[str, list[Record]] = {}
        for rec in sub.records:
            per_unit.setdefault(rec.code, []).append(rec)
        for code, recs in per_unit.items():
            candidates.setdefault(code, []).append(_Candidate(f, sub, recs))
        sub.records = []  # its rows live on in the candidates: a country-wide run holds ~40 per file

    # One submission per unit: the newest wins, the others are logged
    records: list[Record] = []
    used: dict[str, str] = {}
    for code, cands in candidates.items():
        winner = _choose(units[code], cands, problems)
        if winner is None:
            status[code] = UnitStatus(UNUSABLE, ", ".join(c.file.name for c in cands),
                                      "Các tệp khác nhau, không biết tệp nào mới hơn.")
            continue
        used[code] = winner.file.name
        status[code] = UnitStatus(REPORTED, winner.file.name)
        records.extend(winner.records)

    # Validate (a cell whose value could not be read at all is not reported twice)
    validate_records = _load_checks()
    problems.extend(validate_records(records, _in_error(records, problems)))

    # Plausibility: warnings for the clerk to look at, never errors
    flagged = _in_error(records, problems)
    problems.extend(plausibility.below_target(records, dict(settings.targets), flagged))
    problems.extend(plausibility.outliers(records, flagged))
    if previous is not None:
        problems.extend(plausibility.changes(records, read_previous(previous, registry), flagged))

    # Completeness (a whole district missing is one entry), then the merged tables
    for group, members in registry.groups():
        missing = [u for u in members if u.code not in status]
        for unit in missing:
            status[unit.code] = UnitStatus(MISSING)
        if group is not None and missing and len(missing) == len(members):
            problems.append(P.GroupNotReported(unit=group.name, name=group.name))
        else:
            problems.extend(P.UnitNotReported(unit=u.name, name=u.name) for u in missing)
    status = {code: status[code] for code in units}
    problems.extend(keep_checked_bytes(submissions, problems))
    consolidated = consolidate(registry, records, problems, dict(settings.targets))
    return RunResult(registry, settings, files, submissions, problems, consolidated, used, status)


# The bytes behind the feedback copies ---------------------------------------------


def keep_checked_bytes(submissions: list[Submission], problems: list[P.Problem]) -> list[P.Problem]:
    """Keep the bytes of each file that gets a feedback copy, if they are still the bytes that were checked.

    The copy is made from these bytes, never from the file as it is when the copy is
    written: a file replaced meanwhile would get the old comments on new data. A file
    whose bytes no longer match the digest taken when it was read gets no copy and an
    entry in the log (returned, so it reaches every output). Only the files that get a
    copy are held (a few per cent of a country's inbox, ~10 kB each).
    """
    from .feedback import needs_feedback  # feedback imports this module

    by_file: dict[str, list[P.Problem]] = {}
    for p in problems:
        by_file.setdefault(p.file, []).append(p)
    changed: list[P.Problem] = []
    for sub in submissions:
        if not needs_feedback(sub, by_file.get(sub.name, [])):
            continue
        try:
            data = sub.path.read_bytes()
        except OSError:
            data = None
        if data is not None and (not sub.sha256 or hashlib.sha256(data).hexdigest() == sub.sha256):
            sub.checked_bytes = data
        else:
            changed.append(P.FileChanged(file=sub.name))
    return changed


# A unit's own check, before sending -------------------------------------------


def check(paths: list[Path], registry: Registry | None = None) -> list[tuple[Submission, list[P.Problem]]]:
    """Each file's problems against the template contract; the unit name only against a given registry."""
    with quiet_cleanup():
        return _check(paths, registry)


def _check(paths: list[Path], registry: Registry | None) -> list[tuple[Submission, list[P.Problem]]]:
    found = []
    for path in paths:
        sub = read_submission(path, display_name(path.name))
        problems = list(sub.problems)
        if registry is not None:
            matched = _match_units(sub, registry)
            problems = list(sub.problems)
            records = [r._replace(unit=matched[r.unit].name, code=matched[r.unit].code)
                       for r in sub.records if r.unit in matched]
        else:
            records = [r._replace(code=r.unit) for r in sub.records]
        problems.extend(_load_checks()(records, _in_error(records, problems)))
        found.append((sub, problems))
    return found
