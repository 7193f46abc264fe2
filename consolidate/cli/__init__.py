"""The command line: parse options, call the library, print in Vietnamese, set the exit code."""

from . import forms, reporting, serving, stored  # noqa: F401 - each module adds its commands to ``main``
from .group import entry, main

__all__ = ["entry", "main"]
