from sqlalchemy import Float, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base


class RateLimitBucket(Base):
    """One rate limit key's GCRA state (see backend/limits/stores.py) when the limits are kept
    in PostgreSQL. UNLOGGED: written on every limited request, worthless after a crash (the
    budgets simply start full again), so it skips the write-ahead log."""

    __tablename__ = "rate_limits"
    __table_args__ = {"prefixes": ["UNLOGGED"]}

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    # Seconds since the epoch (database clock) at which the key's budget is full again.
    tat: Mapped[float] = mapped_column(Float(precision=53))
