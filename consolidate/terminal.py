"""The clerk's terminal before anything else is loaded: Ctrl+C from the first moment, streams that never
fail on Vietnamese, and names shown with their control characters escaped.

Standard library only, and cheap: the console script imports this module, installs its Ctrl+C handler,
and only then imports click, the readers and the writers (~0.2 s, longer on a busy office computer).
A Ctrl+C in that time used to print Python's traceback; now it prints one Vietnamese line.

The phases of a command, as Ctrl+C sees them (``entry`` in cli/__init__.py moves between them):

- starting: nothing has been read or written; one line, and the process ends at once;
- running: Python's own handler, so KeyboardInterrupt unwinds what the command does (the output set
  is put back, click's context is closed) and the command says what is true at that moment;
- ending: the command has said its last word; a Ctrl+C while the interpreter shuts down (threads
  joined, workers stopped, objects collected) is ignored, never "Exception ignored … KeyboardInterrupt".
"""

from __future__ import annotations

import os
import re
import _thread
import signal
import sys
import threading
from contextlib import contextmanager
from typing import Iterator, TextIO

EXIT_INTERRUPTED = 130  # 128 + SIGINT, what shells report for a command stopped by Ctrl+C
INTERRUPTED = "Đã dừng theo yêu cầu (Ctrl+C); kết quả của lần chạy trước vẫn giữ nguyên."
PRESSED_AGAIN_AFTER = 0.05  # seconds: a Ctrl+C Python could not raise is sent again (interrupts_kept)
INTERRUPTED_STARTING = "Đã dừng theo yêu cầu (Ctrl+C) khi chương trình đang khởi động; chưa đọc và chưa ghi tệp nào."


# Streams that cannot fail on Vietnamese -------------------------------------------------------
#
# On Windows, Python writes a redirected stdout (``consolidate run inbox > ketqua.txt``, ``--json``
# piped to another program) in the ANSI code page: cp1258 on Vietnamese Windows, cp1252 elsewhere.
# Neither can encode NFC Vietnamese ("ế", even "ã" in cp1258), and a strict stream raises
# UnicodeEncodeError halfway through the summary, an exit code 1 that a script reads as
# "submissions have errors". So, before anything is printed:
#
# - a redirected stream that cannot carry Vietnamese is switched to UTF-8: what a program reading
#   ``--json`` expects, and what Notepad and every editor open;
# - a terminal that cannot show it (a legacy console code page) keeps its encoding and shows "?"
#   for what it lacks: UTF-8 bytes there would be garbage;
# - whatever the encoding, an unencodable character (a file name with undecodable bytes) is replaced,
#   never raised.
#
# The Windows console itself is not a problem: Python writes to it in UTF-16 whatever the code page.

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


# Names shown as they are, not as the terminal would obey them ---------------------------------
#
# A file name, a sheet name or a cell's text is the unit's, and a terminal obeys the control
# characters in it: ESC ] 0 ; … BEL retitles the window, ESC [ 1 A ESC [ 2 K erases the line above (an
# error line), ESC [ 8 m hides what follows, a right-to-left override shows "xslx.exe" for "exe.xlsx",
# a newline starts a line that looks like the tool's own. Every such character is printed as an
# escape instead: ESC as \x1b, U+202E as \u202e.

_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: object) -> str:
    """``text`` with every control character (C0, DEL, C1, line separators, bidirectional
    controls) written as a visible escape, so that printing it cannot drive the terminal."""
    return _CONTROLS.sub(_escaped, str(text))


# JSON escapes C0 controls itself; the others (DEL, C1, bidirectional) as \u escapes, which JSON reads back
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def json_visible(text: str) -> str:
    """JSON text (``json.dumps(..., ensure_ascii=False)``) with the control characters it leaves
    raw written as \\u escapes: the same data for a program, nothing a terminal obeys."""
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


# Ctrl+C, by phase ------------------------------------------------------------------------------


def _say_and_exit(line: str, code: int) -> None:
    """One line on stderr, then end the process at once: nothing is half done that needs undoing."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError, AttributeError):
            pass
    try:
        make_safe(sys.stderr)
        sys.stderr.write("\n" + line + "\n")  # below the "^C" the terminal printed
        sys.stderr.flush()
    except (OSError, ValueError, AttributeError):
        pass
    os._exit(code)


def _interrupted_while_starting(signum: int, frame: object) -> None:
    _say_and_exit(INTERRUPTED_STARTING, EXIT_INTERRUPTED)


def _ours_to_change() -> bool:
    """Whether this process's Ctrl+C is ours to handle: only the main thread may set a handler, and a
    command started with Ctrl+C ignored (a background job, nohup) keeps ignoring it."""
    return threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGINT) != signal.SIG_IGN


def starting() -> object:
    """Phase "starting" (see the module's docstring); the handler that was in place, for ``ended``."""
    if not _ours_to_change():
        return None
    return signal.signal(signal.SIGINT, _interrupted_while_starting)


def running() -> None:
    """Phase "running": Ctrl+C raises KeyboardInterrupt, which the command turns into its own line."""
    if signal.getsignal(signal.SIGINT) is _interrupted_while_starting and _ours_to_change():
        signal.signal(signal.SIGINT, signal.default_int_handler)


def ending() -> None:
    """Phase "ending": the command has said its last word and the interpreter shuts down next; a
    Ctrl+C from here on changes nothing, so it is ignored."""
    if threading.current_thread() is threading.main_thread() \
            and signal.getsignal(signal.SIGINT) in (_interrupted_while_starting, signal.default_int_handler):
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def restore(previous: object) -> None:
    """Put back the handler ``starting`` replaced: for a caller that goes on after the command (a test
    calling ``entry`` in its own process)."""
    if previous is not None and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, previous)  # type: ignore[arg-type]


@contextmanager
def interrupts_kept() -> Iterator[None]:
    """While the block runs, a Ctrl+C that landed where Python cannot raise it is pressed again.

    A KeyboardInterrupt raised inside a clean-up (``__del__``), a weakref callback or an at-fork hook
    (logging's, when the run forks its workbook writer) is "unraisable": Python printed "Exception
    ignored in: <function _releaseLock …> … KeyboardInterrupt" and went on as if nothing had been
    pressed. Sent again a moment later, from another thread (sent from here, it would be raised in
    this hook, unraisable again), it arrives where the command can stop and say so. Python sends
    nothing when Ctrl+C is ignored (the ending phase)."""
    previous = sys.unraisablehook

    def hook(unraisable: object) -> None:
        if isinstance(getattr(unraisable, "exc_value", None), KeyboardInterrupt) \
                or getattr(unraisable, "exc_type", None) is KeyboardInterrupt:
            again = threading.Timer(PRESSED_AGAIN_AFTER, _thread.interrupt_main)
            again.daemon = True
            again.start()
            return
        previous(unraisable)  # type: ignore[arg-type]

    sys.unraisablehook = hook
    try:
        yield
    finally:
        sys.unraisablehook = previous
