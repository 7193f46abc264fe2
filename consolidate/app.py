"""The job as library calls: run, check, template, init; what the CLI, the benchmarks and any later front end call.

The run, step by step: discover → read → match units → choose one file per unit →
validate → consolidate. Files are only read here; writing is left to the writers
(``write_outputs``), so a caller (the CLI, a test) gets the whole result before
anything touches the disk. A caller that wants a step profile passes a
``Timings``, which the run and the writers fill with named step durations.
"""

from __future__ import annotations

import hashlib
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from .checks import plausibility
from .core import problems as P
from .core.choosing import Candidate, choose, in_error, quietly_replaced
from .core.consolidation import consolidate
from .core.cycles import no_cycle_collection
from .core.formats import KIND_NAMES, READABLE, display_name, expected_kind
from .core.quiet import quiet_cleanup
from .core.records import Record, Submission
from .core.registry import Registry, ReportSettings
from .core.results import MISSING, REPORTED, UNUSABLE, InboxFile, RunResult, UnitStatus
from .core.timings import Timings
from .export import MAPPING_CSV, write_mapping_template
from .read.discover import discover, is_submission, skipped
from .read.loading import VANISHED
from .read.pool import read_files
from .read.prepare import prepare, read_previous
from .settings.report import default_settings, load_config
from .settings.in_use import sample_mismatch
from .settings.units import ConfigError, default_registry, load_registry
from .stored import ExportError, ExportResult, PendingRecord, export, history, prepare_record, read_history, record
from .write.feedback.content import needs_feedback

if TYPE_CHECKING:
    from .write.outputs import Outputs

__all__ = ["ConfigError", "ExportError", "ExportResult", "Timings", "check", "export", "feedback_copy", "history", "init", "load",
           "no_cycle_collection", "prepare_record", "record", "run", "template", "write"]


def load(units_file: Path | None = None, config_file: Path | None = None) -> tuple[Registry, ReportSettings]:
    """The registry and settings these files name (a settings file may name the units table), else the
    embedded Tuy Phước sample; a bad file raises ConfigError, whose message names the line."""
    settings, units_from_config = load_config(config_file) if config_file else (default_settings(), None)
    units_path = units_file or units_from_config
    registry = load_registry(units_path) if units_path else default_registry()
    return registry, settings


def _load_checks() -> Callable:
    """The pandera checks, imported on first use: pandas and pandera take ~1 s to import, which
    the run spends while the reading workers are busy rather than before they start."""
    from .checks.validate import validate_records  # start-up: pandas and pandera load while the workers read

    return validate_records


def run(
    inbox: Path,
    registry: Registry | None = None,
    settings: ReportSettings | None = None,
    previous: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
    timings: Timings | None = None,
    history: str | Path | None = None,
) -> RunResult:
    """The whole check-and-merge, in memory; ``progress(done, total)`` is told after each file read,
    ``timings`` (if given) gets each step's duration. With a ``history`` store (a path or a URL), the
    previous period's figures come from it when no ``previous`` file is given, and ``result.history``
    carries the period and the trends; nothing is recorded (``record`` does that)."""
    with no_cycle_collection(), quiet_cleanup():
        return _run(inbox, registry, settings, previous, progress, timings or Timings(), history)


def _run(inbox: Path, registry: Registry | None, settings: ReportSettings | None, previous: Path | None,
         progress: Callable[[int, int], None] | None, timings: Timings, history: str | Path | None = None) -> RunResult:
    registry = registry or default_registry()
    settings = settings or default_settings()
    problems: list[P.Problem] = []
    units = {u.code: u for u in registry.reporting_units()}
    status: dict[str, UnitStatus] = {}

    # Discover
    with timings.step("discover"):
        files = discover(inbox)
    to_read = []
    for f in files:
        if f.renamed is not None:
            problems.append(f.renamed)
        refused = f.refused or skipped(f)
        if refused is None:
            to_read.append(f)
        else:
            problems.append(refused)

    # Read (in worker processes), check the period, match units
    submissions: list[Submission] = []
    candidates: dict[str, list[Candidate]] = {}
    meanwhile = partial(timings.timed, "read.imports_meanwhile", _load_checks)
    with timings.step("read"):
        read = read_files([(f.path, f.name) for f in to_read], is_submission, progress, meanwhile=meanwhile,
                          prepare=partial(prepare, registry=registry, settings=settings))
    for f, (kind, read_sub) in zip(to_read, read):
        f.kind = kind
        sub = _as_read(f.path, f.name, kind, read_sub)
        if isinstance(sub, P.Problem):
            problems.append(sub)
            continue
        submissions.append(sub)
        problems.extend(sub.problems)
        if sub.wrong_period is not None:
            for code in sub.matched.values():
                status[code] = UnitStatus(UNUSABLE, f.name, sub.wrong_period.message)
            continue
        per_unit: dict[str, list[Record]] = {}
        for rec in sub.records:
            per_unit.setdefault(rec.code, []).append(rec)
        for code, recs in per_unit.items():
            candidates.setdefault(code, []).append(Candidate(f, sub, recs))
        sub.records = []  # its rows live on in the candidates: a country-wide run holds ~40 per file
    if (mismatch := sample_mismatch(registry, submissions)) is not None:  # another district's inbox: said first
        problems.insert(0, mismatch)

    # One submission per unit: the newest wins, the others are logged
    records: list[Record] = []
    used: dict[str, str] = {}
    for code, cands in candidates.items():
        winner = choose(units[code], cands, problems)
        if winner is None:
            status[code] = UnitStatus(UNUSABLE, ", ".join(c.file.name for c in cands),
                                      "Các tệp khác nhau, không biết tệp nào mới hơn.")
            continue
        used[code] = winner.file.name
        status[code] = UnitStatus(REPORTED, winner.file.name)
        records.extend(winner.records)
    if replaced := quietly_replaced(problems):  # a unit's earlier uploads, re-sent through its page: nothing to say
        problems[:] = [p for p in problems if p.file not in replaced]

    # Validate, and warn about what each unit alone says (below target); then what needs the others
    found, flagged = _own_checks(records, problems, settings, timings)
    problems.extend(found)
    with timings.step("plausibility"):
        problems.extend(plausibility.outliers(records, flagged, {u.code: u.level for u in registry.units}))
        view, past = read_history(history, settings, problems) if history is not None else (None, [])
        if previous is not None:
            problems.extend(plausibility.changes(records, read_previous(previous, registry), flagged))
        elif past:
            problems.extend(plausibility.changes(records, past, flagged))

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
    with timings.step("consolidate"):
        consolidated = consolidate(registry, records, problems, dict(settings.targets))
    result = RunResult(registry, settings, files, submissions, problems, consolidated, used, status)
    if view is not None:
        from .history.recording import add_current  # lazy: SQLAlchemy only for a run with a history

        add_current(view, result)
        result.history = view
    return result


# The bytes behind the feedback copies ---------------------------------------------


def keep_checked_bytes(submissions: list[Submission], problems: list[P.Problem]) -> list[P.Problem]:
    """Keep the bytes of each file that gets a feedback copy, if they are still the bytes that were checked.

    The copy is made from these bytes, never from the file as it is when the copy is
    written: a file replaced meanwhile would get the old comments on new data. A file
    whose bytes no longer match the digest taken when it was read gets no copy and an
    entry in the log (returned, so it reaches every output). Only the files that get a
    copy are held (a few per cent of a country's inbox, ~10 kB each).
    """
    by_file = P.by_file(problems)
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


def _as_read(path: Path, name: str, kind: str, sub: Submission | None) -> Submission | P.Problem:
    """One file as the reader left it: its submission (a format that is not what its name says noted
    first), or the problem that says why there is none. Shared by ``run`` and ``check``, so that a
    commune's own check says what the district's run will say about the same file."""
    if sub is None and kind == "unreadable":  # gone or locked since it was listed
        return P.FileUnreadable(file=name, reason=VANISHED)
    if sub is None:
        return P.FileNotSpreadsheet(file=name, name=name, kind=KIND_NAMES.get(kind, kind))
    claimed = expected_kind(path)
    if claimed and kind in READABLE and kind != claimed:
        sub.problems.insert(0, P.FileFormatMismatch(file=name, suffix=path.suffix, kind=KIND_NAMES[kind]))
    return sub


def _own_checks(records: list[Record], problems: list[P.Problem], settings: ReportSettings,
                timings: Timings) -> tuple[list[P.Problem], set]:
    """What the rows of each unit say alone: the template's rules (a cell whose value could not be
    read at all is not reported twice) and a result below the target. Shared by ``run`` and ``check``;
    also the cells now in error, which the checks that compare units leave alone."""
    validate_records = _load_checks()
    with timings.step("validate"):
        found = validate_records(records, in_error(records, problems), timings)
    with timings.step("plausibility"):  # warnings for the clerk to look at, never errors
        flagged = in_error(records, [*problems, *found])
        found.extend(plausibility.below_target(records, dict(settings.targets), flagged))
    return found, flagged


# A unit's own check, before sending -------------------------------------------


def check(paths: list[Path], registry: Registry | None = None,
          settings: ReportSettings | None = None) -> list[tuple[Submission, list[P.Problem]]]:
    """Each file's problems, as ``run`` would log them with this registry and these settings (else the
    embedded sample's): all that one file decides alone. What needs the other units' files (an
    unusual value among them, a unit that did not report, two files for one unit) is left to the run.
    A file the run would not read (an Excel lock file, a hidden file) comes back of kind ``SKIPPED``
    with its one note, unread."""
    with quiet_cleanup():
        return _check(paths, registry or default_registry(), settings or default_settings())


SKIPPED = "skipped"  # the kind of a file ``check`` does not look at, as ``run`` would not (Excel's lock files, hidden files)


def _check(paths: list[Path], registry: Registry, settings: ReportSettings) -> list[tuple[Submission, list[P.Problem]]]:
    named = [(path, display_name(path.name)) for path in paths]
    # The run's rule, on the file's own name: a shell glob hands over Excel's "~$…" lock files too
    notes = [skipped(InboxFile(path, name, 0, 0.0)) for path, name in named]
    to_read = [item for item, note in zip(named, notes) if note is None]
    read = iter(read_files(to_read, is_submission, prepare=partial(prepare, registry=registry, settings=settings)))
    found = []
    for (path, name), note in zip(named, notes):
        if note is not None:
            found.append((Submission(path=path, name=name, kind=SKIPPED), [note]))
            continue
        kind, read_sub = next(read)
        sub = _as_read(path, name, kind, read_sub)
        if isinstance(sub, P.FileNotSpreadsheet):  # a commune about to send a Word file: an error, not a note
            sub = P.NotAReport(file=name, name=name, kind=sub.params["kind"])
        if isinstance(sub, P.Problem):
            found.append((Submission(path=path, name=name, kind=kind), [sub]))
            continue
        problems = list(sub.problems)
        if sub.wrong_period is None:
            problems.extend(_own_checks(sub.records, problems, settings, Timings())[0])
        found.append((sub, problems))
    return found


# Writing, templates and examples ------------------------------------------------


def write(result: RunResult, out: Path, timings: Timings | None = None,
          meanwhile: Callable[[], None] | None = None) -> tuple[Outputs, list[str]]:
    """Write every output of a run into ``out`` and check that nothing was lost: the paths written and
    the accounting check's complaints (empty when every file and unit is accounted for). ``meanwhile``
    (recording the history) runs once this process's outputs are written, while the other core finishes
    the merged workbook; a ``prepare_record`` is committed only if the whole output set is in place."""
    # The writers are imported when needed (start-up): `consolidate --help` and `check` stay quick.
    from .core.accounting import violations
    from .write.outputs import write_outputs

    timings = timings or Timings()
    with no_cycle_collection():  # the run's rows are only read from here on
        try:
            paths = write_outputs(result, out, timings, meanwhile)
        except BaseException:  # the output set refused (or Ctrl+C): the previous outputs stay, so do the figures
            if isinstance(meanwhile, PendingRecord):
                meanwhile.discard()
            raise
        if isinstance(meanwhile, PendingRecord):  # the outputs are in place: the history may say what they say
            meanwhile.publish()
        with timings.step("accounting"):
            unaccounted = violations(result)
    return paths, unaccounted


def feedback_copy(sub: Submission, problems: list[P.Problem], target: Path) -> bool:
    """The annotated copy ``run`` would write for this checked file (``check``'s result), at ``target``;
    False when the file gets none (no error or warning, not an .xlsx, unreadable)."""
    from .write.feedback.patched import write_one_copy  # start-up: the writers only when a copy is made

    return write_one_copy(sub, problems, target)


def template(registry: Registry, settings: ReportSettings, out: Path) -> list[Path]:
    """One template per reporting unit, its name filled in, in ``out``; the paths written."""
    from .write.templates import write_templates  # start-up: XlsxWriter only when templates are made

    return write_templates(registry, settings, out)


def init(folder: Path, overwrite: bool = False, level: str = "huyen") -> list[Path]:
    """Commented example files (units table, settings) to edit, for a district ("huyen") or a province ("tinh"),
    and the DHIS2 mapping of that units table's codes (for ``export``); ConfigError if one exists and not ``overwrite``."""
    from .write.examples import UNITS_XLSX, write_examples  # start-up: XlsxWriter only when examples are made

    mapping = Path(folder) / MAPPING_CSV  # the DHIS2 mapping for `consolidate export`, from the same units
    if mapping.exists() and not overwrite:
        raise ConfigError(mapping, f"đã có trong thư mục {folder}; không ghi đè lên tệp đã có. "
                                   "Xóa hoặc đổi tên tệp này, hoặc chọn thư mục khác.")
    written = write_examples(folder, level=level, overwrite=overwrite)
    return [*written, write_mapping_template(load_registry(Path(folder) / UNITS_XLSX), mapping)]
