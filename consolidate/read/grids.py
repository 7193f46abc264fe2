"""The values of a workbook's sheets as bounded grids, and a cell's value read as a number."""

from __future__ import annotations

from typing import NamedTuple

from ..core.numbers import interpret
from ..core.text import clean, fold

# A template's tables sit in the first few dozen rows and ten columns (a province's
# roll-up in a few hundred rows); reading
# is bounded so a sheet with junk to XFD1048576 cannot stall the run.
MAX_ROWS = 2000
MAX_COLS = 60
HEADER_SCAN_ROWS = 60
# The volume of text is bounded too: 12,000 cells showing one 1 MB shared string once kept a check
# busy for minutes. The template's longest text (a header, a unit name, a log message) is a few
# hundred characters, and a province's roll-up holds well under a million in all; past the file's
# budget only short texts ("Lỗi", a code) are kept, so counting the log's rows still works.
MAX_CELL_CHARS = 1_000
MAX_FILE_CHARS = 1_000_000
SHORT_TEXT_CHARS = 16


class GridCell(NamedTuple):
    value: object
    number_format: str = "General"


class Grid:
    """The values of one sheet, bounded to MAX_ROWS × MAX_COLS, 1-based."""

    def __init__(self, title: str, cells: dict[tuple[int, int], GridCell]) -> None:
        self.title = title
        self.cells = cells
        self.max_row = max((r for r, _ in cells), default=0)
        self.declared = (0, 0)  # rows, columns the file says the sheet has
        self._labels: list[tuple[int, int, str]] | None = None

    @property
    def labels(self) -> list[tuple[int, int, str]]:
        """(row, column, folded text) of the text cells in reading order: the tables are found
        by several searches over the same labels, so they are sorted and folded once."""
        if self._labels is None:
            self._labels = [(r, c, fold(cell.value)) for (r, c), cell in sorted(self.cells.items())
                            if isinstance(cell.value, str)]
        return self._labels

    def get(self, row: int, col: int) -> GridCell | None:
        return self.cells.get((row, col))

    def text(self, row: int, col: int) -> str:
        c = self.cells.get((row, col))
        if c is None:
            return ""
        if isinstance(c.value, float) and c.value.is_integer():
            return str(int(c.value))  # 1.0 from one reader is 1 from another
        return clean(c.value)

    def find(self, predicate, max_row: int = HEADER_SCAN_ROWS) -> tuple[int, int] | None:
        return next(iter(self.find_all(predicate, max_row)), None)

    def find_all(self, predicate, max_row: int = HEADER_SCAN_ROWS) -> list[tuple[int, int]]:
        return [(r, c) for r, c, folded in self.labels if r <= max_row and predicate(folded)]


class TextCut(NamedTuple):
    """Where reading cut text in one sheet, for the note in the log."""

    sheet: str
    first_cell: tuple[int, int]
    cells: int
    over_budget: bool  # cut because the file's whole budget was spent, not only the cell's


def bound_text(grids: list[Grid]) -> list[TextCut]:
    """Cut each text to MAX_CELL_CHARS, and the file's text to about MAX_FILE_CHARS (in place).

    Done before anything reads the text character by character (the legacy-
    encoding test, folding, matching), so no single file costs more than a
    second or two whatever its shared strings hold.
    """
    budget = MAX_FILE_CHARS
    cuts = []
    for grid in grids:
        changed: dict[tuple[int, int], GridCell | None] = {}
        dropped: list[tuple[int, int]] = []
        for pos, cell in grid.cells.items():
            value = cell.value
            if not isinstance(value, str):
                continue
            if len(value) <= min(MAX_CELL_CHARS, budget):
                budget -= len(value)
                continue
            if budget >= MAX_CELL_CHARS:
                keep = MAX_CELL_CHARS
            else:  # the file's budget is spent: only short texts still count
                if len(value) <= SHORT_TEXT_CHARS:
                    continue
                keep = 0
                dropped.append(pos)
            changed[pos] = GridCell(value[:keep], cell.number_format) if keep else None
            budget = max(budget - keep, 0)
        for pos, cell in changed.items():
            if cell is None:
                del grid.cells[pos]
            else:
                grid.cells[pos] = cell
        if changed:
            grid._labels = None
            shortened = [pos for pos, cell in changed.items() if cell is not None]
            if shortened:
                cuts.append(TextCut(grid.title, shortened[0], len(shortened), False))
            if dropped:
                cuts.append(TextCut(grid.title, dropped[0], len(dropped), True))
    return cuts


# Values --------------------------------------------------------------------


def parse_number(raw: object, number_format: str = "General", percent: bool = False) -> float | str | None:
    """A cell as a number, or the text that is not one, or None when blank."""
    return interpret(raw, number_format, percent).value
