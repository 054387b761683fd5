import datetime as dt

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from supplycoord.lib.dates import local_today, parse_iso_date
from supplycoord.lib.permissions import can_enter_daily_figures, can_read_protected_staff, require
from supplycoord.selectors import prefectures_visible_to, user_can_report_for_prefecture

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
    return prefectures_visible_to(user).filter(active=True).order_by("code").first()


@require(can_enter_daily_figures)
def daily_entry(request):
    """The officer's daily form: one row per key item, all saved together or none."""
    source = request.POST if request.method == "POST" else request.GET
    prefecture = _entry_prefecture(request, source)
    if prefecture is None or not user_can_report_for_prefecture(request.user, prefecture):
        raise PermissionDenied
    today = local_today()
    date = parse_iso_date(source.get("date", "")) or today
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
            "min_date": None
            if request.user.is_office
            else today - dt.timedelta(days=settings.SUPPLYCOORD["OFFICER_BACKDATE_DAYS"]),
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
            if key.startswith("staff-"):
                _prefix, p_code, c_code = key.split("-", 2)
                counts[(p_code, c_code)] = value
        try:
            changed = protected_staff_set(user=request.user, counts=counts)
        except ProtectedStaffInvalid as exc:
            errors = {f"staff-{p}-{c}": message for (p, c), message in exc.errors.items()}
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
