"""Numbers as a Vietnamese reader writes them: 97,8 and 7, not 97.8 and 7.0."""

from __future__ import annotations


def format_number(value: object, decimals: int = 2) -> str:
    if value is None:
        return "(trống)"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"“{value}”"
    if float(value).is_integer():
        return str(int(value))
    text = f"{value:.{decimals}f}".rstrip("0").rstrip(".")
    return text.replace(".", ",")
