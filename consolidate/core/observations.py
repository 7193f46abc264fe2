"""One stored value of one period: what the history keeps and what the exports write.

It is the meeting point of two layers that must not know each other: the history store
(which records a run's figures and gives them back) and the exporters (tidy CSV, Data
Package, DHIS2). Its key follows DHIS2's data values: data element (``field_code``),
period, org unit (``unit_code``), value.
"""

from __future__ import annotations

from typing import NamedTuple

from .template import FORM1

ACCEPTED = "accepted"
REJECTED = "rejected"  # the figure carried an error; ``problem`` says which


class Observation(NamedTuple):
    period: str  # a DHIS2 period code: "2024S1", "2024Q3", "202408", "2024"
    unit_code: str
    unit_name: str
    form: str  # template.FORM1 or template.FORM2
    item: str  # the Biểu mẫu 2 indicator key; "" for Biểu mẫu 1
    field: str  # template field key: "computers", "before", "weight_after", …
    value: float | str | None  # a number; the text as typed for a rejected figure; None when blank
    status: str  # ACCEPTED or REJECTED
    problem: str  # the problem code that rejected it; "" when accepted
    file: str
    sheet: str
    cell: str
    sha256: str  # of the file the value came from
    run_time: str  # ISO 8601, UTC, of the run that recorded it
    tool_version: str

    @property
    def field_code(self) -> str:
        return field_code(self.form, self.item, self.field)


class HistoryError(Exception):
    """The history store could not be opened, read or written; ``reason``, in Vietnamese, says why.
    Here, beside the value it stores, so that the CLI can catch it without loading the store's libraries."""

    def __init__(self, store: str, reason: str) -> None:
        super().__init__(f"{store}: {reason}")
        self.store, self.reason = store, reason


def field_code(form: str, item: str, field: str) -> str:
    """A stable code for one kind of value, used as the data element in every export.

    >>> field_code("form1", "", "computers")
    'form1.computers'
    >>> field_code("form2", "online_payment", "after")
    'form2.online_payment.after'
    """
    return f"{form}.{field}" if form == FORM1 or not item else f"{form}.{item}.{field}"
