"""The history of the periods and the exports, as library calls: record a run's period, read it back, write it out.

Apart from ``app`` so that the job's own calls stay short; ``app`` re-exports these. SQLAlchemy is
imported only when one of them runs.
"""

from __future__ import annotations

import difflib
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from .core import problems as P
from .core.observations import HistoryError, Observation
from .core.periods import period_key, report_period
from .core.records import Record
from .core.registry import Registry, ReportSettings
from .core.results import HistoryView, RunResult
from .core.template import FORM1, FORM1_FIELDS, FORM2_INDICATORS, RATES, WEIGHTS, field_label
from .export import DHIS2_FORMATS, FORMATS, ExportError, ExportResult, export_observations, read_mapping
from .export.tidy import TIDY_COLUMNS, tidy_rows
from .write.tidy_workbook import write_tidy_workbook

XLSX = "xlsx"  # the tidy rows as a workbook: written by ``write`` (XlsxWriter lives there), not by ``export``
EXPORT_FORMATS = (*FORMATS, XLSX)

if TYPE_CHECKING:
    from .history.recording import Recording

__all__ = ["EXPORT_FORMATS", "ExportError", "ExportResult", "PendingRecord", "export", "history", "prepare_record",
           "read_history", "record"]


# The history of the periods ---------------------------------------------------------


def read_history(target: str | Path, settings: ReportSettings,
                  problems: list[P.Problem]) -> tuple[HistoryView, list[Record]]:
    """The history's view of this period (its previous period's figures, the trends); a store that cannot be
    read is one warning in the log and a run without them, never a failed run."""
    from .history.recording import read_past  # lazy: SQLAlchemy only for a run with a history

    period = report_period(settings)
    try:
        return read_past(target, period)
    except Exception as exc:  # a store that cannot be read, or a bug in reading it: never a failed run
        from .history import store_label  # lazy: SQLAlchemy only for a run with a history (read_past loaded it)

        store, reason = (exc.store, exc.reason) if isinstance(exc, HistoryError) else (store_label(target), _history_bug(exc))
        problems.append(P.HistoryNotRead(store=store, reason=reason))
        return HistoryView(period, store), []


def record(result: RunResult, target: str | Path) -> P.Problem | None:
    """Store the run's figures under its period in the history at ``target`` (a path or a URL). A store that
    cannot be opened or written does not fail the run: the problem is returned and added to the run's
    problems, so the log, the page and the summary say it, and the outputs are written as usual."""
    pending = prepare_record(result, target)
    if pending is not None:
        pending()
        pending.publish()
    return next((p for p in result.problems if p.code == P.HistoryNotRecorded.code), None)


def prepare_record(result: RunResult, target: str | Path) -> PendingRecord | None:
    """``record`` in steps, for ``write(meanwhile=…)``: the store is opened and checked now (a store that
    cannot be used is the warning ``history-not-recorded``, in every output, and None is returned); the
    ``PendingRecord`` returned stores the figures while the other core finishes the merged workbook, and
    ``write`` commits them once the output set is in place, or rolls them back when it is refused."""
    from .history.recording import prepare_recording  # lazy: SQLAlchemy only for a run with a history

    try:
        recording = prepare_recording(result, target)
    except Exception as exc:  # whatever it is, the district's outputs still come first
        _not_recorded(result, target, exc)
        return None
    return PendingRecord(result, target, recording)


class PendingRecord:
    """A run's figures going into the history with its outputs (issue 21: the history never holds figures
    the published outputs do not show). Called (``write``'s ``meanwhile``), it stores them in a transaction
    left open; ``publish()`` commits them, ``discard()`` rolls them back. Any failure is the warning
    ``history-not-recorded``, never a failed run; it reaches the terminal and ``--json``, not the log,
    which is already written."""

    def __init__(self, result: RunResult, target: str | Path, recording: Recording) -> None:
        self.result, self.target, self.recording = result, target, recording

    def __call__(self) -> None:
        try:
            self.recording.write()
        except Exception as exc:  # a full disk, a lost server, a bug: a warning, never a failed run
            self.discard()
            _not_recorded(self.result, self.target, exc)

    def publish(self) -> None:
        """Commit the figures stored (the outputs are in place)."""
        recording, self.recording = self.recording, None
        if recording is None:
            return
        try:
            recording.publish()
        except Exception as exc:  # as above
            if self.result.history is not None:
                self.result.history.recorded = None
            _not_recorded(self.result, self.target, exc)

    def discard(self) -> None:
        """Roll back the figures stored (the outputs were refused, the previous set stays)."""
        recording, self.recording = self.recording, None
        if self.result.history is not None:
            self.result.history.recorded = None
        if recording is not None:
            try:
                recording.discard()
            except Exception:  # noqa: BLE001 - a connection lost meanwhile: nothing was committed
                pass


def _not_recorded(result: RunResult, target: str | Path, exc: Exception) -> None:
    """The warning ``history-not-recorded`` for what stopped the recording, naming the store as every output does."""
    from .history import store_label  # lazy: SQLAlchemy only for a run with a history

    store, reason = (exc.store, exc.reason) if isinstance(exc, HistoryError) else (store_label(target), _history_bug(exc))
    result.problems.append(P.HistoryNotRecorded(
        period=result.history.period if result.history else report_period(result.settings), store=store, reason=reason))


def _history_bug(exc: Exception) -> str:
    """What an unexpected failure with the history was, in Vietnamese."""
    if isinstance(exc, OSError):
        return f"không ghi được tệp (mã {type(exc).__name__}; kiểm tra ổ đĩa và quyền ghi)"
    return f"lỗi của chương trình (mã {type(exc).__name__}); hãy báo cho người quản trị"


def history(target: str | Path, unit: str | None = None) -> dict:
    """What the history at ``target`` holds, as plain data: its periods and units, or (``unit``, a code) that
    unit's figures over the periods. HistoryError when there is no store to read; LookupError, with a
    Vietnamese message, for a unit the store has no figures of."""
    from .history import open_store  # lazy: SQLAlchemy only for the commands that read the history

    with open_store(target, create=False) as store:
        label = store.label
        if unit is None:
            return {"store": label, "periods": store.period_counts(),
                    "units": [{"code": code, "name": name, "periods": periods} for code, name, periods in store.units()]}
        found = store.observations(unit=unit.strip())
        if not found:
            known = [code for code, _, _ in store.units()]
            close = difflib.get_close_matches(unit.strip(), known, n=3, cutoff=0.6)
            hint = f" Có phải: {', '.join(close)}?" if close else " Gõ “consolidate history” để xem các mã đã lưu."
            raise LookupError(f"lịch sử {label} không có số liệu nào của đơn vị mã “{unit}”.{hint}")
    periods = sorted({o.period for o in found}, key=period_key)
    return {"store": label, "unit": {"code": found[-1].unit_code, "name": found[-1].unit_name}, "periods": periods,
            "values": [{"period": o.period, "form": o.form, "item": o.item, "field": o.field, "field_code": o.field_code,
                        "label": field_label(o.form, o.field, o.item), "value": o.value, "status": o.status,
                        "problem": o.problem, "file": o.file, "sheet": o.sheet, "cell": o.cell}
                       for o in sorted(found, key=lambda o: _field_order(o))]}


def _field_order(o: Observation) -> tuple:
    """Biểu mẫu 1's columns, then Biểu mẫu 2's indicators and rates, in the template's order; then the period."""
    form1 = {f.key: n for n, f in enumerate(FORM1_FIELDS)}
    items = {i.key: n for n, i in enumerate(FORM2_INDICATORS)}
    fields = {f: n for n, f in enumerate((*RATES, *WEIGHTS))}
    where = (0, form1.get(o.field, 99), 0) if o.form == FORM1 else (1, items.get(o.item, 99), fields.get(o.field, 99))
    return (*where, period_key(o.period))


# Exports ----------------------------------------------------------------------------


def export(fmt: str, out: Path, history: str | Path, *, period: str | None = None, mapping: Path | None = None,
           registry: Registry | None = None, attribute_option_combo: str = "") -> ExportResult:
    """Write the stored values of ``period`` (every period when None) in format ``fmt`` into ``out``.

    ``history`` is the store a run recorded into: a path (SQLite) or a URL. ExportError, in
    Vietnamese, when there is nothing to export: no store at that path, no such period, a DHIS2
    format without a mapping file; ConfigError for a mapping file that cannot be read (or that would send
    two values under one DHIS2 key); HistoryError for a store that cannot be read (its reason in Vietnamese).
    ``attribute_option_combo`` is the DHIS2 attribute option combo every value of a DHIS2 export is filed
    under (none: DHIS2's default).
    """
    if fmt in DHIS2_FORMATS and mapping is None:
        raise ExportError(f"Định dạng {fmt} cần tệp ánh xạ mã DHIS2 (--mapping): tạo tệp bằng lệnh "
                          "“consolidate init THƯ_MỤC”, điền các mã DHIS2 rồi chạy lại.")
    dhis2_mapping = read_mapping(mapping) if mapping is not None and fmt in DHIS2_FORMATS else None
    if dhis2_mapping is not None and attribute_option_combo:
        dhis2_mapping = replace(dhis2_mapping, attribute_option_combo=attribute_option_combo.strip())
    from .history import NoHistoryYet, open_store  # lazy: the history store (and SQLAlchemy) loads only when exporting

    try:
        store = open_store(history, create=False)  # opening a path that has no store would create an empty one
    except NoHistoryYet as exc:
        raise ExportError(f"Chưa có lịch sử số liệu tại {exc.store}: chạy “consolidate run” trước "
                          "(lịch sử được lưu trong thư mục kết quả), hoặc chỉ đúng tệp bằng --history.") from None
    with store:
        observations = store.observations(period=period)
        stored = store.periods()
    if not observations:
        have = ", ".join(stored) if stored else "chưa có kỳ nào"
        raise ExportError(f"Lịch sử không có số liệu của kỳ {period} (các kỳ đã lưu: {have})." if period
                          else "Lịch sử chưa có số liệu nào: chạy “consolidate run” trước.")
    if fmt == XLSX:
        path = write_tidy_workbook(tidy_rows(observations, registry), TIDY_COLUMNS, Path(out))
        return ExportResult(paths=[path], exported=len(observations),
                            periods=list(dict.fromkeys(o.period for o in observations)))
    return export_observations(observations, fmt, out, registry=registry, mapping=dhis2_mapping)
