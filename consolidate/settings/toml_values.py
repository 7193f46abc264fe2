"""Reading the values of a parsed TOML file one key at a time, refusing a wrong one with its line.

The typed getters a definition's loader needs (text, flag, number, list, array of tables, unique
key), each raising a ConfigError that names the file, the line and the key in Vietnamese.
"""

from __future__ import annotations

import difflib
import keyword
import math
import re
import string
from pathlib import Path

from ..core.text import clean
from .toml_lines import KeyLines, line_of
from .units import ConfigError

KEY = re.compile(r"[a-z][a-z0-9_]*")  # a name a rule can use: ASCII, lower case
MAX_TABLES = 1_000  # forms, columns, rows, indicators or rules of one form: a real report has dozens
REPORT_KEY = re.compile(r"[a-z0-9][a-z0-9_-]*")  # a file name's stem or a problem code: hyphens allowed



class TomlValues:
    """The file being read and where its keys are written, for the messages."""

    def __init__(self, path: Path, lines: KeyLines) -> None:
        self.path = path
        self.lines = lines

    def refuse(self, where: tuple[str | int, ...], detail: str) -> ConfigError:
        dotted = ".".join(p for p in where if isinstance(p, str)) or None
        return ConfigError(self.path, detail, line=line_of(self.lines, where), key=dotted)

    def keys(self, table: object, where: tuple[str | int, ...], known: tuple[str, ...], what: str) -> dict:
        if not isinstance(table, dict):
            raise self.refuse(where, f"phải là một bảng ({what}); ở đây là {shown(table)}.")
        for key in table:
            if key not in known:
                close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
                hint = f" Có phải “{close[0]}”?" if close else f" Các khóa dùng được: {', '.join(known)}."
                raise self.refuse((*where, key), f"không có khóa “{key}” trong {what}.{hint}")
        return table

    def text(self, table: dict, where: tuple[str | int, ...], key: str, required: bool = False,
             default: str = "") -> str:
        value = table.get(key)
        if value is None:
            if required:
                raise self.refuse(where, f"thiếu khóa “{key}”.")
            return default
        if not isinstance(value, str):
            raise self.refuse((*where, key), f"phải là chữ trong dấu ngoặc kép; ở đây là {shown(value)}.")
        if required and not clean(value):
            raise self.refuse((*where, key), "không được để trống.")
        return clean(value)

    def words(self, text: str, where: tuple[str | int, ...], allowed: tuple[str, ...]) -> str:
        """A text whose {words} must be among ``allowed`` (a title, a label, the attachment line)."""
        try:
            used = [name for _, name, spec, conv in string.Formatter().parse(text) if name is not None]
        except ValueError:
            raise self.refuse(where, "có dấu “{” hoặc “}” không thành cặp; viết “{{” hoặc “}}” nếu muốn in dấu ngoặc.")
        for name in used:
            if name not in allowed:
                raise self.refuse(where, f"không có chỗ điền “{{{name}}}”; chỉ dùng được: "
                                         + ", ".join(f"{{{w}}}" for w in allowed) + ".")
        return text

    def key_of(self, table: dict, where: tuple[str | int, ...], pattern: re.Pattern = KEY) -> str:
        key = self.text(table, where, "key", required=True)
        if not pattern.fullmatch(key) or keyword.iskeyword(key) or key in ("sum", "abs"):
            rule = ("chữ thường không dấu, số, “-” và “_”" if pattern is REPORT_KEY
                    else "chữ thường không dấu, số và “_”, bắt đầu bằng một chữ (không dùng “-”, dấu cách hay "
                         "các từ dành riêng như sum, abs, if, and)")
            raise self.refuse((*where, "key"), f"khóa “{key}” không hợp lệ: chỉ dùng {rule}, ví dụ “nhan_tong”.")
        return key

    def flag(self, table: dict, where: tuple[str | int, ...], key: str, default: bool) -> bool:
        value = table.get(key, default)
        if not isinstance(value, bool):
            raise self.refuse((*where, key), f"phải là true hoặc false (không có ngoặc kép); ở đây là {shown(value)}.")
        return value

    def number(self, table: dict, where: tuple[str | int, ...], key: str, default: float, low: float = 0.0,
               high: float = math.inf, whole: bool = False) -> float:
        value = table.get(key, default)
        ok = not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)
        if ok and whole and not float(value).is_integer():
            ok = False
        if not ok or not low <= value <= high:
            kind = "một số nguyên" if whole else "một số"
            bound = f" từ {number_text(low)}" + (f" đến {number_text(high)}" if math.isfinite(high) else " trở lên")
            raise self.refuse((*where, key), f"phải là {kind}{bound}, không có ngoặc kép; ở đây là {shown(value)}.")
        return float(value)

    def texts(self, table: dict, where: tuple[str | int, ...], key: str) -> tuple[str, ...]:
        value = table.get(key, [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and clean(v) for v in value):
            raise self.refuse((*where, key), f"phải là một danh sách chữ trong [ ], ví dụ [\"a\", \"b\"]; "
                                             f"ở đây là {shown(value)}.")
        return tuple(clean(v) for v in value)

    def tables(self, parent: dict, where: tuple[str | int, ...], key: str, what: str) -> list[dict]:
        value = parent.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self.refuse((*where, key), f"phải viết thành các bảng [[{'.'.join(p for p in (*where, key) if isinstance(p, str))}]], "
                                             f"mỗi bảng một {what}.")
        if len(value) > MAX_TABLES:
            raise self.refuse((*where, key), f"có {len(value)} {what}, quá giới hạn {MAX_TABLES} của "
                                             "một biểu; hãy tách thành nhiều biểu.")
        return value

    def unique(self, seen: dict[str, tuple], value: str, where: tuple[str | int, ...], what: str,
               fold_case: bool = False) -> None:
        folded = value.casefold() if fold_case else value
        if folded in seen:
            first = line_of(self.lines, seen[folded])
            at = f" (đã dùng ở dòng {first})" if first else ""
            raise self.refuse(where, f"{what} “{value}” bị trùng{at}; mỗi {what} phải khác nhau.")
        seen[folded] = where


def number_text(value: float) -> str:
    return f"{value:g}".replace(".", ",")


def shown(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"chuỗi “{value}”"
    if isinstance(value, dict):
        return "một bảng"
    if isinstance(value, list):
        return "một danh sách"
    if isinstance(value, float):
        return number_text(value)
    return str(value)
