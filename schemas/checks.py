"""Element checks shared by both forms; each lets values that an earlier check rejects pass."""

from __future__ import annotations

import math


def is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def whole(value: object) -> bool:
    return not is_number(value) or float(value).is_integer()


def non_negative(value: object) -> bool:
    return not is_number(value) or value >= 0


def percent(value: object) -> bool:
    return not is_number(value) or 0 <= value <= 100
