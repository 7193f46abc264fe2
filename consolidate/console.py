"""The terminal and the pipe: output that never fails on an encoding; Ctrl+C, help pages and usage errors
said in Vietnamese (click's own words are English: see the second half).

On Windows, Python writes a redirected stdout (``consolidate run inbox > ketqua.txt``, ``--json``
piped to another program) in the ANSI code page: cp1258 on Vietnamese Windows, cp1252 elsewhere.
Neither can encode NFC Vietnamese ("ế", even "ã" in cp1258), and a strict stream raises
UnicodeEncodeError halfway through the summary, an exit code 1 that a script reads as
"submissions have errors". So, before anything is printed:

- a redirected stream that cannot carry Vietnamese is switched to UTF-8: what a program reading
  ``--json`` expects, and what Notepad and every editor open;
- a terminal that cannot show it (a legacy console code page) keeps its encoding and shows "?"
  for what it lacks: UTF-8 bytes there would be garbage;
- whatever the encoding, an unencodable character (a file name with undecodable bytes) is replaced,
  never raised.

The Windows console itself is not a problem: Python writes to it in UTF-16 whatever the code page.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

import click

EXIT_INTERRUPTED = 130  # 128 + SIGINT, what shells report for a command stopped by Ctrl+C
INTERRUPTED = "Đã dừng theo yêu cầu (Ctrl+C); kết quả của lần chạy trước vẫn giữ nguyên."

# Every precomposed Vietnamese letter, and the punctuation the messages use.
_VIETNAMESE = ("".join(chr(c) for c in range(0x1EA0, 0x1EFA))
               + "ÀÁÂÃÈÉÊÌÍÒÓÔÕÙÚÝàáâãèéêìíòóôõùúýĂăĐđĨĩŨũƠơƯư“”–…×≠→·")


def _can_carry_vietnamese(encoding: str) -> bool:
    try:
        _VIETNAMESE.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def make_safe(stream: TextIO | None) -> None:
    """Reconfigure one text stream so that writing Vietnamese to it can never raise (see above)."""
    reconfigure = getattr(stream, "reconfigure", None)
    encoding = getattr(stream, "encoding", None)
    if reconfigure is None or not encoding:
        return  # not a text file of ours (a test's capture, a closed stream): leave it
    try:
        if _can_carry_vietnamese(encoding):
            if getattr(stream, "errors", "strict") == "strict":
                reconfigure(errors="replace")
        elif stream.isatty():
            reconfigure(errors="replace")
        else:
            reconfigure(encoding="utf-8", errors="replace")
    except (ValueError, OSError):  # closed or detached
        pass


def make_streams_safe() -> None:
    """stdout and stderr, before the first line is printed."""
    make_safe(sys.stdout)
    make_safe(sys.stderr)


class Interrupted(click.ClickException):
    """Ctrl+C: one Vietnamese line on stderr and exit 130, instead of click's "Aborted!" and 1
    (the code that means "submissions have errors")."""

    exit_code = EXIT_INTERRUPTED

    def __init__(self) -> None:
        super().__init__(INTERRUPTED)

    def show(self, file: TextIO | None = None) -> None:
        file = file or sys.stderr
        click.echo(file=file)  # below the "^C" the terminal printed
        click.secho(self.message, fg="yellow", file=file)


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
            click.echo(f"Lỗi: {exc.format_message()}", err=True)
            sys.exit(exc.exit_code)
        except click.Abort:  # Ctrl+C while click was still parsing
            click.secho(INTERRUPTED, fg="yellow", err=True)
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
            click.echo(f"Gõ “{ctx.command_path} {help_name}” để xem hướng dẫn.", err=True)
        click.echo(err=True)
    message = usage_message(exc)
    click.echo(f"Lỗi: {message[0].upper()}{message[1:]}", err=True)
