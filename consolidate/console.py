"""The terminal and the pipe: every line printed through one function that shows control characters
escaped (``say``); Ctrl+C, help pages and usage errors said in Vietnamese (click's own words are
English: see the second half). Streams that never fail on an encoding, and the escaping itself, are
in consolidate/terminal.py, which the console script loads before anything else.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable, NamedTuple, TextIO

import click

from .terminal import (EXIT_INTERRUPTED, INTERRUPTED, json_visible, make_safe, make_streams_safe,  # noqa: F401 - found here too
                       visible)


class Paint(NamedTuple):
    """A part of a line ``say`` prints in a colour of its own (a severity label)."""

    text: str
    fg: str | None = None
    bold: bool | None = None


def say(*parts: str | Paint, err: bool = False, fg: str | None = None, bold: bool | None = None) -> None:
    """Print one line made of ``parts``, each with its control characters escaped (terminal.visible):
    file, sheet and unit names and cell texts are the units', and ESC ] 0 ; … BEL in a name must show,
    not retitle the window. A newline in a part is escaped too: a line never turns into two, so a
    name cannot forge a line of the tool's. ``fg``/``bold`` colour the whole line, a Paint its part."""
    line = "".join(click.style(visible(p.text), fg=p.fg, bold=p.bold) if isinstance(p, Paint) else visible(p)
                   for p in parts)
    if fg is not None or bold is not None:
        line = click.style(line, fg=fg, bold=bold)
    click.echo(line, err=err)


# What a Ctrl+C leaves, as the command running knows it (``run`` once it may have replaced outputs); a
# Ctrl+C caught outside that command (while its exit unwinds, in click's own frames) still says it.
_what_interrupted_leaves: list[Callable[[], str]] = []


def interrupted_says(meaning: Callable[[], str]) -> None:
    """From now on in this process, a Ctrl+C is told by ``meaning()`` (the folder as it then is)."""
    _what_interrupted_leaves[:] = [meaning]


def interrupted_line() -> str:
    """The line for a Ctrl+C now: the running command's own, else INTERRUPTED."""
    try:
        return _what_interrupted_leaves[-1]() if _what_interrupted_leaves else INTERRUPTED
    except Exception:  # noqa: BLE001 - never a traceback for a Ctrl+C; the plain line is true enough
        return INTERRUPTED


class Interrupted(click.ClickException):
    """Ctrl+C: one Vietnamese line on stderr and exit 130, instead of click's "Aborted!" and 1
    (the code that means "submissions have errors"). The line says what is true at that moment
    (INTERRUPTED unless the command knows better: ``run`` once its new outputs are in place)."""

    exit_code = EXIT_INTERRUPTED

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message if message is not None else interrupted_line())

    def show(self, file: TextIO | None = None) -> None:
        file = file or sys.stderr
        click.echo(file=file)  # below the "^C" the terminal printed
        click.secho(visible(self.message), fg="yellow", file=file)


# click's own words, said in Vietnamese ---------------------------------------------
#
# click writes its help headings ("Usage:", "Options:", "Commands:"), the help option's text and its
# usage errors ("Error: Missing argument 'INBOX'.") in English, through gettext catalogs that no
# Vietnamese one exists for. A clerk reads all of them, so they are replaced here, at the boundary,
# with click's public hooks: a formatter and a context class, command classes that format their own
# sections, a path type with Vietnamese refusals, and the group's ``main`` printing usage errors.

HELP_TEXT = "Hiện hướng dẫn này rồi thoát."
VERSION_TEXT = "Hiện số phiên bản rồi thoát."
VERSION_MESSAGE = "%(prog)s, phiên bản %(version)s"
OPTIONS_METAVAR = "[TÙY_CHỌN]"
COMMAND_METAVAR = "LỆNH [THAM_SỐ]..."
FOLDER, FILE = "THƯ_MỤC", "TỆP"


class CommandRefused(click.UsageError):
    """A usage error in our own words (a units table refused, --out inside the inbox): printed as it is."""


class ValueRefused(click.BadParameter):
    """A value our own check refused, with its reason in Vietnamese: printed after the parameter's name."""


class PathRefused(ValueRefused):
    """A path option or argument that names nothing usable, said in Vietnamese by ``VietnamesePath``."""


class VietnameseFormatter(click.HelpFormatter):
    """click's formatter with "Cách dùng:" where click writes "Usage:"."""

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, args, "Cách dùng: " if prefix is None else prefix)


class VietnameseContext(click.Context):
    """A context whose help pages are laid out by ``VietnameseFormatter`` (click's public hook)."""

    formatter_class = VietnameseFormatter


class VietnamesePath(click.Path):
    """``click.Path`` whose refusals a clerk can read: "không tìm thấy thư mục …" for
    "Directory '…' does not exist.", and so on."""

    def __init__(self, folder: bool, must_exist: bool = True) -> None:
        super().__init__(exists=must_exist, file_okay=not folder, dir_okay=folder, path_type=Path)
        self.folder, self.must_exist = folder, must_exist

    def convert(self, value: str | Path, param: click.Parameter | None, ctx: click.Context | None) -> Path:
        what = "thư mục" if self.folder else "tệp"
        path = Path(value)
        if self.must_exist and not path.exists():
            raise PathRefused(f"không tìm thấy {what} “{value}”", ctx=ctx, param=param)
        if path.exists() and path.is_dir() != self.folder:
            other = "thư mục" if path.is_dir() else "tệp"
            raise PathRefused(f"“{value}” là một {other}, không phải {what}", ctx=ctx, param=param)
        try:
            return super().convert(value, param, ctx)
        except click.BadParameter:
            raise PathRefused(f"không đọc được {what} “{value}” (kiểm tra quyền truy cập)", ctx=ctx, param=param) from None


def _help_option(option: click.Option | None) -> click.Option | None:
    """click's help option (cached by the command) with a Vietnamese help text."""
    if option is not None:
        option.help = HELP_TEXT
    return option


def _options_section(command: click.Command, ctx: click.Context, formatter: click.HelpFormatter) -> None:
    """The options with their help, under a Vietnamese heading; no "[default: …]" (each help says it)."""
    rows = [row for param in command.get_params(ctx)
            if isinstance(param, click.Option) and (row := param.get_help_record(ctx)) is not None]
    if rows:
        with formatter.section("Tùy chọn"):
            formatter.write_dl(rows)


class VietnameseCommand(click.Command):
    """A command whose help, usage and usage errors are Vietnamese (see above)."""

    context_class = VietnameseContext

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("options_metavar", OPTIONS_METAVAR)
        super().__init__(*args, **kwargs)

    def get_help_option(self, ctx: click.Context) -> click.Option | None:
        return _help_option(super().get_help_option(ctx))

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        _options_section(self, ctx, formatter)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """Extra arguments are let through click's parser, then refused here in Vietnamese; the
        parser's own errors get this context, for the usage line and the option's kind."""
        ctx.allow_extra_args = True
        try:
            rest = super().parse_args(ctx, args)
        except click.UsageError as exc:
            if exc.ctx is None:
                exc.ctx = ctx
            raise
        if ctx.args and not ctx.resilient_parsing:
            raise CommandRefused(f"thừa tham số: {' '.join(ctx.args)}.", ctx)
        return rest


class VietnameseGroup(click.Group):
    """The command group: Vietnamese help, usage and usage errors; streams that cannot fail on
    Vietnamese before anything (even --help) is printed; Ctrl+C as one Vietnamese line and exit 130."""

    context_class = VietnameseContext
    command_class = VietnameseCommand

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("options_metavar", OPTIONS_METAVAR)
        kwargs.setdefault("subcommand_metavar", COMMAND_METAVAR)
        super().__init__(*args, **kwargs)

    def get_help_option(self, ctx: click.Context) -> click.Option | None:
        return _help_option(super().get_help_option(ctx))

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        _options_section(self, ctx, formatter)
        self.format_commands(ctx, formatter)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Each command with its whole short description (wrapped, never cut with "…")."""
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit=1000)))
        if rows:
            with formatter.section("Lệnh"):
                formatter.write_dl(rows)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args and self.no_args_is_help and not ctx.resilient_parsing:
            click.echo(ctx.get_help(), err=True, color=ctx.color)
            ctx.exit(2)  # what click ≥ 8.2 returns: the command was not complete
        return super().parse_args(ctx, args)

    def resolve_command(self, ctx: click.Context, args: list[str]) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0] if args else ""
        if name and not name.startswith("-") and self.get_command(ctx, name) is None and not ctx.resilient_parsing:
            known = ", ".join(self.list_commands(ctx))
            raise CommandRefused(f"không có lệnh “{name}”; các lệnh là: {known}.", ctx)
        return super().resolve_command(ctx, args)

    def main(self, *args: object, standalone_mode: bool = True, **kwargs: object) -> object:
        """click's ``main`` without its English: errors are caught here and said in Vietnamese."""
        make_streams_safe()
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        try:
            code = super().main(*args, standalone_mode=False, **kwargs)
        except click.UsageError as exc:
            show_usage_error(exc)
            sys.exit(exc.exit_code)
        except Interrupted as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            say(f"Lỗi: {exc.format_message()}", err=True)
            sys.exit(exc.exit_code)
        except click.Abort:  # Ctrl+C while click was still parsing
            click.secho(interrupted_line(), fg="yellow", err=True)
            sys.exit(EXIT_INTERRUPTED)
        sys.exit(code if isinstance(code, int) else 0)

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            raise Interrupted() from None


def _param_label(param: click.Parameter | None) -> str:
    """How the help names a parameter: "--units" for an option, its metavar (THƯ_MỤC) for an argument."""
    if param is None:
        return ""
    if isinstance(param, click.Option):
        return max(param.opts, key=len)
    return param.metavar or (param.name or "").upper()


def usage_message(exc: click.UsageError) -> str:
    """A usage error in Vietnamese: ours as written, click's rebuilt from the exception's own fields."""
    if isinstance(exc, CommandRefused):
        return exc.message
    label = _param_label(getattr(exc, "param", None))
    if isinstance(exc, click.MissingParameter):
        return f"thiếu {label}." if label else "thiếu tham số."
    if isinstance(exc, ValueRefused):
        return f"{label}: {exc.message}." if label else f"{exc.message}."
    if isinstance(exc, click.BadParameter):
        return f"giá trị của {label} không hợp lệ." if label else "giá trị không hợp lệ."
    if isinstance(exc, click.NoSuchOption):
        close = f"; có phải: {', '.join(exc.possibilities)}?" if exc.possibilities else "."
        return f"không có tùy chọn “{exc.option_name}”{close}"
    if isinstance(exc, click.BadOptionUsage):
        option = next((p for p in (exc.ctx.command.params if exc.ctx else []) if isinstance(p, click.Option)
                       and exc.option_name in p.opts), None)
        if option is not None and option.is_flag:
            return f"tùy chọn “{exc.option_name}” không nhận giá trị."
        return f"tùy chọn “{exc.option_name}” cần một giá trị ngay sau nó."
    return "lệnh gõ chưa đúng."


def show_usage_error(exc: click.UsageError) -> None:
    """The usage, where to find help and what is wrong, on stderr, as click lays them out."""
    ctx = exc.ctx
    if ctx is not None:
        click.echo(ctx.get_usage(), err=True, color=ctx.color)
        if ctx.command.get_help_option(ctx) is not None:
            help_name = max(ctx.help_option_names, key=len)
            say(f"Gõ “{ctx.command_path} {help_name}” để xem hướng dẫn.", err=True)
        click.echo(err=True)
    message = usage_message(exc)
    say(f"Lỗi: {message[0].upper()}{message[1:]}", err=True)
