"""Reads of the shared core: prefectures a user sees (by the rule in supplycoord.permissions),
the entry window, reference data.

Every page, export and API endpoint scopes its rows through these functions, so an officer
of one prefecture never meets another prefecture's data, whatever door they come in by.
"""

import datetime as dt

from django.conf import settings
from django.db.models import QuerySet

from .lib.dates import earliest_date
from .models import Item, Prefecture
from .permissions import can_backdate_freely, scope_to_prefecture, sees_whole_province


def prefectures_visible_to(user) -> QuerySet[Prefecture]:
    return scope_to_prefecture(user, Prefecture.objects.all(), "pk")


def prefecture_ids_visible_to(user) -> set[int] | None:
    """The ids a user may read, or None for "the whole province" (no filter needed)."""
    if sees_whole_province(user):
        return None
    return set(prefectures_visible_to(user).values_list("pk", flat=True))


def earliest_entry_date(user, *, today: dt.date) -> dt.date:
    """The first date this user may enter daily figures for (the last is today)."""
    if can_backdate_freely(user):
        return earliest_date()
    window = dt.timedelta(days=settings.SUPPLYCOORD["OFFICER_BACKDATE_DAYS"])
    return max(earliest_date(), today - window)


def active_prefectures() -> QuerySet[Prefecture]:
    return Prefecture.objects.filter(active=True).order_by("code")


def key_items() -> QuerySet[Item]:
    return Item.objects.filter(is_key=True, active=True).order_by("sort_order", "code")
