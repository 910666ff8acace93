from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import BigInteger, ForeignKey, Index, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base


class ShipmentFeedEntry(Base):
    """What a shipment's live stream has said, so a reconnecting client can resume without gaps.

    `seq` counts per shipment; it is taken while the shipment row is locked, so a shipment's
    entries commit in `seq` order and a client that has seen `n` needs exactly those after `n`.
    """

    __tablename__ = "shipment_feed"
    # Rows arrive in time order: a tiny BRIN index serves the retention prune.
    __table_args__ = (Index("ix_shipment_feed_created_at", "created_at", postgresql_using="brin"),)

    shipment_id: Mapped[UUID] = mapped_column(ForeignKey("shipments.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    type: Mapped[str] = mapped_column(String(40))
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
