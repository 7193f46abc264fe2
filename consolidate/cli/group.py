"""The `consolidate` command group and what its commands share: options, loading, exit codes, plain failures."""

from __future__ import annotations

import gc
import sys
from pathlib import Path

import click

from .. import app
from ..terminal import interrupts_kept
from ..console import (EXIT_INTERRUPTED, FILE, INTERRUPTED, interrupted_line, VERSION_MESSAGE, VERSION_TEXT, CommandRefused, VietnameseGroup,
                       VietnamesePath, say)
from ..core import problems as P
from ..core.quiet import quiet_cleanup
from ..core.registry import Registry, ReportSettings


EXIT_OK, EXIT_ERRORS, EXIT_FATAL = 0, 1, 2


STORE = "TỆP_HOẶC_URL"


SHOWN_PROBLEMS = 20


COLORS = {P.ERROR: "red", P.WARNING: "yellow", P.INFO: "cyan"}


def inside(path: Path, folder: Path) -> bool:
    path, folder = path.resolve(), folder.resolve()
    return path == folder or folder in path.parents


def settings_options(f):
    """--units and --config, shared by the commands that need to know the units and the report."""
    f = click.option("--config", "config_file", type=VietnamesePath(folder=False), metavar=FILE,
                     help="Tệp cấu hình báo cáo (.toml): số, ngày, tiêu đề, kỳ báo cáo, chỉ tiêu tỉnh giao.")(f)
    f = click.option("--units", "units_file", type=VietnamesePath(folder=False), metavar=FILE,
                     help="Danh sách đơn vị (.csv hoặc .xlsx): mã, tên, cấp, mã đơn vị cấp trên.")(f)
    return f


def load_or_refuse(units_file: Path | None, config_file: Path | None) -> tuple[Registry, ReportSettings]:
    """The registry and settings the options name, else the embedded Tuy Phước sample; a bad file stops here."""
    try:
        return app.load(units_file, config_file)
    except app.ConfigError as exc:
        raise CommandRefused(str(exc)) from None


def run_console(args: list[str] | None = None) -> None:
    """``main`` as the console script runs it (cli.entry), then an exit with the run's objects out of
    the cycle collector's sight. Its last walks over them at interpreter exit took ~0.5 s at
    N = 10,000, for memory the process is about to give back anyway. (Tests call ``main``
    in-process and keep collecting.)"""
    try:
        # a library object's failing clean-up is no news for the clerk (core/quiet.py); a Ctrl+C is
        with quiet_cleanup(), interrupts_kept():
            main(args)
    except KeyboardInterrupt:  # before click had a context (while parsing), or a second Ctrl+C: the same line
        click.echo(file=sys.stderr)
        say(interrupted_line(), fg="yellow", err=True)
        sys.exit(EXIT_INTERRUPTED)
    finally:
        gc.freeze()


@click.group(name="consolidate", cls=VietnameseGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="consolidate", message=VERSION_MESSAGE, help=VERSION_TEXT)
def main() -> None:
    """Gộp báo cáo Excel của các đơn vị thành một bảng tổng hợp đã kiểm tra."""


def fatal_reason(exc: Exception) -> str:
    """What stopped the run, in Vietnamese: the exception's own text is English. Its type is kept,
    as a code to quote when asking for help."""
    from ..write.files import os_reason  # start-up: only when a run failed

    if isinstance(exc, MemoryError):
        return "máy không đủ bộ nhớ"
    if isinstance(exc, OSError):
        where = f" (“{exc.filename}”)" if isinstance(exc.filename, str) else ""
        return f"{os_reason(exc)}{where}; kiểm tra ổ đĩa và quyền ghi rồi chạy lại"
    return f"lỗi của chương trình (mã {type(exc).__name__}); hãy báo cho người quản trị"
