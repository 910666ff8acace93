"""Simulated handhelds driving a delivery day against the API, then proving the sync converged.

`simulate(http, config, ...)` runs one day over any httpx.AsyncClient-compatible client and
returns a `Report`; `python -m backend.simulator` (scripts/simulate) runs it against a server.
"""

from backend.simulator.config import SimConfig
from backend.simulator.day import simulate
from backend.simulator.report import Report

__all__ = ["Report", "SimConfig", "simulate"]
