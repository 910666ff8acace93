"""Every model, imported once so metadata is complete (Alembic and the model/migration check)."""

from backend.auth.models import User
from backend.couriers.models import (
    CourierApplication,
    CourierCheck,
    CourierDocument,
    CourierDocumentRead,
    CourierMessage,
    CourierProfile,
    CourierTransition,
)
from backend.db.base import Base
from backend.disruptions.models import Disruption, HubContingency
from backend.drivers.models import Device, Driver, Vehicle
from backend.idempotency.models import IdempotencyKey
from backend.incidents.findings import ReviewFinding
from backend.incidents.models import Incident, IncidentActivity
from backend.incidents.rules.models import HubIncidentRule, HubIncidentSettings, IncidentFault
from backend.kpis.models import KpiDaily, KpiDirtyShipment, KpiShipmentFact, KpiTarget
from backend.limits.models import RateLimitBucket
from backend.live.models import ShipmentFeedEntry
from backend.manifests.models import Route, Stop
from backend.network.models import Hub, PickupPoint, Zone
from backend.notifications.models import Notification
from backend.offers.models import Offer, OfferRecipient
from backend.outbox.models import OutboxMessage
from backend.partners.models import ApiKey, Organization, PartnerEvent, PartnerQuarantinedEvent
from backend.planning.models import DriverPlanning, Plan
from backend.pod.models import Blob, Pod
from backend.shipments.models import Parcel, Shipment, ShipmentEvent
from backend.sync.models import (
    DeviceSync,
    DriverSync,
    ManifestChange,
    PushBatch,
    QuarantinedEvent,
    SkippedSeqs,
    SyncEvent,
)
from backend.tracking.models import LatestPosition, Position
from backend.webhooks.models import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)

__all__ = [
    "ApiKey",
    "Base",
    "Blob",
    "CourierApplication",
    "CourierCheck",
    "CourierDocument",
    "CourierDocumentRead",
    "CourierMessage",
    "CourierProfile",
    "CourierTransition",
    "Device",
    "DeviceSync",
    "Disruption",
    "Driver",
    "DriverPlanning",
    "DriverSync",
    "Hub",
    "HubContingency",
    "HubIncidentRule",
    "HubIncidentSettings",
    "IdempotencyKey",
    "Incident",
    "IncidentActivity",
    "IncidentFault",
    "KpiDaily",
    "KpiDirtyShipment",
    "KpiShipmentFact",
    "KpiTarget",
    "LatestPosition",
    "ManifestChange",
    "Notification",
    "Offer",
    "OfferRecipient",
    "Organization",
    "OutboxMessage",
    "Parcel",
    "PartnerEvent",
    "PartnerQuarantinedEvent",
    "PickupPoint",
    "Plan",
    "Pod",
    "Position",
    "PushBatch",
    "QuarantinedEvent",
    "RateLimitBucket",
    "ReviewFinding",
    "Route",
    "Shipment",
    "ShipmentEvent",
    "ShipmentFeedEntry",
    "SkippedSeqs",
    "Stop",
    "SyncEvent",
    "User",
    "Vehicle",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookEvent",
    "Zone",
]
