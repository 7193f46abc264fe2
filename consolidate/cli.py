"""The command line: parse options, call the library, print in Vietnamese, set the exit code."""

from __future__ import annotations

import gc
import json
import sys
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from . import app
from .console import (EXIT_INTERRUPTED, FILE, FOLDER, INTERRUPTED, VERSION_MESSAGE, VERSION_TEXT, CommandRefused, ValueRefused,
                      VietnameseGroup, VietnamesePath)
from .core import problems as P
from .core.formats import HISTORY_NAME
from .core.numbers import format_number
from .core.observations import ACCEPTED, HistoryError
from .core.registry import Registry, ReportSettings
from .core.records import Submission
from .core.results import MISSING, STATUS_LABELS, UNUSABLE, RunResult
from .core.summary import summarize
from .export import FORMATS as EXPORT_FORMATS, PERIOD_EXAMPLES, is_dhis2_period

EXIT_OK, EXIT_ERRORS, EXIT_FATAL = 0, 1, 2
STORE = "TỆP_HOẶC_URL"
SHOWN_PROBLEMS = 20
COLORS = {P.ERROR: "red", P.WARNING: "yellow", P.INFO: "cyan"}


def _inside(path: Path, folder: Path) -> bool:
    path, folder = path.resolve(), folder.resolve()
    return path == folder or folder in path.parents


def _settings_options(f):
    """--units and --config, shared by the commands that need to know the units and the report."""
    f = click.option("--config", "config_file", type=VietnamesePath(folder=False), metavar=FILE,
                     help="Tệp cấu hình báo cáo (.toml): số, ngày, tiêu đề, kỳ báo cáo, chỉ tiêu tỉnh giao.")(f)
    f = click.option("--units", "units_file", type=VietnamesePath(folder=False), metavar=FILE,
                     help="Danh sách đơn vị (.csv hoặc .xlsx): mã, tên, cấp, mã đơn vị cấp trên.")(f)
    return f


def _load(units_file: Path | None, config_file: Path | None) -> tuple[Registry, ReportSettings]:
    """The registry and settings the options name, else the embedded Tuy Phước sample; a bad file stops here."""
    try:
        return app.load(units_file, config_file)
    except app.ConfigError as exc:
        raise CommandRefused(str(exc)) from None


def entry(args: list[str] | None = None) -> None:
    """The console script: ``main``, then an exit with the run's objects out of the cycle
    collector's sight. Its last walks over them at interpreter exit took ~0.5 s at N = 10,000,
    for memory the process is about to give back anyway. (Tests call ``main`` in-process and
    keep collecting.)"""
    try:
        main(args)
    except KeyboardInterrupt:  # before click had a context (while parsing): the same line, the same code
        click.echo(file=sys.stderr)
        click.secho(INTERRUPTED, fg="yellow", err=True)
        sys.exit(EXIT_INTERRUPTED)
    finally:
        gc.freeze()


@click.group(name="consolidate", cls=VietnameseGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="consolidate", message=VERSION_MESSAGE, help=VERSION_TEXT)
def main() -> None:
    """Gộp báo cáo Excel của các đơn vị thành một bảng tổng hợp đã kiểm tra."""


@main.command(short_help="Đọc, kiểm tra và tổng hợp mọi báo cáo trong một thư mục.")
@click.argument("inbox", type=VietnamesePath(folder=True), metavar=FOLDER)
@click.option("--out", "out", type=VietnamesePath(folder=True, must_exist=False), metavar=FOLDER,
              default=Path("outbox"), help="Thư mục ghi kết quả (mặc định: outbox).")
@_settings_options
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
    if _inside(out, inbox):
        raise CommandRefused("Thư mục kết quả (--out) không được nằm trong thư mục báo cáo nhận về.")
    if history is not None and no_history:
        raise CommandRefused("Chỉ dùng một trong hai tùy chọn --history và --no-history.")
    store = None if no_history else _store(history, out)
    with app.no_cycle_collection():  # 10,000 units' objects, none in a cycle: ~0.15 s of collecting
        registry, settings = _load(units_file, config_file)
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
        from .write.files import OutputError  # start-up: only when a run failed

        if isinstance(exc, OutputError):  # an output open in Excel, or the folder in use: what to do
            click.secho(str(exc), fg="red", err=True)
            sys.exit(EXIT_FATAL)
        click.secho(f"Lỗi nghiêm trọng, không tổng hợp được: {_fatal_reason(exc)}.", fg="red", err=True)
        sys.exit(EXIT_FATAL)

    outputs = {**paths}
    if getattr(paths, "feedback", None):
        outputs["feedback"] = paths.feedback_dir
    summary = summarize(result, outputs)
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False, indent=2))
    elif not quiet:
        _print_summary(result, summary, inbox)
    if unaccounted:
        click.secho("Kiểm tra đối soát KHÔNG đạt: có tệp hoặc đơn vị không được tổng hợp mà cũng không có trong nhật ký:",
                    fg="red", bold=True, err=True)
        for line in unaccounted:
            click.echo(f"  {line}", err=True)
        sys.exit(EXIT_FATAL)
    sys.exit(EXIT_ERRORS if result.errors else EXIT_OK)


def _store(history: str | None, out: Path) -> str | Path:
    """The history store an option names (a path or a URL, as typed), else the default one beside the outputs."""
    return history if history else out / HISTORY_NAME


def _fatal_reason(exc: Exception) -> str:
    """What stopped the run, in Vietnamese: the exception's own text is English. Its type is kept,
    as a code to quote when asking for help."""
    from .write.files import os_reason  # start-up: only when a run failed

    if isinstance(exc, MemoryError):
        return "máy không đủ bộ nhớ"
    if isinstance(exc, OSError):
        where = f" (“{exc.filename}”)" if isinstance(exc.filename, str) else ""
        return f"{os_reason(exc)}{where}; kiểm tra ổ đĩa và quyền ghi rồi chạy lại"
    return f"lỗi của chương trình (mã {type(exc).__name__}); hãy báo cho người quản trị"


@contextmanager
def _server_state_said(out: Path) -> Iterator[None]:
    """The links and the server's state cannot be written or read: one Vietnamese line, exit 2."""
    from .web.state import StateError  # start-up: only serve and links

    try:
        yield
    except StateError as exc:
        click.secho(str(exc), fg="red", err=True)
        sys.exit(EXIT_FATAL)
    except OSError as exc:
        click.secho(f"Không ghi được đường liên kết vào thư mục kết quả {out}: {_fatal_reason(exc)}.",
                    fg="red", err=True)
        sys.exit(EXIT_FATAL)


def _print_summary(result: RunResult, summary: dict, inbox: Path) -> None:
    read, skipped = summary["files_read"], summary["files"] - summary["files_read"]
    click.echo(f"Đã đọc {read} tệp báo cáo trong {inbox}" + (f" (bỏ qua {skipped} tệp khác)." if skipped else "."))
    click.echo(f"Đơn vị đã báo cáo: {summary['units_reported']}/{summary['units_expected']}.")
    for state, key in ((MISSING, "units_missing"), (UNUSABLE, "units_unusable")):
        if summary[key]:
            click.echo(f"{STATUS_LABELS[state]}: {', '.join(summary[key])}.")
    color = "red" if summary["errors"] else ("yellow" if summary["warnings"] else "green")
    click.secho(
        f"Lỗi: {summary['errors']} · Cảnh báo: {summary['warnings']}"
        + (f" · Thông tin: {summary['notes']}" if summary["notes"] else ""),
        fg=color, bold=True,
    )
    if summary["by_code"]:
        width = max(len(row["code"]) for row in summary["by_code"])
        for row in summary["by_code"]:
            click.echo("  " + click.style(f"{row['label']:<9}", fg=COLORS[row["severity"]])
                       + f" {row['code']:<{width}}  {row['count']:>4}")
    shown = [p for p in result.problems if p.severity != P.INFO][:SHOWN_PROBLEMS]
    for p in shown:
        where = " ".join(x for x in (p.file, f"{p.sheet}!{p.cell}" if p.cell else p.sheet) if x)
        click.echo(f"  [{click.style(p.severity_label, fg=COLORS[p.severity])}] {where + ' – ' if where else ''}"
                   f"{p.unit + ': ' if p.unit else ''}{p.message}")
    rest = summary["errors"] + summary["warnings"] - len(shown)
    if rest > 0:
        click.echo(f"  … và {rest} mục khác, xem nhật ký lỗi.")
    _print_history(result)
    click.echo("Kết quả:")
    for path in summary["outputs"].values():
        click.echo(f"  {path}")


def _print_history(result: RunResult) -> None:
    """Which period the run recorded, where, and which stored period it was compared with."""
    view = result.history
    if view is None:
        return
    if view.recorded is not None:
        click.echo(f"Kỳ báo cáo {view.period}: đã lưu {view.recorded} số liệu vào lịch sử {view.store}.")
    else:
        click.secho(f"Kỳ báo cáo {view.period}: chưa lưu được vào lịch sử (xem cảnh báo {P.HistoryNotRecorded.code}).",
                    fg="yellow")
    if view.previous_period is not None:
        click.echo(f"So sánh với kỳ trước trong lịch sử: {view.previous_period}.")


@main.command(short_help="Kiểm tra tệp báo cáo của đơn vị trước khi gửi.")
@click.argument("files", nargs=-1, required=True, type=VietnamesePath(folder=False), metavar=FILE + "...")
@_settings_options
@click.option("--json", "as_json", is_flag=True, help="In kết quả dạng JSON (dùng cho chương trình khác).")
def check(files: tuple[Path, ...], units_file: Path | None, config_file: Path | None, as_json: bool) -> None:
    """Kiểm tra tệp báo cáo của đơn vị trước khi gửi, theo đúng danh sách đơn vị và cấu hình mà huyện dùng để tổng hợp.

    Ví dụ: consolidate check bao-cao-xa-phuoc-an.xlsx --config cau-hinh.toml
    """
    registry, settings = _load(units_file, config_file)
    checked = [(sub, _in_reading_order(found)) for sub, found in app.check(list(files), registry, settings)]
    if as_json:
        click.echo(json.dumps([_check_entry(sub, found) for sub, found in checked], ensure_ascii=False, indent=2))
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
        click.secho(f"Tệp {sub.name}: bỏ qua, không kiểm tra.", fg="cyan")
        click.echo(f"      Lý do: đây là {note.params['what']}, loại tệp mà huyện cũng bỏ qua khi tổng hợp.")
        click.echo(f"      {note.unit_how_to_fix}")
        return
    unit = ", ".join(dict.fromkeys(u.name for u in sub.units))
    head = f"Tệp {sub.name}" + (f" ({unit})" if unit else "")
    counts = _check_counts(found)
    notes = f", {counts['notes']} thông tin" if counts["notes"] else ""
    if not counts["errors"] and not counts["warnings"]:
        click.secho(f"{head}: hợp lệ, có thể gửi" + (f" ({counts['notes']} thông tin)." if notes else "."), fg="green")
    else:
        click.secho(f"{head}: {counts['errors']} lỗi, {counts['warnings']} cảnh báo{notes}.",
                    fg="red" if counts["errors"] else "yellow", bold=True)
    for p in found:
        where = f"{p.sheet}!{p.cell}" if p.cell else (p.sheet or "tệp")
        click.echo(f"  [{click.style(p.severity_label, fg=COLORS[p.severity])}] {where}: {p.message}")
        if p.severity != P.INFO and p.unit_how_to_fix:
            click.echo(f"      Cách sửa: {p.unit_how_to_fix}")


@main.command(short_help="Tạo tệp mẫu báo cáo (đã điền tên đơn vị) cho từng đơn vị.")
@click.option("--out", "out", type=VietnamesePath(folder=True, must_exist=False), metavar=FOLDER,
              default=Path("outbox/mau-bao-cao"), help="Thư mục ghi các tệp mẫu (mặc định: outbox/mau-bao-cao).")
@_settings_options
def template(out: Path, units_file: Path | None, config_file: Path | None) -> None:
    """Tạo tệp mẫu báo cáo (đã điền tên đơn vị) cho từng đơn vị.

    Ví dụ: consolidate template --out mau/
    """
    registry, settings = _load(units_file, config_file)
    paths = app.template(registry, settings, out)
    click.echo(f"Đã tạo {len(paths)} tệp mẫu trong {out}:")
    for p in paths:
        click.echo(f"  {p.name}")


@main.command(short_help="Xem lịch sử số liệu các kỳ: các kỳ và đơn vị đã lưu, hoặc số liệu một đơn vị qua các kỳ.")
@click.option("--unit", "unit", metavar="MÃ", help="Mã đơn vị (như trong danh sách đơn vị) để xem số liệu qua các kỳ.")
@click.option("--history", "history", metavar=STORE,
              help=f"Nơi lưu lịch sử: một tệp SQLite hoặc địa chỉ postgresql://… (mặc định: outbox/{HISTORY_NAME}).")
@click.option("--json", "as_json", is_flag=True, help="In kết quả dạng JSON (dùng cho chương trình khác).")
def history(unit: str | None, history: str | None, as_json: bool) -> None:
    """Xem lịch sử số liệu đã lưu qua các lần chạy: các kỳ, các đơn vị, hoặc số liệu của một đơn vị qua các kỳ.

    \b
    Ví dụ:
      consolidate history
      consolidate history --unit x-phuoc-an
      consolidate history --history postgresql://tinh:mat-khau@may-chu/lich_su --json
    """
    try:
        data = app.history(history or Path("outbox") / HISTORY_NAME, unit)
    except LookupError as exc:
        raise CommandRefused(str(exc.args[0])) from None
    except HistoryError as exc:
        click.secho(f"Không đọc được lịch sử {exc.store}: {exc.reason}.", fg="red", err=True)
        sys.exit(EXIT_FATAL)
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
    elif unit is None:
        _print_stored(data)
    else:
        _print_series(data)


def _print_stored(data: dict) -> None:
    click.echo(f"Lịch sử: {data['store']}")
    if not data["periods"]:
        click.echo("Chưa có kỳ nào được lưu.")
        return
    click.echo(f"Các kỳ đã lưu ({len(data['periods'])}):")
    click.echo(f"  {'Kỳ':<8} {'Đơn vị':>7} {'Số liệu hợp lệ':>15} {'Số liệu lỗi':>12}  Lưu lúc")
    for p in data["periods"]:
        click.echo(f"  {p['period']:<8} {p['units']:>7} {p['accepted']:>15} {p['rejected']:>12}  {p['run_time']}")
    click.echo(f"Các đơn vị ({len(data['units'])}):")
    width = max(len(u["code"]) for u in data["units"])
    for u in data["units"]:
        click.echo(f"  {u['code']:<{width}}  {u['name']} – {len(u['periods'])} kỳ: {', '.join(u['periods'])}")
    click.echo("Xem số liệu một đơn vị qua các kỳ: consolidate history --unit MÃ")


def _print_series(data: dict) -> None:
    """One row per field, one column per period: the unit's figures over time; a rejected figure as "lỗi"."""
    periods = data["periods"]
    click.echo(f"{data['unit']['name']} (mã {data['unit']['code']}): số liệu qua {len(periods)} kỳ, lịch sử {data['store']}")
    rows: dict[str, dict[str, str]] = {}
    for v in data["values"]:
        shown = format_number(v["value"]) if v["status"] == ACCEPTED else f"lỗi ({v['problem']})"
        rows.setdefault(v["label"], {})[v["period"]] = shown
    width = max(len(label) for label in rows)
    cols = [max(len(p), *(len(r.get(p, "")) for r in rows.values())) for p in periods]
    click.echo(f"  {'Chỉ tiêu':<{width}}  " + "  ".join(f"{p:>{w}}" for p, w in zip(periods, cols)))
    for label, by_period in rows.items():
        click.echo(f"  {label:<{width}}  " + "  ".join(f"{by_period.get(p, '–'):>{w}}" for p, w in zip(periods, cols)))


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
        click.echo(f"Đã tạo {p}")
    click.echo("Sửa các tệp này rồi chạy: consolidate run inbox/ --config " + str(folder / "cau-hinh.toml"))


def _port(ctx: click.Context, param: click.Parameter, value: str) -> int:
    """A TCP port, said in Vietnamese when it is not one (click's own range message is English)."""
    text = str(value).strip()
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise ValueRefused(f"“{value}” không phải một cổng: ghi một số từ 1 đến 65535, ví dụ 8765")
    return int(text)


@main.command(short_help="Mở trang web để các đơn vị gửi báo cáo qua trình duyệt.")
@click.argument("inbox", type=VietnamesePath(folder=True), metavar=FOLDER)
@click.option("--out", "out", type=VietnamesePath(folder=True, must_exist=False), metavar=FOLDER,
              default=Path("outbox"), help="Thư mục ghi kết quả, đường liên kết và trạng thái máy chủ (mặc định: outbox).")
@_settings_options
@click.option("--host", default="127.0.0.1", metavar="ĐỊA_CHỈ",
              help="Địa chỉ lắng nghe (mặc định: 127.0.0.1, chỉ máy này); 0.0.0.0 để các máy trong mạng cơ quan truy cập được.")
@click.option("--port", default="8765", callback=_port, metavar="CỔNG",
              help="Cổng lắng nghe (mặc định: 8765).")
@click.option("--base-url", metavar="URL",
              help="Phần đầu của các đường liên kết gửi cho đơn vị, ví dụ http://192.168.1.10:8765 (mặc định: theo địa chỉ và cổng).")
def serve(inbox: Path, out: Path, units_file: Path | None, config_file: Path | None, host: str, port: int,
          base_url: str | None) -> None:
    """Mở trang web nhận báo cáo: mỗi đơn vị gửi tệp qua đường liên kết riêng và xem ngay kết quả kiểm tra;
    văn thư theo dõi tình trạng nộp và bấm tổng hợp. Chạy cho tới khi bấm Ctrl+C.

    \b
    Ví dụ:
      consolidate serve inbox/ --out outbox/
      consolidate serve inbox/ --out outbox/ --host 0.0.0.0 --base-url http://192.168.1.10:8765
    """
    from .web.links import default_base_url  # start-up: Flask and waitress only for the server
    from .web.server import is_open_to_network, make_server, open_inbox

    if _inside(out, inbox):
        raise CommandRefused("Thư mục kết quả (--out) không được nằm trong thư mục báo cáo nhận về.")
    registry, settings = _load(units_file, config_file)
    with _server_state_said(out):
        opened = open_inbox(inbox, out, registry, settings, base_url or default_base_url(host, port))
    try:
        server = make_server(opened.place, host, port)
    except OSError as exc:
        raise CommandRefused(f"Không mở được cổng {port} trên {host} ({exc.strerror or exc}); "
                             "có thể một chương trình khác đang dùng cổng này: chọn cổng khác bằng --port.") from None
    if is_open_to_network(host):
        click.secho("Cảnh báo: máy chủ mở cho cả mạng cơ quan. Ai có đường liên kết cũng dùng được nó: "
                    "chỉ gửi mỗi đường liên kết cho đúng đơn vị, không đăng lên nhóm chung.", fg="yellow", err=True)
        if base_url is None:
            click.secho(f"Các đường liên kết đang bắt đầu bằng {opened.base_url}, máy khác không mở được: chạy lại với "
                        f"--base-url http://<địa chỉ IP của máy này>:{port}.", fg="yellow", err=True)
    click.echo(f"Đang nhận báo cáo vào {inbox}, kết quả ghi vào {out}.")
    click.echo(f"Trang của văn thư (không gửi cho ai): {opened.clerk}")
    click.echo(f"Đường liên kết của từng đơn vị: {opened.links}")
    click.echo("Bấm Ctrl+C để dừng.")
    try:
        server.run()
    except KeyboardInterrupt:
        click.echo("Đã dừng máy chủ; các báo cáo đã nhận vẫn nằm trong thư mục nhận về.")
    finally:
        server.close()


@main.command(short_help="Ghi lại tệp đường liên kết của các đơn vị; cấp đường liên kết mới cho một đơn vị.")
@click.argument("inbox", type=VietnamesePath(folder=True), metavar=FOLDER)
@click.option("--out", "out", type=VietnamesePath(folder=True, must_exist=False), metavar=FOLDER,
              default=Path("outbox"), help="Thư mục kết quả mà lệnh serve dùng (mặc định: outbox).")
@_settings_options
@click.option("--base-url", metavar="URL", help="Phần đầu của các đường liên kết (mặc định: như lần chạy serve gần nhất).")
@click.option("--renew", "renew", metavar="MÃ", help="Cấp đường liên kết mới cho đơn vị có mã này; đường liên kết cũ hết dùng được.")
@click.option("--renew-clerk", is_flag=True, help="Cấp đường liên kết mới cho trang của văn thư; đường cũ hết dùng được.")
def links(inbox: Path, out: Path, units_file: Path | None, config_file: Path | None, base_url: str | None,
          renew: str | None, renew_clerk: bool) -> None:
    """Ghi lại tệp lien-ket-don-vi.csv (mã, tên, đường liên kết của từng đơn vị) trong thư mục kết quả.

    \b
    Ví dụ:
      consolidate links inbox/ --out outbox/
      consolidate links inbox/ --out outbox/ --renew x-phuoc-an
    """
    from .web.server import open_inbox  # start-up: Flask and waitress only for the links
    from .web.state import ServerState

    if _inside(out, inbox):
        raise CommandRefused("Thư mục kết quả (--out) không được nằm trong thư mục báo cáo nhận về.")
    registry, settings = _load(units_file, config_file)
    if renew is not None:
        codes = {u.code: u for u in registry.reporting_units()}
        if renew not in codes:
            raise CommandRefused(f"Không có đơn vị báo cáo nào mã “{renew}” (xem cột code của tệp lien-ket-don-vi.csv).")
        with _server_state_said(out):
            ServerState(out).renew(renew)
    with _server_state_said(out):
        if renew_clerk:
            ServerState(out).renew_clerk()
        opened = open_inbox(inbox, out, registry, settings, base_url)
    if renew is not None:
        click.echo(f"Đã cấp đường liên kết mới cho {codes[renew].name}; đường liên kết cũ không còn dùng được.")
    if renew_clerk:
        click.echo("Đã cấp đường liên kết mới cho trang của văn thư; đường liên kết cũ không còn dùng được.")
    click.echo(f"Đã ghi đường liên kết của các đơn vị vào {opened.links}")
    click.echo(f"Trang của văn thư (không gửi cho ai): {opened.clerk}")

DEFAULT_HISTORY = Path("outbox") / "lich-su.sqlite"  # where `run` records by default (its --out is outbox)


def _export_format(ctx: click.Context, param: click.Parameter, value: str | None) -> str:
    """One of the export formats, any case; said in Vietnamese otherwise (click.Choice's refusal is English)."""
    if value is None:  # not `required=True`: click would print "[required]" in the help
        raise click.MissingParameter(ctx=ctx, param=param)
    if value.strip().lower() not in EXPORT_FORMATS:
        raise ValueRefused(f"“{value}” không phải định dạng xuất; chọn một trong: {', '.join(EXPORT_FORMATS)}")
    return value.strip().lower()


def _export_period(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A DHIS2 period code, checked before the store is opened."""
    if value is not None and not is_dhis2_period(value.strip()):
        raise ValueRefused(f"“{value}” không phải mã kỳ của DHIS2; ví dụ {PERIOD_EXAMPLES}")
    return value.strip() if value else None


@main.command(short_help="Xuất số liệu đã lưu trong lịch sử ra CSV, gói dữ liệu hoặc DHIS2.")
@click.option("--format", "fmt", callback=_export_format, metavar="ĐỊNH_DẠNG",
              help="Bắt buộc: csv, datapackage, dhis2-json hoặc dhis2-csv.")
@click.option("--period", callback=_export_period, metavar="KỲ",
              help="Chỉ xuất một kỳ, theo mã kỳ của DHIS2 (2024S1, 2024Q3, 202408, 2024); mặc định: mọi kỳ đã lưu.")
@click.option("--history", default=str(DEFAULT_HISTORY), metavar="TỆP_HOẶC_URL",
              help=f"Kho lịch sử: tệp SQLite hoặc địa chỉ postgresql://… (mặc định: {DEFAULT_HISTORY}).")
@click.option("--mapping", type=VietnamesePath(folder=False), metavar=FILE,
              help="Tệp ánh xạ mã DHIS2 (dhis2-anh-xa.csv do lệnh init tạo); bắt buộc với dhis2-json và dhis2-csv.")
@click.option("--units", "units_file", type=VietnamesePath(folder=False), metavar=FILE,
              help="Danh sách đơn vị (.csv hoặc .xlsx), để điền tên đơn vị còn thiếu trong lịch sử.")
@click.option("--out", "out", type=VietnamesePath(folder=True, must_exist=False), metavar=FOLDER,
              default=Path("outbox/xuat"), help="Thư mục ghi tệp xuất (mặc định: outbox/xuat).")
def export(fmt: str, period: str | None, history: str, mapping: Path | None, units_file: Path | None, out: Path) -> None:
    """Xuất số liệu đã lưu trong lịch sử (do lệnh run ghi): csv (bảng dạng dài, mỗi dòng một giá trị),
    datapackage (bảng đó kèm datapackage.json), dhis2-json hoặc dhis2-csv (giá trị dữ liệu DHIS2 theo mã,
    idScheme=code; chỉ số liệu hợp lệ, giá trị chưa có mã trong tệp ánh xạ được liệt kê, không bị đoán mã).

    \b
    Ví dụ:
      consolidate export --format csv --period 2024S1 --out xuat/
      consolidate export --format dhis2-json --mapping cau-hinh/dhis2-anh-xa.csv --out xuat/
    """
    registry = _load(units_file, None)[0] if units_file else None
    try:
        result = app.export(fmt, out, history, period=period, mapping=mapping, registry=registry)
    except (app.ExportError, app.ConfigError) as exc:
        raise CommandRefused(str(exc)) from None
    except Exception as exc:  # a store that cannot be opened, a full disk: say so plainly, exit 2
        click.secho(f"Lỗi nghiêm trọng, không xuất được: {_fatal_reason(exc)}.", fg="red", err=True)
        sys.exit(EXIT_FATAL)
    click.echo(f"Đã xuất {result.exported} giá trị ({fmt}), kỳ: {', '.join(result.periods) or 'không có'}.")
    if result.rejected:
        click.echo(f"Không gửi sang DHIS2 {result.rejected} giá trị bị lỗi: chỉ số liệu hợp lệ được xuất.")
    if result.problems:
        click.secho(f"Chưa xuất {result.unmapped} giá trị vì thiếu mã DHIS2 hoặc kỳ không hợp lệ:", fg="yellow", bold=True)
        for p in result.problems:
            click.echo(f"  [{click.style(p.severity_label, fg=COLORS[p.severity])}] {p.message}\n      Cách sửa: {p.how_to_fix}")
    click.echo("Kết quả:\n" + "\n".join(f"  {path}" for path in result.paths))
    sys.exit(EXIT_ERRORS if result.problems else EXIT_OK)
