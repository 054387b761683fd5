"""Reads of the shared core, and the one place that says who may see which prefecture.

Every page, export and API endpoint scopes its rows through these functions, so an officer
of one prefecture never meets another prefecture's data, whatever door they come in by.
"""

import datetime as dt

from django.conf import settings
from django.db.models import QuerySet

from .lib.dates import earliest_date
from .models import Item, Prefecture, Role


def prefectures_visible_to(user) -> QuerySet[Prefecture]:
    if not getattr(user, "is_authenticated", False):
        return Prefecture.objects.none()
    if user.sees_whole_province:
        return Prefecture.objects.all()
    if user.effective_role == Role.PREFECTURE_OFFICER and user.prefecture_id:
        return Prefecture.objects.filter(pk=user.prefecture_id)
    return Prefecture.objects.none()


def prefecture_ids_visible_to(user) -> set[int] | None:
    """The ids a user may read, or None for "the whole province" (no filter needed)."""
    if getattr(user, "is_authenticated", False) and user.sees_whole_province:
        return None
    return set(prefectures_visible_to(user).values_list("pk", flat=True))


def user_can_view_prefecture(user, prefecture: Prefecture) -> bool:
    ids = prefecture_ids_visible_to(user)
    return ids is None or prefecture.pk in ids


def user_can_report_for_prefecture(user, prefecture: Prefecture) -> bool:
    """Who may enter daily figures: office staff and admins anywhere, an officer at home."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.is_office:
        return True
    return user.is_prefecture_officer and user.prefecture_id == prefecture.pk


def user_may_backdate_freely(user) -> bool:
    """Officers may enter dates up to the back-dating window; office staff any past date."""
    return getattr(user, "is_authenticated", False) and user.is_office


def earliest_entry_date(user, *, today: dt.date) -> dt.date:
    """The first date this user may enter daily figures for (the last is today)."""
    if user_may_backdate_freely(user):
        return earliest_date()
    window = dt.timedelta(days=settings.SUPPLYCOORD["OFFICER_BACKDATE_DAYS"])
    return max(earliest_date(), today - window)


def active_prefectures() -> QuerySet[Prefecture]:
    return Prefecture.objects.filter(active=True).order_by("code")


def key_items() -> QuerySet[Item]:
    return Item.objects.filter(is_key=True, active=True).order_by("sort_order", "code")
