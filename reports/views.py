import datetime as dt

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header, url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from supplycoord.lib.dates import earliest_date, is_reportable, local_today, parse_iso_date
from supplycoord.lib.permissions import can_read_reports, is_office, require
from supplycoord.models import Item, Prefecture
from supplycoord.selectors import key_items, user_can_view_prefecture

from . import exports, selectors
from .services import SnapshotDateOutOfRange, snapshot_build_request


def _requested_date(request, *, quiet=False) -> dt.date | None:
    """The ?date= asked for, else the latest built snapshot up to today.

    A date that cannot be read, or lies outside [earliest date, today], falls back to the
    default with a message saying so, rather than an empty or broken page.
    """
    default = selectors.latest_built_date(on_or_before=local_today())
    raw = request.GET.get("date", "").strip()
    if not raw:
        return default
    asked = parse_iso_date(raw)
    if asked is not None and is_reportable(asked):
        return asked
    if not quiet:
        messages.warning(
            request,
            _("%(date)s is not a date between %(earliest)s and today; showing %(shown)s instead.")
            % {
                "date": raw[:20],
                "earliest": earliest_date().isoformat(),
                "shown": default.isoformat() if default else "—",
            },
        )
    return default


def _chosen_item(request, items):
    code = request.GET.get("item")
    for item in items:
        if item.code == code:
            return item
    return items[0] if items else None


def _page_context(date, **extra):
    """What every dashboard page shows: the data's date, when it was built, today."""
    return {
        "date": date,
        "build": selectors.snapshot_build_for(date) if date else None,
        "today": local_today(),
        "earliest": earliest_date(),
        "red_days": settings.SUPPLYCOORD["RED_DAYS"],
        "amber_days": settings.SUPPLYCOORD["AMBER_DAYS"],
        "cutoff": settings.SUPPLYCOORD["CUTOFF_TIME"],
        "trend_labels": {
            "stock": _("Stock"),
            "consumption": _("Consumption"),
            "demand": _("Demand"),
        },
        **extra,
    }


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
        _page_context(date, data=data, trend_item=item, trend=trend),
    )


@require(can_read_reports)
def trend(request):
    """htmx partial: the 30-day chart of one item, for the province or one prefecture."""
    date = _requested_date(request, quiet=True)
    item = get_object_or_404(Item, code=request.GET.get("item", ""), is_key=True)
    prefecture = None
    if request.GET.get("prefecture"):
        prefecture = get_object_or_404(Prefecture, code=request.GET["prefecture"])
    series = None
    if date:
        series = selectors.trend_series(request.user, item=item, end=date, prefecture=prefecture)
        if series is None:
            # Another prefecture, or province totals for an officer: as if it did not exist.
            raise Http404
    return render(
        request,
        "reports/_trend.html",
        _page_context(date, trend=series, trend_item=item, prefecture=prefecture),
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
    user = request.user
    return render(
        request,
        "reports/prefecture.html",
        _page_context(
            date,
            prefecture=prefecture,
            items=items,
            rows=selectors.prefecture_item_rows(user, prefecture=prefecture, date=date)
            if date
            else [],
            trend_item=item,
            trend=selectors.trend_series(user, item=item, end=date, prefecture=prefecture)
            if item and date
            else None,
            history=selectors.reporting_history(user, prefecture=prefecture, end=date)
            if date
            else [],
        ),
    )


@require(can_read_reports)
def item_detail(request, code):
    item = get_object_or_404(Item, code=code)
    date = _requested_date(request)
    return render(
        request,
        "reports/item.html",
        _page_context(
            date,
            item=item,
            rows=selectors.item_rows_by_cover(request.user, item=item, date=date) if date else [],
            rollup=selectors.rollup_for(request.user, item=item, date=date) if date else None,
        ),
    )


@require(can_read_reports)
def daily_export(request, fmt):
    """The day's snapshot as a file; ?prefecture= narrows it to one (visible) prefecture."""
    if fmt not in ("xlsx", "csv"):
        raise Http404
    date = _requested_date(request, quiet=True)
    if date is None or selectors.snapshot_build_for(date) is None:
        # An empty file with zero totals would read as "no stock anywhere".
        raise Http404(_("No snapshot has been built for this date."))
    prefecture = None
    if request.GET.get("prefecture"):
        prefecture = get_object_or_404(Prefecture, code=request.GET["prefecture"])
        if not user_can_view_prefecture(request.user, prefecture):
            raise Http404
    filename = exports.daily_report_filename(date, fmt, prefecture=prefecture)
    if fmt == "xlsx":
        response = HttpResponse(
            exports.daily_report_xlsx(request.user, date=date, prefecture=prefecture),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    else:
        response = StreamingHttpResponse(
            exports.daily_report_csv_lines(request.user, date=date, prefecture=prefecture),
            content_type="text/csv; charset=utf-8",
        )
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
    except SnapshotDateOutOfRange as exc:
        messages.error(request, str(exc))
        date = local_today()
    else:
        messages.success(
            request, _("The snapshot of %(date)s is being built.") % {"date": date.isoformat()}
        )
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = reverse("reports:overview") + f"?date={date.isoformat()}"
    return redirect(target)
