"""Which handler runs for which outbox topic. Domains add theirs here as they grow."""

from backend.notifications.handlers import HANDLERS as NOTIFICATION_HANDLERS
from backend.outbox.worker import Handler

HANDLERS: dict[str, Handler] = {
    # notification.send, shipment.eta_changed, shipment.instruction_accepted
    **NOTIFICATION_HANDLERS,
}
