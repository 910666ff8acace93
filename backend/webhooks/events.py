"""The webhook event types, and which shipment statuses raise which of them.

Adding a type is one line in `EVENT_TYPES`, then one call where the fact happens:
`WebhookService(session).shipment_events(...)` for a shipment (owners and admin endpoints
receive it) or `.announce(type, items)` for anything else (admin endpoints, or one
organisation's), as the couriers' outbox handler does for `courier.status_changed`.
"""

EVENT_TYPES = (
    "shipment.created",
    "shipment.status_changed",
    "shipment.out_for_delivery",
    "shipment.delivered",
    "shipment.delivery_failed",
    "shipment.eta_changed",
    "shipment.rerouted",
    "shipment.handed_over",
    "pod.completed",
    "route.published",
    "incident.opened",
    "incident.resolved",
    "courier.status_changed",
)

# A status a shipment reaches -> the specific event sent besides `shipment.status_changed`.
STATUS_EVENTS = {
    "out_for_delivery": "shipment.out_for_delivery",
    "delivered": "shipment.delivered",
    "attempt_failed": "shipment.delivery_failed",
    "with_partner": "shipment.handed_over",
}
