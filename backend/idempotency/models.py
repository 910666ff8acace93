from datetime import datetime

from sqlalchemy import Integer, LargeBinary, String, func
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base


class IdempotencyKey(Base):
    """A caller's `Idempotency-Key` and the response it got, kept for replays (≥ 24 h).

    A row without `status_code` is a request still running (or one whose process died: it is
    taken over once `locked_until` has passed)."""

    __tablename__ = "idempotency_keys"

    caller: Mapped[str] = mapped_column(String(80), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    locked_until: Mapped[datetime]
    status_code: Mapped[int | None] = mapped_column(Integer)
    content_type: Mapped[str | None] = mapped_column(String(100))
    response_body: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now(), index=True)
