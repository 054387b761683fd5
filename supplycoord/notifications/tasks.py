"""Celery jobs of notifications. Each takes ids, calls a service and is safe to run twice:
the database row says what is still to send (supplycoord/notifications/services.py)."""

from celery import shared_task
from django.db import transaction

from . import services

# A retry waits in the broker as a message with a countdown only up to this long: Redis
# hands an unacknowledged message out again after the visibility timeout (settings), and the
# sweep queues the longer waits when they are due.
COUNTDOWN_MAX_SECONDS = 600


@shared_task(name="supplycoord.notifications.tasks.notification_delivery_send", acks_late=True)
def notification_delivery_send(delivery_id: int) -> None:
    """Send one e-mail or webhook delivery if it is due; on a failure, queue the retry after
    its back-off (the row keeps the count; after NOTIFY_MAX_ATTEMPTS it is failed)."""
    delay = services.delivery_attempt(delivery_id=delivery_id)
    if delay is not None and delay <= COUNTDOWN_MAX_SECONDS:
        notification_delivery_send.apply_async((delivery_id,), countdown=delay)


@shared_task(
    name="supplycoord.notifications.tasks.notification_deliveries_sweep",
    acks_late=True,
    soft_time_limit=50,
    time_limit=60,
)
def notification_deliveries_sweep() -> int:
    """Queue the pending deliveries that are due and that no message is carrying (lost with a
    dead worker, or waiting longer than a countdown may)."""
    ids = services.deliveries_claim_due()
    transaction.on_commit(lambda: [notification_delivery_send.delay(pk) for pk in ids])
    return len(ids)


@shared_task(name="supplycoord.notifications.tasks.notification_digests_send", acks_late=True)
def notification_digests_send() -> int:
    """Make the daily digests of the users whose digest hour it is (beat: every 15 minutes)."""
    return services.digests_send_due()
