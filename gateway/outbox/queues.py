"""The names of the outbox's work queues: one per provider, plus those of kinds with a queue of their own."""

from __future__ import annotations

from gateway.core.domain import Provider

READINGS_QUEUE = "zf-readings"
"""The outbox queue of reading deliveries to Zählerfreunde (its own, so readings never wait
behind entity upserts and vice versa)."""
FORWARD_QUEUE = "subscribers"
"""The outbox queue of event deliveries to our webhook subscribers."""
FORWARD_KIND = "webhook_delivery"
"""The ``entity_type`` of an event delivery's task (its ``entity_id`` is the delivery's id)."""

QUEUES: tuple[str, ...] = (*(provider.value for provider in Provider), READINGS_QUEUE, FORWARD_QUEUE)
"""Every work queue."""


def provider_of_queue(queue: str) -> Provider | None:
    """The provider a queue's tasks call (None for our own webhook subscribers)."""
    if queue == READINGS_QUEUE:
        return Provider.ZAEHLERFREUNDE
    return Provider(queue) if queue in {provider.value for provider in Provider} else None
