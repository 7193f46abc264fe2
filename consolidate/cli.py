"""The command line: parse options, call the library, print in Vietnamese, set the exit code."""

from __future__ import annotations

import gc
import json
import sys
import unicodedata
from pathlib import Path

import click

from . import app
from .console import (EXIT_INTERRUPTED, FILE, FOLDER, INTERRUPTED, VERSION_MESSAGE, VERSION_TEXT, CommandRefused, ValueRefused,
                      VietnameseGroup, VietnamesePath)
from .core import problems as P
from .core.registry import Registry, ReportSettings
from .core.records import Submission
from .core.results import MISSING, STATUS_LABELS, UNUSABLE, RunResult
from .core.summary import summarize
from .export import FORMATS as EXPORT_FORMATS, PERIOD_EXAMPLES, is_dhis2_period

EXIT_OK, EXIT_ERRORS, EXIT_FATAL = 0, 1, 2
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
              help="Bảng tổng hợp kỳ trước, để cảnh báo số liệu thay đổi bất thường.")
@click.option("--quiet", "-q", is_flag=True, help="Không in gì, chỉ trả mã thoát (dùng trong script).")
@click.option("--json", "as_json", is_flag=True, help="In bản tóm tắt dạng JSON (dùng cho chương trình khác).")
def run(inbox: Path, out: Path, units_file: Path | None, config_file: Path | None, previous: Path | None,
        quiet: bool, as_json: bool) -> None:
    """Đọc, kiểm tra và tổng hợp mọi báo cáo trong THƯ_MỤC (thư mục chứa các tệp nhận về).

    Ví dụ: consolidate run inbox/ --out outbox/
    """
    if _inside(out, inbox):
        raise CommandRefused("Thư mục kết quả (--out) không được nằm trong thư mục báo cáo nhận về.")
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
        result = app.run(inbox, registry, settings, previous=previous, progress=progress if show_progress else None)
        if bar is not None:
            bar.render_finish()
        paths, unaccounted = app.write(result, out)
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
    click.echo("Kết quả:")
    for path in summary["outputs"].values():
        click.echo(f"  {path}")


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
    return {"file": sub.name, "units": list(dict.fromkeys(u.name for u in sub.units)),
            "verdict": CHECK_VERDICTS[worst], **_check_counts(found), "problems": [p.as_row() for p in found]}


def _print_check(sub: Submission, found: list[P.Problem]) -> None:
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
        if p.severity != P.INFO and p.how_to_fix:
            click.echo(f"      Cách sửa: {p.how_to_fix}")


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
