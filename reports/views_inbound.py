"""The inbound calendar page (issue 14, section 5): what is expected to arrive in the province
of one item, day by day from d to d+14, by channel, with the overdue inbound apart.

Province-level figures of procurement: the office and leadership (can_read_procurement);
prefecture officers and reporters get 403. The figures come from reports/inbound.py, which
calls procurement/inbound.py; this view only reads the item and the date.
"""

from django.shortcuts import render
from django.utils.translation import gettext as _

from procurement.inbound import CHANNEL_NATIONAL, CHANNEL_ORDERS
from supplycoord.lib.dates import earliest_date, local_today, parse_iso_date
from supplycoord.permissions import can_read_procurement, require
from supplycoord.selectors import key_items

from .inbound import inbound_calendar_view


def _rows(view) -> list[dict]:
    """The calendar's rows: each channel's cells d … d+14, its undated part, and its Σ over 3
    and 14 days; `counted` says whether it is part of inbound_3d / inbound_14d."""
    calendar = view.calendar
    blank = [None] * len(view.days)
    rows = []
    for key, label, cells, undated, counted in (
        ("orders", _("Open purchase-order lines"), calendar.orders, None, True),
        ("national", _("Announced national allocations"), calendar.national, None, True),
        (
            "distribution",
            _("Distribution enterprises' purchase in transit"),
            blank,
            calendar.distribution_in_transit,
            True,
        ),
        (
            "producers",
            _("Producers' planned deliveries to the held reserve (trend, not counted)"),
            view.producers,
            None,
            False,
        ),
    ):
        dated = [cell or 0 for cell in cells]
        sum_3d, sum_14d = view.window_sums(dated)
        rows.append(
            {
                "key": key,
                "label": label,
                "cells": cells,
                "undated": undated,
                "sum_3d": sum_3d + (undated or 0),
                "sum_14d": sum_14d + (undated or 0),
                "counted": counted,
            }
        )
    return rows


@require(can_read_procurement)
def inbound(request):
    items = list(key_items())
    errors = []
    today = local_today()
    raw_item = request.GET.get("item", "").strip()
    item = items[0] if items else None
    if raw_item:
        item = next((candidate for candidate in items if candidate.code == raw_item), None)
        if item is None:
            errors.append(_("Item: choose a key item from the list."))
    raw_date = request.GET.get("date", "").strip()
    day = today
    if raw_date:
        day = parse_iso_date(raw_date[:32])
        if day is None or not earliest_date() <= day <= today:
            errors.append(
                _("Date: %(date)s is not a date between %(earliest)s and today.")
                % {"date": raw_date[:20], "earliest": earliest_date().isoformat()}
            )
            day = None
    view = inbound_calendar_view(day, item=item) if item is not None and day else None
    context = {
        "items": items,
        "item": item,
        "date": day,
        "today": today,
        "earliest": earliest_date(),
        "errors": errors,
        "view": view,
        "rows": _rows(view) if view else [],
        "orders_kind": CHANNEL_ORDERS,
        "national_kind": CHANNEL_NATIONAL,
    }
    return render(request, "procurement/inbound.html", context, status=400 if errors else 200)
