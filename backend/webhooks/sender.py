"""One HTTP attempt of a webhook: signed headers, 15 s timeout, no redirects, at most 64 kB of
the answer read, and a verdict: delivered, retry (when), or give up."""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

import aiohttp

from backend.webhooks.signing import signature_header
from backend.webhooks.ssrf import UnsafeAddress, resolver

TIMEOUT_SECONDS = 15.0
MAX_RESPONSE_BYTES = 64 * 1024
# Delay before attempt n + 1 after attempt n failed (n = 1..): about three days in all.
SCHEDULE = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=14),
    timedelta(hours=20),
    timedelta(hours=24),
)
JITTER = 0.1  # each delay varies by up to ±10 %, so retries of a burst spread out
MAX_RETRY_AFTER = timedelta(hours=24)


@dataclass(slots=True)
class Outgoing:
    delivery_id: object
    endpoint_id: object
    attempt: int
    message_id: str
    url: str
    keys: list[bytes]
    body: bytes


@dataclass(slots=True)
class Outcome:
    status_code: int | None
    error: str | None
    response_body: str | None
    duration_ms: int
    retry_after: timedelta | None = None

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def gone(self) -> bool:
        return self.status_code == 410


def next_delay(attempt: int, retry_after: timedelta | None, rng: random.Random) -> timedelta | None:
    """When to try again after failed attempt `attempt` (1-based), or None: give up. A
    receiver's Retry-After (429/503) is honoured: never sooner than it asks."""
    if attempt > len(SCHEDULE):
        return None
    delay = SCHEDULE[attempt - 1] * (1 + rng.uniform(-JITTER, JITTER))
    if retry_after is not None:
        delay = max(delay, min(retry_after, MAX_RETRY_AFTER))
    return delay


def parse_retry_after(value: str | None, now: datetime) -> timedelta | None:
    """Seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return timedelta(seconds=min(int(value), 10**7))
    try:
        return max(parsedate_to_datetime(value) - now, timedelta(0))
    except (TypeError, ValueError, OverflowError):
        return None


class Sender:
    """One aiohttp session for every endpoint: connections are kept alive per host."""

    def __init__(self, *, allow_private: bool, max_connections: int = 256) -> None:
        self.allow_private = allow_private
        self.max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Sender:
        connector = aiohttp.TCPConnector(
            limit=self.max_connections, resolver=resolver(self.allow_private), ttl_dns_cache=10
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=TIMEOUT_SECONDS),
            auto_decompress=False,
            skip_auto_headers=("User-Agent",),
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session:
            await self._session.close()

    async def send(self, item: Outgoing, now: datetime) -> Outcome:
        assert self._session is not None, "use `async with Sender(...)`"
        timestamp = int(now.timestamp())
        headers = {
            "content-type": "application/json",
            "user-agent": "Lastmile-Webhooks/1",
            "webhook-id": item.message_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signature_header(item.keys, item.message_id, timestamp, item.body),
        }
        started = time.perf_counter()
        try:
            async with self._session.post(
                item.url, data=item.body, headers=headers, allow_redirects=False
            ) as response:
                body = await response.content.read(MAX_RESPONSE_BYTES)
                retry_after = (
                    parse_retry_after(response.headers.get("retry-after"), now)
                    if response.status in (429, 503)
                    else None
                )
                return Outcome(
                    response.status,
                    None if response.status < 300 else f"HTTP {response.status}",
                    body[:1024].decode("utf-8", "replace") or None,
                    _ms(started),
                    retry_after,
                )
        except UnsafeAddress as exc:
            return Outcome(None, f"refused: {exc}", None, _ms(started))
        except TimeoutError:
            return Outcome(None, f"timeout after {TIMEOUT_SECONDS:.0f} s", None, _ms(started))
        except (aiohttp.ClientError, OSError, asyncio.IncompleteReadError) as exc:
            cause = exc.__cause__ if isinstance(exc.__cause__, UnsafeAddress) else exc
            prefix = "refused: " if isinstance(cause, UnsafeAddress) else ""
            return Outcome(
                None, f"{prefix}{type(cause).__name__}: {cause}"[:500], None, _ms(started)
            )


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)
