"""The command line: parse options, call the library, print in Vietnamese, set the exit code."""

from __future__ import annotations

from .. import terminal

__all__ = ["entry", "main"]


def entry(args: list[str] | None = None) -> None:
    """The console script (setup.cfg) and ``python -m consolidate``.

    Ctrl+C is handled before anything heavy is imported (see consolidate/terminal.py): the commands,
    click, the readers and the writers take ~0.2 s to load, and a Ctrl+C then printed a traceback.
    The console script calls this without ``args`` and ends right after: a Ctrl+C while the
    interpreter shuts down is ignored. A caller passing ``args`` gets its own handler back."""
    previous = terminal.starting()
    try:
        # start-up: the commands load only once Ctrl+C is handled (this module stays cheap to import)
        from .commands import run_console

        terminal.running()
        run_console(args)
    finally:
        if args is None:
            terminal.ending()
        else:
            terminal.restore(previous)


def __getattr__(name: str) -> object:
    """``main``, the command group, loaded on first use (tests and other programs import it)."""
    if name == "main":
        # first use: the commands are loaded only when asked for (see entry)
        from .commands import main

        return main
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
