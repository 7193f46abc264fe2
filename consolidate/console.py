"""The terminal and the pipe: output that never fails on an encoding, and Ctrl+C said in Vietnamese.

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
