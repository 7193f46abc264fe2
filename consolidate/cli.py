"""The command line: parse options, call the library, print in Vietnamese, set the exit code."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from . import pipeline
from .accounting import violations
from .outputs import write_outputs
from .registry import default_registry, default_settings
from .template_writer import write_templates

EXIT_OK, EXIT_ERRORS, EXIT_FATAL = 0, 1, 2
SHOWN_PROBLEMS = 20


def _inside(path: Path, folder: Path) -> bool:
    path, folder = path.resolve(), folder.resolve()
    return path == folder or folder in path.parents


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="consolidate")
def main() -> None:
    """Gộp báo cáo Excel của các đơn vị thành một bảng tổng hợp đã kiểm tra."""


@main.command()
@click.argument("inbox", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), default=Path("outbox"),
              show_default=True, help="Thư mục ghi kết quả.")
def run(inbox: Path, out: Path) -> None:
    """Đọc, kiểm tra và tổng hợp mọi báo cáo trong thư mục INBOX.

    Ví dụ: consolidate run inbox/ --out outbox/
    """
    if _inside(out, inbox):
        raise click.UsageError("Thư mục kết quả (--out) không được nằm trong thư mục báo cáo nhận về.")
    try:
        result = pipeline.run(inbox)
        paths = write_outputs(result, out)
        unaccounted = violations(result)
    except Exception as exc:  # a bug or a full disk: say so plainly, exit 2
        click.secho(f"Lỗi nghiêm trọng, không tổng hợp được: {type(exc).__name__}: {exc}", fg="red", err=True)
        sys.exit(EXIT_FATAL)

    read = len(result.submissions)
    skipped = len(result.files) - read
    click.echo(f"Đã đọc {read} tệp báo cáo trong {inbox}" + (f" (bỏ qua {skipped} tệp khác)." if skipped else "."))
    click.echo(f"Đơn vị đã báo cáo: {result.count(pipeline.REPORTED)}/{len(result.status)}.")
    for state in (pipeline.MISSING, pipeline.UNUSABLE):
        names = [result.registry_name(code) for code, s in result.status.items() if s.state == state]
        if names:
            click.echo(f"{pipeline.STATUS_LABELS[state]}: {', '.join(names)}.")
    errors, warnings, notes = result.errors, result.warnings, result.notes
    color = "red" if errors else ("yellow" if warnings else "green")
    click.secho(
        f"Lỗi: {len(errors)} · Cảnh báo: {len(warnings)}" + (f" · Thông tin: {len(notes)}" if notes else ""),
        fg=color, bold=True,
    )
    shown = [p for p in result.problems if p.severity != "info"][:SHOWN_PROBLEMS]
    for p in shown:
        where = " ".join(x for x in (p.file, f"{p.sheet}!{p.cell}" if p.cell else p.sheet) if x)
        click.echo(f"  [{p.severity_label}] {where} – {p.unit + ': ' if p.unit else ''}{p.message}")
    rest = len(errors) + len(warnings) - len(shown)
    if rest > 0:
        click.echo(f"  … và {rest} mục khác, xem nhật ký lỗi.")
    click.echo("Kết quả:")
    for path in paths.values():
        click.echo(f"  {path}")
    if unaccounted:
        click.secho("Kiểm tra đối soát KHÔNG đạt: có tệp hoặc đơn vị không được tổng hợp mà cũng không có trong nhật ký:",
                    fg="red", bold=True, err=True)
        for line in unaccounted:
            click.echo(f"  {line}", err=True)
        sys.exit(EXIT_FATAL)
    sys.exit(EXIT_ERRORS if errors else EXIT_OK)


@main.command()
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), default=Path("outbox/mau-bao-cao"),
              show_default=True, help="Thư mục ghi các tệp mẫu.")
def template(out: Path) -> None:
    """Tạo tệp mẫu báo cáo (đã điền tên đơn vị) cho từng đơn vị.

    Ví dụ: consolidate template --out mau/
    """
    paths = write_templates(default_registry(), default_settings(), out)
    click.echo(f"Đã tạo {len(paths)} tệp mẫu trong {out}:")
    for p in paths:
        click.echo(f"  {p.name}")
