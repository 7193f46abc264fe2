"""`consolidate history` and `export`: what earlier runs stored, read back or written out for other systems."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import NoReturn

import click

from .. import app
from ..console import FILE, FOLDER, CommandRefused, Paint, ValueRefused, VietnamesePath, json_visible, say
from ..core.formats import HISTORY_NAME
from ..core.numbers import format_number
from ..core.observations import ACCEPTED, HistoryError
from ..export import PERIOD_EXAMPLES, canonical_period
from ..stored import EXPORT_FORMATS
from .group import COLORS, EXIT_ERRORS, EXIT_FATAL, EXIT_OK, STORE, fatal_reason, load_or_refuse, main

DEFAULT_HISTORY = Path("outbox") / HISTORY_NAME  # where `run` records by default (its --out is outbox)


def default_history() -> Path:
    """The store `run` wrote with its default --out, seen from where the clerk is: outbox/lich-su.sqlite from the
    folder `run` ran in, lich-su.sqlite from inside outbox/ itself (where the clerk opened the results)."""
    here = Path(HISTORY_NAME)
    return here if not DEFAULT_HISTORY.is_file() and here.is_file() else DEFAULT_HISTORY


@main.command(short_help="Xem lịch sử số liệu các kỳ: các kỳ và đơn vị đã lưu, hoặc số liệu một đơn vị qua các kỳ.")
@click.option("--unit", "unit", metavar="MÃ", help="Mã đơn vị (như trong danh sách đơn vị) để xem số liệu qua các kỳ.")
@click.option("--history", "history", metavar=STORE,
              help=f"Nơi lưu lịch sử: một tệp SQLite hoặc địa chỉ postgresql://… (mặc định: {DEFAULT_HISTORY}).")
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
        data = app.history(history or default_history(), unit)
    except LookupError as exc:
        raise CommandRefused(str(exc.args[0])) from None
    except HistoryError as exc:
        _store_failed(exc)
    except Exception as exc:  # a bug or a failing disk: said plainly, exit 2, never a traceback
        say(f"Lỗi nghiêm trọng, không đọc được lịch sử: {fatal_reason(exc)}.", fg="red", err=True)
        sys.exit(EXIT_FATAL)
    if as_json:
        click.echo(json_visible(json.dumps(data, ensure_ascii=False, indent=2)))
    elif unit is None:
        _print_stored(data)
    else:
        _print_series(data)


def _store_failed(exc: HistoryError) -> NoReturn:
    """A store that cannot be read (bad address, wrong password, server unreachable, damaged file): why, exit 2."""
    say(f"Không đọc được lịch sử {exc.store}: {exc.reason}.", fg="red", err=True)
    sys.exit(EXIT_FATAL)


def _print_stored(data: dict) -> None:
    say(f"Lịch sử: {data['store']}")
    if not data["periods"]:
        say("Chưa có kỳ nào được lưu.")
        return
    say(f"Các kỳ đã lưu ({len(data['periods'])}):")
    say(f"  {'Kỳ':<8} {'Đơn vị':>7} {'Số liệu hợp lệ':>15} {'Số liệu lỗi':>12}  Lưu lúc")
    for p in data["periods"]:
        say(f"  {p['period']:<8} {p['units']:>7} {p['accepted']:>15} {p['rejected']:>12}  {p['run_time']}")
    say(f"Các đơn vị ({len(data['units'])}):")
    width = max(len(u["code"]) for u in data["units"])
    for u in data["units"]:
        say(f"  {u['code']:<{width}}  {u['name']} – {len(u['periods'])} kỳ: {', '.join(u['periods'])}")
    say("Xem số liệu một đơn vị qua các kỳ: consolidate history --unit MÃ")


def _print_series(data: dict) -> None:
    """One row per field, one column per period: the unit's figures over time; a rejected figure as "lỗi"."""
    periods = data["periods"]
    say(f"{data['unit']['name']} (mã {data['unit']['code']}): số liệu qua {len(periods)} kỳ, lịch sử {data['store']}")
    rows: dict[str, dict[str, str]] = {}
    for v in data["values"]:
        shown = format_number(v["value"]) if v["status"] == ACCEPTED else f"lỗi ({v['problem']})"
        rows.setdefault(v["label"], {})[v["period"]] = shown
    width = max(len(label) for label in rows)
    cols = [max(len(p), *(len(r.get(p, "")) for r in rows.values())) for p in periods]
    say(f"  {'Chỉ tiêu':<{width}}  " + "  ".join(f"{p:>{w}}" for p, w in zip(periods, cols)))
    for label, by_period in rows.items():
        say(f"  {label:<{width}}  " + "  ".join(f"{by_period.get(p, '–'):>{w}}" for p, w in zip(periods, cols)))




def _export_format(ctx: click.Context, param: click.Parameter, value: str | None) -> str:
    """One of the export formats, any case; said in Vietnamese otherwise (click.Choice's refusal is English)."""
    if value is None:  # not `required=True`: click would print "[required]" in the help
        raise click.MissingParameter(ctx=ctx, param=param)
    if value.strip().lower() not in EXPORT_FORMATS:
        raise ValueRefused(f"“{value}” không phải định dạng xuất; chọn một trong: {', '.join(EXPORT_FORMATS)}")
    return value.strip().lower()


def _export_period(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A DHIS2 period code in the form the history stores it (2024-08 → 202408), checked before the store is opened."""
    if value is None:
        return None
    code = canonical_period(value)
    if code is None:
        raise ValueRefused(f"“{value}” không phải mã kỳ của DHIS2; các dạng được nhận: {PERIOD_EXAMPLES}")
    return code


@main.command(short_help="Xuất số liệu đã lưu trong lịch sử ra CSV, gói dữ liệu hoặc DHIS2.")
@click.option("--format", "fmt", callback=_export_format, metavar="ĐỊNH_DẠNG",
              help="Bắt buộc: csv, xlsx, datapackage, dhis2-json hoặc dhis2-csv.")
@click.option("--period", callback=_export_period, metavar="KỲ",
              help="Chỉ xuất một kỳ, theo mã kỳ của DHIS2 (2024S1, 2024Q3, 202408 hoặc 2024-08, 2024); "
                   "mặc định: mọi kỳ đã lưu.")
@click.option("--history", metavar="TỆP_HOẶC_URL",
              help=f"Kho lịch sử: tệp SQLite hoặc địa chỉ postgresql://… (mặc định: {DEFAULT_HISTORY}).")
@click.option("--mapping", type=VietnamesePath(folder=False), metavar=FILE,
              help="Tệp ánh xạ mã DHIS2 (dhis2-anh-xa.csv do lệnh init tạo); bắt buộc với dhis2-json và dhis2-csv.")
@click.option("--attribute-option-combo", "aoc", default="", metavar="MÃ",
              help="DHIS2: mã (hoặc UID) tổ hợp thuộc tính (attributeOptionCombo) cho mọi giá trị; mặc định: không ghi.")
@click.option("--units", "units_file", type=VietnamesePath(folder=False), metavar=FILE,
              help="Danh sách đơn vị (.csv hoặc .xlsx), để điền tên đơn vị còn thiếu trong lịch sử.")
@click.option("--out", "out", type=VietnamesePath(folder=True, must_exist=False), metavar=FOLDER,
              default=Path("outbox/xuat"), help="Thư mục ghi tệp xuất (mặc định: outbox/xuat).")
def export(fmt: str, period: str | None, history: str | None, mapping: Path | None, aoc: str, units_file: Path | None,
           out: Path) -> None:
    """Xuất số liệu đã lưu trong lịch sử (do lệnh run ghi): csv (bảng dạng dài, mỗi dòng một giá trị, để mở bằng
    Excel), xlsx (cùng bảng đó dạng sổ Excel, mở thẳng bằng Excel hoặc LibreOffice), datapackage (gói dữ liệu
    Frictionless: goi-so-lieu.csv kèm datapackage.json), dhis2-json hoặc dhis2-csv (giá trị dữ liệu DHIS2 theo
    mã hoặc UID trong tệp ánh xạ; chỉ số liệu hợp lệ, giá trị chưa có mã được liệt kê, không bị đoán mã).

    \b
    Ví dụ:
      consolidate export --format csv --period 2024S1 --out xuat/
      consolidate export --format dhis2-json --mapping cau-hinh/dhis2-anh-xa.csv --out xuat/
    """
    registry = load_or_refuse(units_file, None)[0] if units_file else None
    try:
        result = app.export(fmt, out, history or default_history(), period=period, mapping=mapping, registry=registry,
                            attribute_option_combo=aoc)
    except (app.ExportError, app.ConfigError) as exc:
        raise CommandRefused(str(exc)) from None
    except HistoryError as exc:  # the store cannot be read: why, as `history` says it
        _store_failed(exc)
    except Exception as exc:  # a store that cannot be opened, a full disk: say so plainly, exit 2
        say(f"Lỗi nghiêm trọng, không xuất được: {fatal_reason(exc)}.", fg="red", err=True)
        sys.exit(EXIT_FATAL)
    say(f"Đã xuất {result.exported} giá trị ({fmt}), kỳ: {', '.join(result.periods) or 'không có'}.")
    if result.rejected:
        say(f"Không gửi sang DHIS2 {result.rejected} giá trị bị lỗi: chỉ số liệu hợp lệ được xuất.")
    if result.problems:
        say(f"Chưa xuất {result.unmapped} giá trị vì thiếu mã DHIS2 hoặc kỳ không hợp lệ:", fg="yellow", bold=True)
        for p in result.problems:
            say("  [", Paint(p.severity_label, fg=COLORS[p.severity]), f"] {p.message}")
            say(f"      Cách sửa: {p.how_to_fix}")
    _say_dhis2_notes(result)
    say("Kết quả:")
    for path in result.paths:
        say(f"  {path}")
    sys.exit(EXIT_ERRORS if result.problems else EXIT_OK)


def _say_dhis2_notes(result: app.ExportResult) -> None:
    """What a DHIS2 import of these files will do that the clerk would not guess: zeros, stale values, how to send."""
    if result.zeros:
        say(f"Có {result.zeros} giá trị bằng 0: DHIS2 chỉ lưu số 0 khi phần tử dữ liệu được đặt “Lưu giá trị 0” "
                   "(zeroIsSignificant); nếu không, DHIS2 bỏ qua các số 0 này.")
    if result.deletions:
        say(f"{result.deletions} giá trị đã xuất lần trước nay không còn số liệu hợp lệ (ô để trống hoặc bị "
                    "lỗi): DHIS2 vẫn giữ giá trị cũ cho tới khi gửi tệp dhis2-xoa (importStrategy=DELETE).",
                    fg="yellow")
    if result.commands:
        say("Gửi sang DHIS2 (chạy thử với dryRun=true, xem báo cáo nhập rồi bỏ dryRun=true để nhập thật):")
        for line in result.commands:
            say(f"  {line}")
