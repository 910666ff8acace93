"""Every model, imported once so metadata is complete (Alembic and the model/migration check)."""

from backend.auth.models import User
from backend.db.base import Base
from backend.drivers.models import Device, Driver, Vehicle
from backend.incidents.models import Incident
from backend.kpis.models import KpiDaily, KpiDirtyShipment, KpiShipmentFact, KpiTarget
from backend.limits.models import RateLimitBucket
from backend.live.models import ShipmentFeedEntry
from backend.manifests.models import Route, Stop
from backend.network.models import Hub, PickupPoint, Zone
from backend.notifications.models import Notification
from backend.outbox.models import OutboxMessage
from backend.pod.models import Blob, Pod
from backend.shipments.models import Parcel, Shipment, ShipmentEvent
from backend.sync.models import (
    DeviceSync,
    DriverSync,
    ManifestChange,
    PushBatch,
    QuarantinedEvent,
    SyncEvent,
)
from backend.tracking.models import LatestPosition, Position

__all__ = [
    "Base",
    "Blob",
    "Device",
    "DeviceSync",
    "Driver",
    "DriverSync",
    "Hub",
    "Incident",
    "KpiDaily",
    "KpiDirtyShipment",
    "KpiShipmentFact",
    "KpiTarget",
    "LatestPosition",
    "ManifestChange",
    "Notification",
    "OutboxMessage",
    "Parcel",
    "PickupPoint",
    "Pod",
    "Position",
    "PushBatch",
    "QuarantinedEvent",
    "RateLimitBucket",
    "Route",
    "Shipment",
    "ShipmentEvent",
    "ShipmentFeedEntry",
    "Stop",
    "SyncEvent",
    "User",
    "Vehicle",
    "Zone",
]
