"""The history of every period's figures (issue 17): the store, its schema and what a run records and reads back."""

# SQLAlchemy lives here and nowhere else; the rest of the tool sees ``open_store``, ``HistoryStore``
# and the shared ``core.observations.Observation``.

from .address import NoHistoryYet, store_label
from .store import STORE_NAME, HistoryError, HistoryStore, open_store

__all__ = ["STORE_NAME", "HistoryError", "HistoryStore", "NoHistoryYet", "open_store", "store_label"]
