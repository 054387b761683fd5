"""Reads of the production app: who sees which producer, capacity, licences to renew."""

import datetime as dt

from django.conf import settings
from django.db.models import Count, Q, QuerySet, Sum

from supplycoord.models import Item, Role

from .models import Licence, LineStatus, Producer


def producers_visible_to(user) -> QuerySet[Producer]:
    """Producers `user` may see. Officers see their prefecture's producers, read-only."""
    producers = Producer.objects.select_related("prefecture", "county")
    if not user.is_authenticated:
        return producers.none()
    if user.sees_whole_province:
        return producers.all()
    if user.effective_role == Role.PRODUCER_REPORTER:
        return producers.filter(reporters=user)
    if user.is_prefecture_officer and user.prefecture_id:
        return producers.filter(prefecture_id=user.prefecture_id)
    return producers.none()


def user_can_change_producer(user, producer: Producer) -> bool:
    """Office staff change every producer; a reporter only the producers assigned to them."""
    if not user.is_authenticated:
        return False
    if user.is_office:
        return True
    return (
        user.effective_role == Role.PRODUCER_REPORTER
        and producer.reporters.filter(pk=user.pk).exists()
    )


def capacity_by_item(*, producer: Producer | None = None) -> QuerySet[Item]:
    """Items with their daily capacity: `commissioned` over commissioned lines and
    `when_all_built` over every line not stopped, in one grouped query.

    Items without a line that is not stopped are left out.
    """
    lines = Q(production_lines__status__in=[s for s in LineStatus if s != LineStatus.STOPPED])
    if producer is not None:
        lines &= Q(production_lines__producer=producer)
    commissioned = lines & Q(production_lines__status=LineStatus.COMMISSIONED)
    return (
        Item.objects.annotate(
            commissioned=Sum("production_lines__daily_capacity", filter=commissioned, default=0),
            when_all_built=Sum("production_lines__daily_capacity", filter=lines, default=0),
            # Filtering on the relation again would join it twice and multiply the sums.
            line_count=Count("production_lines", filter=lines),
        )
        .filter(line_count__gt=0)
        .order_by("sort_order", "code")
    )


def licences_flagged(*, today: dt.date, within_days: int | None = None) -> QuerySet[Licence]:
    """Licences expired or expiring within `within_days` (setting LICENCE_WARNING_DAYS) of today.

    A licence expiring exactly `within_days` from today is flagged; one a day later is not.
    """
    if within_days is None:
        within_days = settings.SUPPLYCOORD["LICENCE_WARNING_DAYS"]
    return (
        Licence.objects.filter(expires__lte=today + dt.timedelta(days=within_days))
        .select_related("producer")
        .order_by("expires", "pk")
    )
