"""The commands of a report's round: run (consolidate an inbox), check (a unit's own file), template, init."""

from __future__ import annotations

import json
import os
import sys
import unicodedata
from pathlib import Path

import click

from .. import app
from ..console import (FILE, FOLDER, INTERRUPTED, CommandRefused, Interrupted, Paint, ValueRefused, VietnamesePath,
                       json_visible, say)
from ..core import problems as P
from ..core.formats import FEEDBACK_DIR, HISTORY_NAME, LOG_PREFIX, LOG_SUFFIX
from ..core.registry import Registry, ReportSettings
from ..core.records import Submission
from ..core.results import MISSING, STATUS_LABELS, UNUSABLE, RunResult
from ..core.summary import summarize
from .group import (COLORS, EXIT_ERRORS, EXIT_FATAL, EXIT_OK, STORE, fatal_reason, inside, load_or_refuse, main,
                    settings_options)
from .run_summary import print_opening, print_problems


@main.command(short_help="Đọc, kiểm tra và tổng hợp mọi báo cáo trong một thư mục.")
@click.argument("inbox", type=VietnamesePath(folder=True), metavar=FOLDER)
@click.option("--out", "out", type=VietnamesePath(folder=True, must_exist=False), metavar=FOLDER,
              default=Path("outbox"), help="Thư mục ghi kết quả (mặc định: outbox).")
@settings_options
@click.option("--previous", type=VietnamesePath(folder=False), metavar=FILE,
              help="Bảng tổng hợp kỳ trước, để cảnh báo số liệu thay đổi bất thường "
                   "(không cần khi kỳ trước đã có trong lịch sử).")
@click.option("--history", "history", metavar=STORE,
              help=f"Nơi lưu lịch sử các kỳ: một tệp SQLite hoặc địa chỉ postgresql://… (mặc định: {HISTORY_NAME} "
                   "trong thư mục kết quả).")
@click.option("--no-history", is_flag=True, help="Không đọc và không ghi lịch sử các kỳ.")
@click.option("--quiet", "-q", is_flag=True, help="Không in gì, chỉ trả mã thoát (dùng trong script).")
@click.option("--json", "as_json", is_flag=True, help="In bản tóm tắt dạng JSON (dùng cho chương trình khác).")
def run(inbox: Path, out: Path, units_file: Path | None, config_file: Path | None, previous: Path | None,
        history: str | None, no_history: bool, quiet: bool, as_json: bool) -> None:
    """Đọc, kiểm tra và tổng hợp mọi báo cáo trong THƯ_MỤC (thư mục chứa các tệp nhận về).

    Số liệu của kỳ báo cáo được lưu vào lịch sử (mặc định lich-su.sqlite trong thư mục kết quả);
    kỳ trước trong lịch sử được dùng để cảnh báo thay đổi lớn.

    Ví dụ: consolidate run inbox/ --out outbox/
    """
    if inside(out, inbox):
        raise CommandRefused("Thư mục kết quả (--out) không được nằm trong thư mục báo cáo nhận về.")
    if history is not None and no_history:
        raise CommandRefused("Chỉ dùng một trong hai tùy chọn --history và --no-history.")
    store = None if no_history else _store(history, out)
    with app.no_cycle_collection():  # 10,000 units' objects, none in a cycle: ~0.15 s of collecting
        registry, settings = load_or_refuse(units_file, config_file)
    before = _outputs_stamp(out, registry)
    try:
        _run(inbox, out, registry, settings, previous, store, quiet, as_json, (units_file, config_file))
    except KeyboardInterrupt:
        raise Interrupted(_interrupted(out, registry, before)) from None


INTERRUPTED_WRITTEN = ("Đã dừng theo yêu cầu (Ctrl+C) khi kết quả đã ghi xong: các tệp mới trong {out}{feedback} "
                       "đã thay cho kết quả của lần chạy trước.")


def _outputs_stamp(out: Path, registry: Registry) -> tuple[int, int, int] | None:
    """Which CSV log ``out`` holds now (as write.outputs names it): every run writes one, and the
    whole output set is replaced at once or not at all (write.files.OutputSet; a Ctrl+C waits for it)."""
    try:
        found = os.stat(out / f"{LOG_PREFIX}{registry.root.code}{LOG_SUFFIX}")
    except OSError:
        return None
    return found.st_ino, found.st_mtime_ns, found.st_size


def _interrupted(out: Path, registry: Registry, before: tuple[int, int, int] | None) -> str:
    """What a Ctrl+C leaves, as the files show it: the previous outputs, or this run's new ones (then
    the log was replaced, and the workbook, the page and phan-hoi/ with it)."""
    if _outputs_stamp(out, registry) == before:
        return INTERRUPTED
    feedback = f" (cả thư mục {FEEDBACK_DIR})" if (out / FEEDBACK_DIR).is_dir() else ""
    return INTERRUPTED_WRITTEN.format(out=out, feedback=feedback)


def _run(inbox: Path, out: Path, registry: Registry, settings: ReportSettings, previous: Path | None,
         store: str | Path | None, quiet: bool, as_json: bool, sources: tuple[Path | None, Path | None]) -> None:
    """``run`` once its options are checked: read, check, write, say (and exit with the run's code).
    ``sources`` are the units file and settings file given, which the opening line names."""
    bar = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = click.progressbar(length=total, label="Đang đọc báo cáo", file=sys.stderr)
        bar.update(done - bar.pos)  # the workers report in batches

    show_progress = not quiet and not as_json and sys.stderr.isatty()
    try:
        result = app.run(inbox, registry, settings, previous=previous, progress=progress if show_progress else None,
                         history=store)
        if bar is not None:
            bar.render_finish()
        # the store is opened before the outputs (a store that fails is a line of the log, not a failed run);
        # the figures are stored while the other core finishes the merged workbook
        record = app.prepare_record(result, store) if store is not None else None
        paths, unaccounted = app.write(result, out, meanwhile=record)
    except Exception as exc:  # a bug or a full disk: say so plainly, exit 2
        from ..write.files import OutputError  # start-up: only when a run failed

        if isinstance(exc, OutputError):  # an output open in Excel, or the folder in use: what to do
            say(str(exc), fg="red", err=True)
            sys.exit(EXIT_FATAL)
        say(f"Lỗi nghiêm trọng, không tổng hợp được: {fatal_reason(exc)}.", fg="red", err=True)
        sys.exit(EXIT_FATAL)

    outputs = {**paths}
    if getattr(paths, "feedback", None):
        outputs["feedback"] = paths.feedback_dir
    summary = summarize(result, outputs)
    if as_json:
        click.echo(json_visible(json.dumps(summary, ensure_ascii=False, indent=2)))
    elif not quiet:
        print_opening(result, inbox, *sources)
        _print_summary(result, summary, inbox)
    if unaccounted:
        say("Kiểm tra đối soát KHÔNG đạt: có tệp hoặc đơn vị không được tổng hợp mà cũng không có trong nhật ký:",
            fg="red", bold=True, err=True)
        for line in unaccounted:
            say(f"  {line}", err=True)
        sys.exit(EXIT_FATAL)
    sys.exit(EXIT_ERRORS if result.errors else EXIT_OK)


def _store(history: str | None, out: Path) -> str | Path:
    """The history store an option names (a path or a URL, as typed), else the default one beside the outputs."""
    return history if history else out / HISTORY_NAME


def _print_summary(result: RunResult, summary: dict, inbox: Path) -> None:
    read, skipped = summary["files_read"], summary["files"] - summary["files_read"]
    say(f"Đã đọc {read} tệp báo cáo trong {inbox}" + (f" (bỏ qua {skipped} tệp khác)." if skipped else "."))
    if summary["districts_expected"] is not None:  # a province over districts: the districts it deals with first
        say(f"Huyện đã báo cáo: {summary['districts_reported']}/{summary['districts_expected']}.")
    say(f"Đơn vị đã báo cáo: {summary['units_reported']}/{summary['units_expected']}.")
    for state, key in ((MISSING, "units_missing"), (UNUSABLE, "units_unusable")):
        if summary[key]:
            say(f"{STATUS_LABELS[state]}: {', '.join(summary[key])}.")
    color = "red" if summary["errors"] else ("yellow" if summary["warnings"] else "green")
    say(f"Lỗi: {summary['errors']} · Cảnh báo: {summary['warnings']}"
        + (f" · Thông tin: {summary['notes']}" if summary["notes"] else ""), fg=color, bold=True)
    print_problems(result, summary)
    _print_history(result)
    say("Kết quả:")
    for path in summary["outputs"].values():
        say(f"  {path}")


def _print_history(result: RunResult) -> None:
    """Which period the run recorded, where, and which stored period it was compared with."""
    view = result.history
    if view is None:
        return
    if view.recorded is not None:
        say(f"Kỳ báo cáo {view.period}: đã lưu {view.recorded} số liệu vào lịch sử {view.store}.")
    else:
        say(f"Kỳ báo cáo {view.period}: chưa lưu được vào lịch sử (xem cảnh báo {P.HistoryNotRecorded.code}).",
            fg="yellow")
    if view.previous_period is not None:
        say(f"So sánh với kỳ trước trong lịch sử: {view.previous_period}.")


@main.command(short_help="Kiểm tra tệp báo cáo của đơn vị trước khi gửi.")
@click.argument("files", nargs=-1, required=True, type=VietnamesePath(folder=False), metavar=FILE + "...")
@settings_options
@click.option("--json", "as_json", is_flag=True, help="In kết quả dạng JSON (dùng cho chương trình khác).")
def check(files: tuple[Path, ...], units_file: Path | None, config_file: Path | None, as_json: bool) -> None:
    """Kiểm tra tệp báo cáo của đơn vị trước khi gửi, theo đúng danh sách đơn vị và cấu hình mà huyện dùng để tổng hợp.

    Ví dụ: consolidate check bao-cao-xa-phuoc-an.xlsx --config cau-hinh.toml
    """
    registry, settings = load_or_refuse(units_file, config_file)
    checked = [(sub, _in_reading_order(found)) for sub, found in app.check(list(files), registry, settings)]
    if as_json:
        click.echo(json_visible(json.dumps([_check_entry(sub, found) for sub, found in checked], ensure_ascii=False,
                                           indent=2)))
    else:
        for sub, found in checked:
            _print_check(sub, found)
    sys.exit(EXIT_ERRORS if any(P.has_errors(found) for _, found in checked) else EXIT_OK)


CHECK_VERDICTS = {P.ERROR: "errors", P.WARNING: "warnings", P.INFO: "ok"}  # --json: the worst severity found


SKIPPED_VERDICT = "skipped"  # --json: a lock file or hidden file, not looked at (as the run does not)


def _in_reading_order(found: list[P.Problem]) -> list[P.Problem]:
    """Errors, then warnings, then notes: what stops the file first; each group in the file's order."""
    rank = {P.ERROR: 0, P.WARNING: 1, P.INFO: 2}
    return sorted(found, key=lambda p: rank[p.severity])


def _check_counts(found: list[P.Problem]) -> dict[str, int]:
    return {"errors": sum(p.severity == P.ERROR for p in found),
            "warnings": sum(p.severity == P.WARNING for p in found),
            "notes": sum(p.severity == P.INFO for p in found)}


def _check_entry(sub: Submission, found: list[P.Problem]) -> dict:
    """One file's result for ``check --json``: plain data, English keys and codes, as ``run --json``."""
    worst = found[0].severity if found else P.INFO
    verdict = SKIPPED_VERDICT if sub.kind == app.SKIPPED else CHECK_VERDICTS[worst]
    return {"file": sub.name, "units": list(dict.fromkeys(u.name for u in sub.units)),
            "verdict": verdict, **_check_counts(found), "problems": [p.as_row(for_unit=True) for p in found]}


def _print_check(sub: Submission, found: list[P.Problem]) -> None:
    if sub.kind == app.SKIPPED:  # neither valid nor wrong: not a report at all
        (note,) = found
        say(f"Tệp {sub.name}: bỏ qua, không kiểm tra.", fg="cyan")
        say(f"      Lý do: đây là {note.params['what']}, loại tệp mà huyện cũng bỏ qua khi tổng hợp.")
        say(f"      {note.unit_how_to_fix}")
        return
    unit = ", ".join(dict.fromkeys(u.name for u in sub.units))
    head = f"Tệp {sub.name}" + (f" ({unit})" if unit else "")
    counts = _check_counts(found)
    notes = f", {counts['notes']} thông tin" if counts["notes"] else ""
    if not counts["errors"] and not counts["warnings"]:
        say(f"{head}: hợp lệ, có thể gửi" + (f" ({counts['notes']} thông tin)." if notes else "."), fg="green")
    else:
        say(f"{head}: {counts['errors']} lỗi, {counts['warnings']} cảnh báo{notes}.",
            fg="red" if counts["errors"] else "yellow", bold=True)
    for p in found:
        where = f"{p.sheet}!{p.cell}" if p.cell else (p.sheet or "tệp")
        say("  [", Paint(p.severity_label, fg=COLORS[p.severity]), f"] {where}: {p.message}")
        if p.severity != P.INFO and p.unit_how_to_fix:
            say(f"      Cách sửa: {p.unit_how_to_fix}")


@main.command(short_help="Tạo tệp mẫu báo cáo (đã điền tên đơn vị) cho từng đơn vị.")
@click.option("--out", "out", type=VietnamesePath(folder=True, must_exist=False), metavar=FOLDER,
              default=Path("outbox/mau-bao-cao"), help="Thư mục ghi các tệp mẫu (mặc định: outbox/mau-bao-cao).")
@settings_options
def template(out: Path, units_file: Path | None, config_file: Path | None) -> None:
    """Tạo tệp mẫu báo cáo (đã điền tên đơn vị) cho từng đơn vị.

    Ví dụ: consolidate template --out mau/
    """
    registry, settings = load_or_refuse(units_file, config_file)
    paths = app.template(registry, settings, out)
    say(f"Đã tạo {len(paths)} tệp mẫu trong {out}:")
    for p in paths:
        say(f"  {p.name}")


# `init --cap`: the level, as a clerk says it, with or without its accents
INIT_LEVELS = {"huyen": "huyen", "huyện": "huyen", "tinh": "tinh", "tỉnh": "tinh"}


def _init_level(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """"huyen"/"huyện" or "tinh"/"tỉnh" (any case) as the level app.init takes."""
    level = INIT_LEVELS.get(unicodedata.normalize("NFC", value.strip().lower()))
    if level is None:
        raise ValueRefused(f"“{value}” không phải một cấp: ghi “huyen” (cấp huyện) hoặc “tinh” (cấp tỉnh)")
    return level


@main.command(short_help="Tạo tệp danh sách đơn vị và tệp cấu hình mẫu để sửa theo địa phương.")
@click.argument("folder", type=VietnamesePath(folder=True, must_exist=False), metavar=FOLDER)
@click.option("--cap", "level", default="huyen", callback=_init_level, metavar="huyen|tinh",
              help="Cấp chạy tổng hợp: huyen (huyện tổng hợp các xã, mặc định) hoặc tinh (tỉnh tổng hợp các huyện).")
@click.option("--force", is_flag=True, help="Ghi đè các tệp đã có.")
def init(folder: Path, level: str, force: bool) -> None:
    """Tạo tệp mẫu danh sách đơn vị và tệp cấu hình báo cáo, có chú thích, để sửa theo địa phương.

    \b
    Ví dụ:
      consolidate init cau-hinh/                   (cấp huyện)
      consolidate init cau-hinh-tinh/ --cap tinh   (cấp tỉnh)
    """
    try:
        written = app.init(folder, overwrite=force, level=level)
    except app.ConfigError as exc:
        raise CommandRefused(f"{exc} (dùng --force để ghi đè)") from None
    for p in written:
        say(f"Đã tạo {p}")
    say("Sửa các tệp này rồi chạy: consolidate run inbox/ --config " + str(folder / "cau-hinh.toml"))
