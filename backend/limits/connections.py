"""Caps on the live connections (SSE streams and WebSockets) one API process holds.

Counted in the process: a connection lives in exactly one process, and the counts are the
process's own resources (memory, file descriptors, queues). Over the per-key cap (one tracking
token, one account) the answer is 429; over the process's cap it is 503, and a load balancer
may try another process.
"""

from __future__ import annotations

from collections import Counter

from backend.lib.errors import RateLimited, ServiceBusy

# A stream ends when its client goes; a refused client should wait about that long.
RETRY_SECONDS = 30


class ConnectionSlot:
    def __init__(self, caps: ConnectionCaps, key: str) -> None:
        self.caps = caps
        self.key = key
        self.held = True

    def release(self) -> None:
        if self.held:
            self.held = False
            self.caps._release(self.key)


class ConnectionCaps:
    def __init__(self, total: int, per_key: int) -> None:
        self.total = total
        self.per_key = per_key
        self.open = 0
        self.by_key: Counter[str] = Counter()

    def acquire(self, key: str) -> ConnectionSlot:
        if self.open >= self.total:
            raise ServiceBusy(
                "This server holds as many live connections as it takes", retry_after=RETRY_SECONDS
            )
        if self.by_key[key] >= self.per_key:
            raise RateLimited(
                f"At most {self.per_key} live connections at once for this key",
                retry_after=RETRY_SECONDS,
                code="too_many_connections",
            )
        self.open += 1
        self.by_key[key] += 1
        return ConnectionSlot(self, key)

    def _release(self, key: str) -> None:
        self.open -= 1
        self.by_key[key] -= 1
        if self.by_key[key] <= 0:
            del self.by_key[key]
