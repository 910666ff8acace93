"""Recipient notifications: announced through the outbox, sent through a provider, recorded."""
