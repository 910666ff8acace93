"""Where rate limit state lives, behind one small interface.

Each store implements GCRA (the generic cell rate algorithm): one number per key, the
"theoretical arrival time" `tat` at which the key's budget is full again. A hit is allowed when,
after adding one interval, `tat` is at most one period ahead of now. It needs no counters per
window and no background clean-up: a key whose `tat` is past is the same as no key at all.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from backend.limits.rates import Rate

# Float sums of intervals must not refuse the last hit of a burst.
EPSILON = 1e-6


class Store(Protocol):
    async def hit(self, key: str, rate: Rate) -> float:
        """Record a hit: 0.0 if allowed, else the seconds until one would be (nothing recorded)."""
        ...

    async def reset(self, key: str) -> None:
        """Forget the key: its budget is full again."""
        ...

    async def close(self) -> None: ...


def gcra(tat: float | None, now: float, rate: Rate) -> tuple[float | None, float]:
    """(new tat or None when refused, seconds to wait). The algorithm the SQL and Lua repeat."""
    new = max(tat or now, now) + rate.interval
    wait = new - rate.period - now
    if wait > EPSILON:
        return None, wait
    return new, 0.0


class MemoryStore:
    """One process's memory: exact for a single API process, forgotten on restart. With several
    processes each keeps its own budget, so a client may get up to N times the limit."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, max_keys: int = 100_000):
        self.clock = clock
        self.max_keys = max_keys
        self._prune_above = max_keys
        self._tat: dict[str, float] = {}

    async def hit(self, key: str, rate: Rate) -> float:
        now = self.clock()
        new, wait = gcra(self._tat.get(key), now, rate)
        if new is None:
            return wait
        self._tat[key] = new
        if len(self._tat) > self._prune_above:
            self._prune(now)
        return 0.0

    def _prune(self, now: float) -> None:
        """Drop the keys whose budget is full again. When a flood of distinct keys is all still
        live, the next prune waits until the table has doubled, so pruning stays O(1) per hit
        on average instead of rescanning the table on every new key."""
        self._tat = {k: t for k, t in self._tat.items() if t > now}
        self._prune_above = max(self.max_keys, 2 * len(self._tat))

    async def reset(self, key: str) -> None:
        self._tat.pop(key, None)

    async def close(self) -> None:
        self._tat.clear()
