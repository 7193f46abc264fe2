"""A1 cell addresses: column letters and numbers, shared by the readers and the package patcher."""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=None)
def column_letters(col: int) -> str:
    """1 → A, 27 → AA (cached: every record's source cell is named this way)."""
    letters = ""
    while col:
        col, rem = divmod(col - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def column_number(letters: str) -> int:
    """A → 1, AA → 27."""
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


@lru_cache(maxsize=1 << 14)
def address(row: int, col: int) -> str:
    """"D7" (cached, so the same cell of ten thousand submissions is one string, sent once per batch)."""
    return f"{column_letters(col)}{row}"
