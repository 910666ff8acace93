"""Which handler runs for which outbox topic. Domains add theirs here as they grow."""

from backend.couriers.handlers import HANDLERS as COURIER_HANDLERS
from backend.notifications.handlers import HANDLERS as NOTIFICATION_HANDLERS
from backend.outbox.worker import Handler

HANDLERS: dict[str, Handler] = {
    # notification.send, shipment.eta_changed, shipment.instruction_accepted
    **NOTIFICATION_HANDLERS,
    # courier.message, courier.check_requested, courier.status_changed
    **COURIER_HANDLERS,
}
