"""A rate as settings spell it: `COUNT/PERIOD`, e.g. `10/15m` (ten per quarter hour), or `off`."""

from __future__ import annotations

from dataclasses import dataclass

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400}


@dataclass(frozen=True)
class Rate:
    """`count` requests per `period` seconds, all of them allowed at once (the burst), then one
    every `interval` seconds as the budget refills."""

    count: int
    period: float

    @property
    def interval(self) -> float:
        return self.period / self.count


def parse_rate(text: str) -> Rate | None:
    """None for `off`; the settings' pattern has already checked the shape."""
    if text == "off":
        return None
    count, _, period = text.partition("/")
    return Rate(int(count), int(period[:-1]) * UNITS[period[-1]])
