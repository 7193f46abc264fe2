
from .core.quiet import silence_library_warnings as _silence

_silence()  # openpyxl's reading warnings are noise on a clerk's console (see quiet.py)
