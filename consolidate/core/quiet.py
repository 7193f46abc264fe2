"""Keep libraries' own chatter off the clerk's console: only the tool's Vietnamese lines belong there.

openpyxl warns about workbook features it drops while *reading* ("Data Validation
extension is not supported…"), which changes nothing for us: we only read the
values. A zip or workbook object that a library leaves half-built is closed by
the garbage collector, and an error there prints "Exception ignored in … Traceback"
although nothing went wrong for the run. A clerk reads either as a crash.
"""

from __future__ import annotations

import sys
import warnings
from contextlib import contextmanager
from typing import Iterator

# Libraries whose clean-up errors mean nothing to the user (the file was already dealt with).
_LIBRARIES = ("zipfile", "openpyxl", "et_xmlfile", "defusedxml", "xml.", "python_calamine", "xlsxwriter")


def silence_library_warnings() -> None:
    """openpyxl's UserWarnings about features it does not keep while reading, process-wide."""
    warnings.filterwarnings("ignore", category=UserWarning, module=r"openpyxl(\.|$)")


def _from_library(unraisable: object) -> bool:
    """Whether the failing clean-up (usually a ``__del__``) belongs to one of _LIBRARIES."""
    obj = getattr(unraisable, "object", None)
    module = (getattr(obj, "__module__", None) if callable(obj) else None) or type(obj).__module__ or ""
    qualname = getattr(obj, "__qualname__", "") or ""
    return module.startswith(_LIBRARIES) or qualname.startswith(("ZipFile", "ZipExtFile", "_SharedFile"))


@contextmanager
def quiet_cleanup() -> Iterator[None]:
    """While the block runs, exceptions raised during a library object's clean-up are dropped;
    any other unraisable exception is reported as usual."""
    previous = sys.unraisablehook

    def hook(unraisable: object) -> None:
        if not _from_library(unraisable):
            previous(unraisable)  # type: ignore[arg-type]

    sys.unraisablehook = hook
    try:
        yield
    finally:
        sys.unraisablehook = previous
