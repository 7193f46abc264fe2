"""The values of a workbook's sheets as bounded grids, and a cell's value read as a number."""

from __future__ import annotations

from typing import NamedTuple

from .numbers import interpret
from .text import clean, fold

# A template's tables sit in the first few dozen rows and ten columns (a province's
# roll-up in a few hundred rows); reading
# is bounded so a sheet with junk to XFD1048576 cannot stall the run.
MAX_ROWS = 2000
MAX_COLS = 60
HEADER_SCAN_ROWS = 60


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


# Values --------------------------------------------------------------------


def parse_number(raw: object, number_format: str = "General", percent: bool = False) -> float | str | None:
    """A cell as a number, or the text that is not one, or None when blank."""
    return interpret(raw, number_format, percent).value
