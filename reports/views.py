import datetime as dt

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header, url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from supplycoord.lib.dates import local_today, parse_iso_date
from supplycoord.lib.permissions import can_read_reports, is_office, require
from supplycoord.models import Item, Prefecture
from supplycoord.selectors import key_items, user_can_view_prefecture

from . import exports, selectors
from .services import SnapshotDateInFuture, snapshot_build_request


def _requested_date(request) -> dt.date | None:
    """The ?date= asked for, else the latest built snapshot up to today."""
    asked = parse_iso_date(request.GET.get("date", ""))
    if asked:
        return asked
    return selectors.latest_built_date(on_or_before=local_today())


def _chosen_item(request, items):
    code = request.GET.get("item")
    for item in items:
        if item.code == code:
            return item
    return items[0] if items else None


@require(can_read_reports)
def overview(request):
    if not request.user.sees_whole_province:
        return redirect("reports:prefecture", code=request.user.prefecture.code)
    date = _requested_date(request)
    data = selectors.province_overview(request.user, date=date)
    item = _chosen_item(request, data.items)
    trend = selectors.trend_series(request.user, item=item, end=date) if item and date else None
    return render(
        request,
        "reports/overview.html",
        {
            "data": data,
            "date": date,
            "today": local_today(),
            "trend_item": item,
            "trend": trend,
            "trend_labels": _trend_labels(),
            "cutoff": settings.SUPPLYCOORD["CUTOFF_TIME"],
        },
    )


def _trend_labels():
    return {"stock": _("Stock"), "consumption": _("Consumption"), "demand": _("Demand")}


@require(can_read_reports)
def trend(request):
    """htmx partial: the 30-day chart of one item, for the province or one prefecture."""
    date = _requested_date(request)
    item = get_object_or_404(Item, code=request.GET.get("item", ""), is_key=True)
    prefecture = None
    if request.GET.get("prefecture"):
        prefecture = get_object_or_404(Prefecture, code=request.GET["prefecture"])
        if not user_can_view_prefecture(request.user, prefecture):
            raise Http404
    elif not request.user.sees_whole_province:
        raise Http404
    series = (
        selectors.trend_series(request.user, item=item, end=date, prefecture=prefecture)
        if date
        else None
    )
    return render(
        request,
        "reports/_trend.html",
        {
            "trend": series,
            "trend_item": item,
            "prefecture": prefecture,
            "trend_labels": _trend_labels(),
            "date": date,
        },
    )


@require(can_read_reports)
def prefecture_detail(request, code):
    prefecture = get_object_or_404(Prefecture, code=code)
    if not user_can_view_prefecture(request.user, prefecture):
        # Do not reveal that another prefecture's page exists.
        raise Http404
    date = _requested_date(request)
    items = list(key_items())
    item = _chosen_item(request, items)
    rows = (
        selectors.prefecture_item_rows(request.user, prefecture=prefecture, date=date)
        if date
        else []
    )
    return render(
        request,
        "reports/prefecture.html",
        {
            "prefecture": prefecture,
            "date": date,
            "build": selectors.snapshot_build_for(date) if date else None,
            "rows": rows,
            "items": items,
            "trend_item": item,
            "trend": selectors.trend_series(
                request.user, item=item, end=date, prefecture=prefecture
            )
            if item and date
            else None,
            "trend_labels": _trend_labels(),
            "history": selectors.reporting_history(prefecture=prefecture, end=date) if date else [],
        },
    )


@require(can_read_reports)
def item_detail(request, code):
    item = get_object_or_404(Item, code=code)
    date = _requested_date(request)
    rows = selectors.item_rows_by_cover(request.user, item=item, date=date) if date else []
    return render(
        request,
        "reports/item.html",
        {
            "item": item,
            "date": date,
            "build": selectors.snapshot_build_for(date) if date else None,
            "rows": rows,
            "rollup": selectors.rollup_for(item=item, date=date)
            if date and request.user.sees_whole_province
            else None,
        },
    )


@require(can_read_reports)
def daily_export(request, fmt):
    date = _requested_date(request)
    if date is None:
        raise Http404
    filename = exports.daily_report_filename(date, fmt)
    if fmt == "xlsx":
        response = HttpResponse(
            exports.daily_report_xlsx(request.user, date=date),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    elif fmt == "csv":
        response = StreamingHttpResponse(
            exports.daily_report_csv_lines(request.user, date=date),
            content_type="text/csv; charset=utf-8",
        )
    else:
        raise Http404
    # RFC 6266 with a UTF-8 filename*: the name is Chinese in the Chinese UI.
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response


@require_POST
@require(is_office)
def build(request):
    """Office staff rebuild a date's snapshot now (queued; eager without a broker)."""
    date = parse_iso_date(request.POST.get("date", "")) or local_today()
    try:
        snapshot_build_request(user=request.user, date=date)
    except SnapshotDateInFuture as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request, _("The snapshot of %(date)s is being built.") % {"date": date.isoformat()}
        )
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = reverse("reports:overview") + f"?date={date.isoformat()}"
    return redirect(target)
