"""The demo city behind `lastmile seed-demo`: a hub, four zones, two pickup points, a dispatcher,
five drivers and a day of shipments on published routes.

Deterministic: a fixed random seed, so every run builds the same city and the same day (only the
date, today in UTC, and the server-made ids differ). Idempotent: the city is made once (found
again by its hub code); a day's shipments and routes are added once per date, so running it again
the same day changes nothing, and running it on a later day gives the drivers that day's work.

`city` holds the places, people and the pure plan of a day; `seeder` stores them.
"""

from backend.demo.seeder import DemoError, Login, SeedResult, demo_logins, seed_demo

__all__ = ["DemoError", "Login", "SeedResult", "demo_logins", "seed_demo"]
