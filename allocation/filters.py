"""The filters of the batch list, shared by the API, the pages and the ledger exports.

`status`, `destination_kind`, `destination` (id), `item` (code), `channel`, and `from`/`to`
(local dates, inclusive): a dispatched batch by the date it left, one not dispatched yet by
its planned dispatch date. `item` and `channel` keep the batches with such a line; the
ledger export also keeps only those lines (`filter_lines`).
"""

import datetime as dt

from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django_filters import rest_framework as filters

from supplycoord.api import add_date_range

from .models import BatchStatus, Channel, DestinationKind, DispatchBatch, DispatchBatchLine


def _local_day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


class BatchFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=BatchStatus.choices)
    destination_kind = filters.ChoiceFilter(
        field_name="destination__kind", choices=DestinationKind.choices
    )
    destination = filters.NumberFilter(
        field_name="destination_id", min_value=1, max_value=2**63 - 1
    )
    item = filters.CharFilter(method="filter_item")
    channel = filters.ChoiceFilter(choices=Channel.choices, method="filter_channel")

    class Meta:
        model = DispatchBatch
        fields = ["status", "destination_kind", "destination", "item", "channel"]

    def filter_item(self, queryset, name, value):
        return queryset.filter(
            Exists(DispatchBatchLine.objects.filter(batch=OuterRef("pk"), item__code=value))
        )

    def filter_channel(self, queryset, name, value):
        return queryset.filter(
            Exists(DispatchBatchLine.objects.filter(batch=OuterRef("pk"), channel=value))
        )

    def filter_from(self, queryset, name, value):
        return queryset.filter(
            Q(dispatched_at__gte=_local_day_start(value))
            | Q(dispatched_at__isnull=True, planned_dispatch_date__gte=value)
        )

    def filter_to(self, queryset, name, value):
        return queryset.filter(
            Q(dispatched_at__lt=_local_day_start(value + dt.timedelta(days=1)))
            | Q(dispatched_at__isnull=True, planned_dispatch_date__lte=value)
        )


add_date_range(BatchFilter, from_method="filter_from", to_method="filter_to")


def filter_lines(lines, cleaned: dict):
    """Keep only the lines of the item and channel filtered on (the ledger's rows)."""
    if cleaned.get("item"):
        lines = lines.filter(item__code=cleaned["item"])
    if cleaned.get("channel"):
        lines = lines.filter(channel=cleaned["channel"])
    return lines
