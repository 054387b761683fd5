"""Pages of decision support: spot checks (比对抽查) with their follow-ups and notice list, and
the shortage alerts (the user's own list and the overview's panel).

Thin: they validate the request and call reports/spotchecks.py and reports/alerts.py.
"""

from decimal import Decimal

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from procurement.inbound import overdue_inbound_by_item
from procurement.selectors import units_over_capital_line
from supplycoord.lib.dates import is_reportable, local_today, parse_iso_date
from supplycoord.models import Item
from supplycoord.permissions import (
    can_follow_up_spot_checks,
    can_read_prefecture_data,
    can_read_procurement,
    can_read_spot_checks,
    require,
    sees_whole_province,
)
from supplycoord.views_exports import export_response

from . import alerts as alert_service
from . import exports, spotchecks
from .models import AlertKind, SpotCheckFlag, SpotCheckStatus, significant
from .views import _page_context, _requested_date, _safe_next

# The spot checks compare consumption over the 7 days [d-6, d] (reports.md "Spot checks");
# people read a daily figure per person, so the words divide by these days.
SPOT_CHECK_DAYS = 7


def spot_check_flag_in_words(flag) -> str:
    """A flag in plain words, in the reader's language, with the item's unit:
    "每名保障人员日均消耗 0.714 只，为各市州中位数的 5.0 倍"."""
    figure, median = Decimal(flag.figure), Decimal(flag.median)
    unit = flag.item.get_unit_display()
    daily = significant(figure / SPOT_CHECK_DAYS)
    if median == 0:
        return _(
            "Each protected person used %(daily)s %(unit)s a day on average, where the "
            "median of the prefectures is 0."
        ) % {"daily": daily, "unit": unit}
    ratio = figure / median
    ratio_shown = f"{ratio:,.1f}" if ratio >= Decimal("0.1") else significant(ratio, 2)
    return _(
        "Each protected person used %(daily)s %(unit)s a day on average, %(ratio)s times the "
        "median of the prefectures (%(median)s %(unit)s a day)."
    ) % {
        "daily": daily,
        "unit": unit,
        "ratio": ratio_shown,
        "median": significant(median / SPOT_CHECK_DAYS),
    }


# Flags are few (about 140 of 20,400 figures at national scale) but each carries its form and
# notes: a page of them keeps the page light.
SPOT_CHECK_FLAGS_PAGE_SIZE = 50


@require(can_read_spot_checks)
def spot_checks(request):
    """The flags of a date (default: the latest built), a page at a time, the comparison of
    every key item, the chart of one item (?item=, default the first with flags), and the
    follow-up form (office). Everything is read as the build's spot-check job stored it."""
    date = _requested_date(request)
    threshold, min_prefectures = spotchecks.spot_check_policy()
    comparisons = spotchecks.spot_check_stored_comparisons(date=date) if date else []
    flags_page = Paginator(
        spotchecks.spot_check_flags(request.user, date=date)
        if date
        else SpotCheckFlag.objects.none(),
        SPOT_CHECK_FLAGS_PAGE_SIZE,
    ).get_page(request.GET.get("page"))
    flags = list(flags_page)
    for flag in flags:
        flag.in_words = spot_check_flag_in_words(flag)
    flagged_items = {flag.item_id for flag in flags}
    chartable = {
        c.item.code: c
        for c in comparisons
        if c.prefectures_compared and c.skipped != spotchecks.SKIPPED_TOO_FEW
    }
    chosen = chartable.get(request.GET.get("item", ""))
    if chosen is None:
        chosen = next(
            (c for c in chartable.values() if c.outliers_count or c.item_id in flagged_items),
            None,
        )
    charts = (
        [
            {
                "id": f"spotcheck-{chosen.item.code}",
                "data": spotchecks.spot_check_stored_chart(chosen),
                "item": chosen.item,
            }
        ]
        if chosen is not None
        else []
    )
    return render(
        request,
        "reports/spotchecks.html",
        _page_context(
            date,
            flags=flags,
            flags_page=flags_page,
            comparisons=comparisons,
            chartable=set(chartable),
            charts=charts,
            chart_labels={"median": _("Median"), "figure": _("Per protected person")},
            actions=[c for c in SpotCheckStatus.choices if c[0] != SpotCheckStatus.NONE],
            may_follow_up=can_follow_up_spot_checks(request.user),
            threshold=float(threshold),
            min_prefectures=min_prefectures,
            skipped_too_few=spotchecks.SKIPPED_TOO_FEW,
            skipped_mad_zero=spotchecks.SKIPPED_MAD_ZERO,
            next=request.get_full_path(),
        ),
    )


@require_POST
@require(can_follow_up_spot_checks)
def spot_check_follow_up(request, pk):
    """The office records a follow-up (POST action=..., note=...) and goes back to the page."""
    flag = get_object_or_404(SpotCheckFlag.objects.select_related("prefecture", "item"), pk=pk)
    default = reverse("reports:spot_checks") + f"?date={flag.date.isoformat()}"
    try:
        spotchecks.spot_check_follow_up_record(
            user=request.user,
            flag=flag,
            action=request.POST.get("action", ""),
            note=request.POST.get("note", ""),
        )
    except spotchecks.FollowUpRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            _("Follow-up saved: %(prefecture)s, %(item)s.")
            % {"prefecture": flag.prefecture.name, "item": flag.item.name},
        )
    return redirect(_safe_next(request, default))


@require(can_read_spot_checks)
def spot_check_notice(request):
    """The notice list (通报) of a date as .xlsx."""
    date = _requested_date(request, quiet=True)
    if date is None:
        raise Http404(_("No snapshot has been built for this date."))
    export = exports.SpotCheckNoticeExport(request.user, {"date": date.isoformat()})
    return export_response(export, "xlsx", user=request.user)


@require(can_read_prefecture_data)
def alerts(request):
    """The user's alerts: open ones by default, or all (history); officers see their own."""
    show = request.GET.get("show", "open")
    if show not in ("open", "all"):
        show = "open"
    kind = request.GET.get("kind", "")
    if kind not in AlertKind.values:
        kind = ""
    today = local_today()
    page = alert_service.alerts_page(
        request.user,
        open_only=show == "open",
        kind=kind,
        page_number=request.GET.get("page"),
        today=today,
    )
    return render(
        request,
        "reports/alerts.html",
        {
            "today": today,
            "page": page,
            "show": show,
            "kind": kind,
            "kinds": AlertKind.choices,
            "counts": alert_service.open_alert_counts(request.user),
            "overdue_inbound": _overdue_inbound(request.user, today),
            "units_over": units_over_capital_line() if can_read_procurement(request.user) else None,
        },
    )


def _overdue_inbound(user, today):
    """Overdue inbound (issue 14) per item for the office and leadership, each linked to its
    inbound calendar's overdue list; None for everyone else. Three queries."""
    if not can_read_procurement(user):
        return None
    rows = overdue_inbound_by_item(today)
    items = Item.objects.in_bulk([row.item_id for row in rows]) if rows else {}
    return [(items[row.item_id], row) for row in rows if row.item_id in items]


@require(sees_whole_province)
def alerts_panel(request):
    """htmx partial for the overview: open alerts by kind and the latest ones, their ages as
    of the overview's date (?date=, as its overdue table counts them); today when none is
    given or it is not a date the overview could show."""
    asked = parse_iso_date(request.GET.get("date", ""))
    as_of = asked if asked is not None and is_reportable(asked) else local_today()
    return render(
        request,
        "reports/_alerts_panel.html",
        {"alerts_panel": alert_service.alerts_panel(request.user, as_of=as_of), "date": as_of},
    )
