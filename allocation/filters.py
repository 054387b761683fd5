"""The filters of the batch list, shared by the API, the pages and the ledger exports.

`status`, `destination_kind`, `destination` (id), `item` (code), `channel`, `level` (who
issued the batch, three-level dispatch: "province" for the province's own batches, a
prefecture's code for that prefecture's), and `from`/`to` (local dates, inclusive): a
dispatched batch by the date it left, one not dispatched yet by its planned dispatch date.
`item` and `channel` keep the batches with such a line; the ledger export also keeps only
those lines (`filter_lines`). Every filter narrows what the caller may see already
(`scope_batches`): a level never widens it.
"""

import datetime as dt

from django import forms
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django_filters import rest_framework as filters

from supplycoord.api import add_date_range
from supplycoord.models import Prefecture

from .models import BatchStatus, Channel, DestinationKind, DispatchBatch, DispatchBatchLine

# The `level` of the province's own batches (issuing_prefecture empty).
LEVEL_PROVINCE = "province"
PROVINCE_LEVEL_LABEL = pgettext_lazy("batch issuer", "Province")


def _local_day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def level_choices():
    """Every level a batch can be issued at: the province, then each prefecture by code. Read
    only when a `level` is given (the form checks it against these)."""
    return [
        (LEVEL_PROVINCE, PROVINCE_LEVEL_LABEL),
        *((p.code, p.name) for p in Prefecture.objects.order_by("code")),
    ]


class LevelFilter(filters.CharFilter):
    """A choice among `level_choices`, read lazily (Django's own ChoiceField takes the
    callable; django-filter's iterates it as a list): the prefectures are queried only when
    a level is given or described."""

    field_class = forms.ChoiceField


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
    level = LevelFilter(label=_("Issued by"), choices=level_choices, method="filter_level")

    class Meta:
        model = DispatchBatch
        fields = ["status", "destination_kind", "destination", "item", "channel", "level"]

    def filter_level(self, queryset, name, value):
        if value == LEVEL_PROVINCE:
            return queryset.filter(issuing_prefecture__isnull=True)
        return queryset.filter(issuing_prefecture__code=value)

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
