from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from supplycoord.lib.dates import local_today, parse_iso_date
from supplycoord.lib.permissions import can_enter_daily_figures, can_read_protected_staff, require
from supplycoord.selectors import (
    earliest_entry_date,
    prefectures_visible_to,
    user_can_report_for_prefecture,
)

from . import selectors
from .models import FIGURE_FIELDS
from .services import (
    DailyFiguresInvalid,
    DailyFiguresOutOfScope,
    ProtectedStaffInvalid,
    daily_figures_submit,
    protected_staff_set,
)


def _entry_prefecture(request, source):
    user = request.user
    if user.is_prefecture_officer:
        return user.prefecture
    code = source.get("prefecture")
    if code:
        return get_object_or_404(prefectures_visible_to(user).filter(active=True), code=code)
    if request.method == "POST":
        # Office staff report for many prefectures: a save must say which one.
        raise Http404
    return prefectures_visible_to(user).filter(active=True).order_by("code").first()


def _entry_date(request, source, *, today, first_allowed):
    """The date to open the form on. A posted date goes to the service as it is (it reports
    errors); an unusable ?date= on GET opens today's form with a message."""
    raw = source.get("date", "").strip()
    date = parse_iso_date(raw)
    if request.method == "POST" or not raw:
        return date or today
    if date is None or not first_allowed <= date <= today:
        messages.warning(
            request,
            _("Figures can be entered for %(first)s to %(today)s; opened today's form instead.")
            % {"first": first_allowed.isoformat(), "today": today.isoformat()},
        )
        return today
    return date


@require(can_enter_daily_figures)
def daily_entry(request):
    """The officer's daily form: one row per key item, all saved together or none."""
    source = request.POST if request.method == "POST" else request.GET
    prefecture = _entry_prefecture(request, source)
    if prefecture is None or not user_can_report_for_prefecture(request.user, prefecture):
        raise PermissionDenied
    today = local_today()
    first_allowed = earliest_entry_date(request.user, today=today)
    date = _entry_date(request, source, today=today, first_allowed=first_allowed)
    rows = selectors.daily_entry_rows(prefecture=prefecture, date=date)
    reason = source.get("reason", "").strip()
    page_errors = []

    if request.method == "POST":
        submitted = []
        for row in rows:
            values = {
                field: request.POST.get(f"{row.item.code}-{field}", "") for field in FIGURE_FIELDS
            }
            row.values = values
            submitted.append(
                {
                    "prefecture": prefecture,
                    "item": row.item,
                    "date": source.get("date", ""),
                    **values,
                }
            )
        try:
            result = daily_figures_submit(user=request.user, rows=submitted, reason=reason)
        except DailyFiguresOutOfScope as exc:
            raise PermissionDenied from exc
        except DailyFiguresInvalid as exc:
            for error in exc.errors:
                if error.field in ("date", "prefecture", "reason", "non_field_errors"):
                    if error.message not in page_errors:
                        page_errors.append(error.message)
                else:
                    rows[error.row].errors[error.field] = error.message
        else:
            messages.success(
                request,
                _(
                    "Saved the figures of %(prefecture)s for %(date)s: %(created)d new, %(updated)d corrected, %(unchanged)d unchanged."
                )
                % {
                    "prefecture": prefecture.name,
                    "date": date.isoformat(),
                    "created": result.created,
                    "updated": result.updated,
                    "unchanged": result.unchanged,
                },
            )
            url = reverse("inventory:daily_entry") + f"?date={date.isoformat()}"
            if not request.user.is_prefecture_officer:
                url += f"&prefecture={prefecture.code}"
            return redirect(url)

    return render(
        request,
        "inventory/daily_entry.html",
        {
            "prefecture": prefecture,
            "prefectures": None
            if request.user.is_prefecture_officer
            else prefectures_visible_to(request.user).filter(active=True).order_by("code"),
            "date": date,
            "today": today,
            "min_date": first_allowed,
            "cutoff": settings.SUPPLYCOORD["CUTOFF_TIME"],
            "rows": rows,
            "fields": FIGURE_FIELDS,
            "reason": reason,
            "page_errors": page_errors,
            "has_errors": bool(page_errors) or any(r.errors for r in rows),
            "is_past": date < today,
            "already_entered": any(r.existing for r in rows),
        },
    )


@require(can_read_protected_staff)
def protected_staff(request):
    """保障人员数: the office edits every prefecture's counts; an officer reads their own."""
    errors = {}
    if request.method == "POST":
        if not request.user.is_office:
            raise PermissionDenied
        counts = {}
        for key, value in request.POST.items():
            # Fields are named staff:<prefecture code>:<category code>; codes never hold ":".
            parts = key.split(":")
            if len(parts) == 3 and parts[0] == "staff":
                counts[(parts[1], parts[2])] = value
        try:
            changed = protected_staff_set(user=request.user, counts=counts)
        except ProtectedStaffInvalid as exc:
            errors = {f"staff:{p}:{c}": message for (p, c), message in exc.errors.items()}
        else:
            messages.success(request, _("Protected staff saved: %(n)d changed.") % {"n": changed})
            return redirect("inventory:protected_staff")
    categories, rows = selectors.protected_staff_table(request.user)
    return render(
        request,
        "inventory/protected_staff.html",
        {
            "categories": categories,
            "rows": rows,
            "errors": errors,
            "posted": request.POST if errors else {},
            "editable": request.user.is_office,
        },
    )
