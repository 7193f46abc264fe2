"""The command group with every command on it: each module below adds its commands to ``main``."""

from . import forms, reporting, serving, stored  # noqa: F401 - imported for the commands they add
from .group import main, run_console

__all__ = ["main", "run_console"]
