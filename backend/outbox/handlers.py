"""Which handler runs for which outbox topic. Domains add theirs here as they grow."""

from backend.outbox.worker import Handler

HANDLERS: dict[str, Handler] = {}
