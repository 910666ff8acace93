"""Tables of the offline sync protocol: push bookkeeping and the per-driver manifest change log."""

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base


class PushBatch(Base):
    """One push call: replaying the same `batch_id` and body answers the stored response."""

    __tablename__ = "push_batches"

    batch_id: Mapped[UUID] = mapped_column(primary_key=True)
    driver_id: Mapped[UUID] = mapped_column(ForeignKey("drivers.id"))
    device_id: Mapped[str] = mapped_column(String(128))
    request_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    # The response as sent, for replays; its ack_seq is the column's (rows stored before
    # migration 0006 carry theirs inside and leave the column NULL).
    response: Mapped[bytes | None] = mapped_column(LargeBinary)
    ack_seq: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class SyncEvent(Base):
    """Every accepted device event, keyed by the id the device made (the idempotency key)."""

    __tablename__ = "sync_events"
    __table_args__ = (Index("ix_sync_events_device_seq", "device_id", "seq"),)

    event_id: Mapped[UUID] = mapped_column(primary_key=True)
    driver_id: Mapped[UUID] = mapped_column(ForeignKey("drivers.id"))
    device_id: Mapped[str] = mapped_column(String(128))
    seq: Mapped[int] = mapped_column(BigInteger)
    batch_id: Mapped[UUID]
    type: Mapped[str] = mapped_column(String(40))
    shipment_id: Mapped[UUID | None] = mapped_column(ForeignKey("shipments.id"))
    content_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    effective_at: Mapped[datetime]
    received_at: Mapped[datetime] = mapped_column(server_default=func.now())
    body: Mapped[dict[str, Any]] = mapped_column(JSONB)


class QuarantinedEvent(Base):
    """A rejected event, kept raw with the reason: nothing a device sends is dropped."""

    __tablename__ = "quarantined_events"
    __table_args__ = (Index("ix_quarantined_events_device_seq", "device_id", "seq"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    driver_id: Mapped[UUID] = mapped_column(ForeignKey("drivers.id"))
    device_id: Mapped[str] = mapped_column(String(128))
    batch_id: Mapped[UUID]
    event_id: Mapped[UUID | None]
    seq: Mapped[int | None] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(60))
    detail: Mapped[str | None] = mapped_column(Text)
    # The event as sent (keys sorted); in `raw_bytes` instead when jsonb cannot hold it (U+0000).
    raw: Mapped[Any | None] = mapped_column(JSONB)
    raw_bytes: Mapped[bytes | None] = mapped_column(LargeBinary)
    received_at: Mapped[datetime] = mapped_column(server_default=func.now())


class SkippedSeqs(Base):
    """Seqs a device declared lost before sending (a push's `skipped`): the ack moves past them."""

    __tablename__ = "skipped_seqs"
    __table_args__ = (Index("ix_skipped_seqs_device_last", "device_id", "last_seq"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    driver_id: Mapped[UUID] = mapped_column(ForeignKey("drivers.id"))
    device_id: Mapped[str] = mapped_column(String(128))
    batch_id: Mapped[UUID]
    first_seq: Mapped[int] = mapped_column(BigInteger)
    last_seq: Mapped[int] = mapped_column(BigInteger)
    declared_at: Mapped[datetime] = mapped_column(server_default=func.now())


class DeviceSync(Base):
    """Per (driver, device): the highest contiguous `seq` stored (accepted or quarantined).
    Keyed by both, so a device handed to another driver starts afresh for that driver and
    nothing one driver sends moves another's ack."""

    __tablename__ = "device_sync"

    driver_id: Mapped[UUID] = mapped_column(ForeignKey("drivers.id"), primary_key=True)
    device_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    ack_seq: Mapped[int] = mapped_column(BigInteger, server_default="0")
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())


class DriverSync(Base):
    """Per driver: the manifest version, bumped under this row's lock by every writer.

    Writers for one driver serialize on the row, so versions commit in order and a reader never
    sees version n+1 without n. `epoch` changes if the row is ever re-created, which turns old
    cursors into `reset_required`; changes at or below `pruned_version` are gone.
    """

    __tablename__ = "driver_sync"

    driver_id: Mapped[UUID] = mapped_column(ForeignKey("drivers.id"), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, server_default="0")
    pruned_version: Mapped[int] = mapped_column(BigInteger, server_default="0")
    epoch: Mapped[int] = mapped_column(
        Integer, server_default=text("floor(random() * 2147483647)::integer")
    )


class ManifestChange(Base):
    """What changed in a driver's manifest at which version; pull reads current data for it."""

    __tablename__ = "manifest_changes"
    __table_args__ = (
        Index("ix_manifest_changes_driver_version", "driver_id", "version"),
        # Rows arrive in time order: a tiny BRIN index serves the retention prune.
        Index("ix_manifest_changes_created_at", "created_at", postgresql_using="brin"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    driver_id: Mapped[UUID] = mapped_column(ForeignKey("drivers.id"))
    version: Mapped[int] = mapped_column(BigInteger)
    entity: Mapped[str] = mapped_column(String(20))
    entity_id: Mapped[UUID]
    op: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
