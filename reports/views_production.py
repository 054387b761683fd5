"""The production dashboard page (生产调度看板), province-wide readers.

It is a report: production's capacity and output beside the province's consumption from the
built snapshots (reports/production_dashboard.py).
"""

from django.conf import settings
from django.contrib import messages
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from production.selectors import latest_report_date
from supplycoord.lib.dates import earliest_date, is_reportable, local_today, parse_iso_date
from supplycoord.permissions import require, sees_whole_province

from .production_dashboard import production_dashboard


def _requested_date(request):
    """The ?date= asked for, else the latest day with production reports up to today (today
    while nothing is reported): a date that cannot be read or lies outside [earliest date,
    today] shows that default, with a message saying so."""
    today = latest_report_date(on_or_before=local_today()) or local_today()
    raw = request.GET.get("date", "").strip()
    if not raw:
        return today
    asked = parse_iso_date(raw)
    if asked is not None and is_reportable(asked):
        return asked
    messages.warning(
        request,
        _("%(date)s is not a date between %(earliest)s and today; showing %(shown)s instead.")
        % {"date": raw[:20], "earliest": earliest_date().isoformat(), "shown": today.isoformat()},
    )
    return today


@require_GET
@require(sees_whole_province)
def dashboard(request):
    date = _requested_date(request)
    data = production_dashboard(date=date, item_code=request.GET.get("item"))
    return render(
        request,
        "reports/production_dashboard.html",
        {
            "data": data,
            "date": date,
            "today": local_today(),
            "earliest": earliest_date(),
            "picker_extra": {"item": data.item.code} if data.item else {},
            "licence_warning_days": settings.SUPPLYCOORD["LICENCE_WARNING_DAYS"],
            "utilisation_days": settings.SUPPLYCOORD["UTILISATION_FLAG_DAYS"],
            "utilisation_percent": round(100 * settings.SUPPLYCOORD["UTILISATION_FLAG_BELOW"]),
            "chart_labels": {
                "capacity": _("Commissioned capacity"),
                "output": _("Output"),
                "consumption": _("Province consumption"),
                "share": _("Back in production (%)"),
            },
        },
    )
