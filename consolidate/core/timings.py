"""Named step durations a run fills in, for a step profile (the benchmarks) without patching the package."""

from __future__ import annotations

import time
from collections import defaultdict
from contextlib import contextmanager
from typing import Callable, Iterator, TypeVar

T = TypeVar("T")


class Timings:
    """Seconds and calls per step name ("discover", "read", "write.html"…), added up over a run.

    The run and the writers take one (``app.run(..., timings=...)``); without one they fill a
    throw-away instance, at the cost of two clock reads a step.
    """

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - start)

    def add(self, name: str, seconds: float) -> None:
        self.seconds[name] += seconds
        self.calls[name] += 1

    def timed(self, name: str, fn: Callable[..., T], *args: object, **kwargs: object) -> T:
        """``fn(*args, **kwargs)``, timed as ``name``."""
        with self.step(name):
            return fn(*args, **kwargs)
