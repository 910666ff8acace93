"""Every model, imported once so metadata is complete (Alembic and the model/migration check)."""

from backend.auth.models import User
from backend.db.base import Base
from backend.drivers.models import Device, Driver, Vehicle
from backend.manifests.models import Route, Stop
from backend.network.models import Hub, PickupPoint, Zone
from backend.outbox.models import OutboxMessage
from backend.shipments.models import Parcel, Shipment, ShipmentEvent

__all__ = [
    "Base",
    "Device",
    "Driver",
    "Hub",
    "OutboxMessage",
    "Parcel",
    "PickupPoint",
    "Route",
    "Shipment",
    "ShipmentEvent",
    "Stop",
    "User",
    "Vehicle",
    "Zone",
]
