"""Where each key of a TOML file is written, for messages that name the line: tomllib keeps no positions.

Apart from settings/report.py (the settings' own keys), because the report definitions name lines too.
"""

from __future__ import annotations

import re
import tomllib

MISSING = object()  # what ``lookup`` gives for a key the parsed TOML does not hold


MAX_KEY_SEARCH_LINES = 2_000  # a settings file has ~70 lines; each step parses a prefix, so the search is quadratic
MAX_KEY_SEARCH_CHARS = 500_000  # characters parsed in all, across the prefixes (~0.25 s): a huge file gets no line
_PROBE = "consolidate-probe-a81f"  # a key no settings file writes, to learn which table a line is in
_TABLE_HEADER = re.compile(r"\s*\[([^\[\]]+)\]")


class KeyLines:
    """The line a key is written on, found by parsing successive prefixes of the file with tomllib.

    The first prefix whose parse holds the key ends on the line where the key's value
    ends; the key itself starts one line after the last shorter prefix that parsed (a
    multi-line array or string does not parse until it closes). Only computed when a
    message needs a line, and only as far as MAX_KEY_SEARCH_LINES and MAX_KEY_SEARCH_CHARS allow.
    """

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self._parsed: dict[int, dict | None] = {}
        self._budget = MAX_KEY_SEARCH_CHARS

    def _parse(self, n: int) -> dict | None:
        """The first n lines parsed, or None where they do not parse (cut inside a statement)."""
        if n not in self._parsed:
            prefix = "\n".join(self.lines[:n])
            self._budget -= len(prefix)
            try:
                self._parsed[n] = tomllib.loads(prefix)
            except tomllib.TOMLDecodeError:
                self._parsed[n] = None
        return self._parsed[n]

    def first(self, key: tuple[str | int, ...]) -> int | None:
        """The line the key is first written on, or None (not written, or too far down). An int in
        ``key`` is a position in an array of tables: ("form", 1, "rule", 0, "check") is the first
        rule's check in the second [[form]].

        Bisection: a key, once written, is in every longer prefix that parses, so a definition of a few
        hundred lines costs a dozen parses, not one per line."""
        last = min(len(self.lines), MAX_KEY_SEARCH_LINES)
        holds_at = self._holds_at(last, key)
        if not holds_at:
            return None
        low, high = 0, last  # the key is not in the first `low` lines, and it is in the first `high`
        while high - low > 1:
            middle = (low + high) // 2
            found = self._holds_at(middle, key)
            if found is None:
                return None
            if found:
                high = middle
            else:
                low = middle
        before = high - 1  # the key starts after the last shorter prefix that parses
        while before > 0 and self._parse_within_budget(before) is None:
            before -= 1
        return before + 1

    def _parse_within_budget(self, n: int) -> dict | None:
        if n not in self._parsed and self._budget <= 0:
            return None
        return self._parse(n)

    def _holds_at(self, n: int, key: tuple[str | int, ...]) -> bool | None:
        """Whether the last prefix of at most n lines that parses holds the key; None past the budget."""
        while n > 0:
            if n not in self._parsed and self._budget <= 0:
                return None
            data = self._parse(n)
            if data is not None:
                return _holds(data, key)
            n -= 1
        return False

    def key_on(self, number: int) -> tuple[str, ...] | None:
        """The key (or table) written on line ``number``, read from that line and the lines before it
        (the file may not parse as a whole: this is for pointing at a syntax error)."""
        if not 1 <= number <= len(self.lines):
            return None
        line = self.lines[number - 1]
        if m := _TABLE_HEADER.match(line):
            return _dotted_key(m.group(1))
        if "=" not in line:
            return None
        own = _dotted_key(line.split("=", 1)[0])
        if own is None:
            return None
        return (*self._table_before(number), *own)

    def _table_before(self, number: int) -> tuple[str, ...]:
        """The table a key on line ``number`` belongs to: where a probe key lands after the lines before it."""
        try:
            data = tomllib.loads("\n".join([*self.lines[: number - 1], f"{_PROBE} = 0"]))
        except tomllib.TOMLDecodeError:
            return ()
        return _path_to(data, _PROBE) or ()


def lookup(data: dict, key: tuple[str | int, ...]) -> object:
    """The value at a dotted key of parsed TOML (an int: a position in an array of tables), or MISSING."""
    node: object = data
    for part in key:
        if isinstance(part, int):
            if not isinstance(node, list) or not 0 <= part < len(node):
                return MISSING
        elif not isinstance(node, dict) or part not in node:
            return MISSING
        node = node[part]
    return node


def _holds(data: dict, key: tuple[str | int, ...]) -> bool:
    return lookup(data, key) is not MISSING


def _dotted_key(text: str) -> tuple[str, ...] | None:
    """A TOML key as written ("form2.targets", '"chỉ tiêu"') as its parts, or None if it is not one."""
    try:
        node: object = tomllib.loads(f"{text.strip()} = 0")
    except tomllib.TOMLDecodeError:
        return None
    parts: list[str] = []
    while isinstance(node, dict) and len(node) == 1:
        (part, node), = node.items()
        parts.append(part)
    return tuple(parts) or None


def _path_to(data: dict, probe: str) -> tuple[str, ...] | None:
    """The tables leading to the probe key, the last one opened being where it landed."""
    if probe in data:
        return ()
    for name, value in data.items():
        if isinstance(value, dict) and (found := _path_to(value, probe)) is not None:
            return (name, *found)
        if isinstance(value, list) and value and isinstance(value[-1], dict):
            if (found := _path_to(value[-1], probe)) is not None:
                return (name, *found)
    return None


def line_of(lines: KeyLines, key: tuple[str | int, ...]) -> int | None:
    """The line of a key, else of the nearest table that holds it."""
    for n in range(len(key), 0, -1):
        if (line := lines.first(key[:n])) is not None:
            return line
    return None
