"""The read floor: a fresh process that only lists the inbox and reads every cell value.

    python floor_read.py calamine INBOX   # python-calamine, every sheet .to_python()
    python floor_read.py openpyxl INBOX   # openpyxl read_only=True, data_only=True (the tool's reader)

Imports nothing but the reader (os and sys are loaded by the interpreter
anyway). Prints "files cells" on stdout; exit 3 when the reader is missing.
Only for the synthetic files of run.py: python-calamine aborts the whole
process on a sheet with a stray value at XFD1048576 (see field notes).
"""

import os
import sys


def files(inbox):
    out = []
    for root, _dirs, names in os.walk(inbox):
        out.extend(os.path.join(root, n) for n in names if n.endswith((".xlsx", ".xlsm")))
    return sorted(out)


def read_calamine(paths):
    from python_calamine import CalamineWorkbook

    cells = 0
    for p in paths:
        wb = CalamineWorkbook.from_path(p)
        for name in wb.sheet_names:
            for row in wb.get_sheet_by_name(name).to_python():
                cells += len(row)
    return cells


def read_openpyxl(paths):
    import openpyxl

    cells = 0
    for p in paths:
        wb = openpyxl.load_workbook(p, read_only=True, data_only=True)
        for ws in wb.worksheets:
            for row in ws.iter_rows(values_only=True):
                cells += len(row)
        wb.close()
    return cells


def main():
    reader, inbox = sys.argv[1], sys.argv[2]
    fn = {"calamine": read_calamine, "openpyxl": read_openpyxl}[reader]
    paths = files(inbox)
    try:
        cells = fn(paths)
    except ImportError as exc:
        print(f"not installed: {exc}", file=sys.stderr)
        sys.exit(3)
    print(len(paths), cells)


if __name__ == "__main__":
    main()
