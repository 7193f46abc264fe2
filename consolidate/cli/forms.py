"""`consolidate form`: the report definitions the tool knows, and checking one before it is used."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..console import FILE, VietnameseGroup, VietnamesePath, say
from ..settings.definition import load_definition, shipped_definitions, summary
from ..settings.units import ConfigError
from .group import EXIT_FATAL, main


@main.group(name="form", cls=VietnameseGroup, short_help="Các định nghĩa báo cáo: xem danh sách, kiểm tra một tệp định nghĩa.")
def form() -> None:
    """Định nghĩa báo cáo (tệp .toml): các biểu mẫu, cột, quy tắc kiểm tra và cách tổng hợp của một báo cáo.

    \b
    Ví dụ:
      consolidate form list
      consolidate form check bao-cao-moi.toml
    """


@form.command(name="list", short_help="Liệt kê các báo cáo có sẵn: tên, số, tiêu đề.")
def list_definitions() -> None:
    """Liệt kê các định nghĩa báo cáo có sẵn trong chương trình: tên, số báo cáo và tiêu đề.

    \b
    Ví dụ:
      consolidate form list
    """
    for path in shipped_definitions():
        try:
            report = load_definition(path)
        except ConfigError as exc:  # a broken installation: said, and the others still listed
            say(f"Lỗi: {exc.message}", fg="red", err=True)
            continue
        say(f"{report.key}  {report.number}  {report.title}")


@form.command(name="check", short_help="Kiểm tra một tệp định nghĩa báo cáo (.toml).")
@click.argument("path", type=VietnamesePath(folder=False), metavar=FILE)
def check_definition(path: Path) -> None:
    """Kiểm tra một tệp định nghĩa báo cáo: mọi khóa, kiểu, quy tắc và cách trình bày. Tệp đúng: in một dòng
    tóm tắt (mã thoát 0); tệp sai: in lỗi kèm số dòng (mã thoát 2).

    \b
    Ví dụ:
      consolidate form check bao-cao-moi.toml
    """
    try:
        report = load_definition(path)
    except ConfigError as exc:
        say(f"Lỗi: {exc.message}", fg="red", err=True)
        sys.exit(EXIT_FATAL)
    say(summary(report))
