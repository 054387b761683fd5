import datetime as dt

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.functional import SimpleLazyObject
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from allocation.selectors import (
    batches_awaiting_approval,
    overdue_batch_count,
    overdue_batches,
)
from supplycoord.lib.cache import cache_key, cached, cached_render
from supplycoord.lib.dates import (
    earliest_date,
    is_reportable,
    local_date,
    local_today,
    parse_iso_date,
)
from supplycoord.models import Item, Prefecture
from supplycoord.permissions import (
    can_approve_batch,
    can_build_snapshots,
    can_read_prefecture_data,
    can_report_for_prefecture,
    can_view_prefecture,
    require,
)
from supplycoord.selectors import (
    earliest_entry_date,
    key_items,
    prefectures_visible_to,
)
from supplycoord.views_exports import export_response

from . import alerts, exports, selectors, services
from .models import ReconciliationAction, ReconciliationStatus, Status
from .services import SnapshotDateOutOfRange, snapshot_build_request


def _requested_date(request, *, quiet=False, covered=False, **progress) -> dt.date | None:
    """The ?date= asked for, else the latest built snapshot up to today.

    A date that cannot be read, or lies outside [earliest date, today], falls back to the
    default with a message saying so, rather than an empty or broken page. The default is
    read only when it is shown. `progress=`: today's reports_in_progress, read already.
    """

    def default():
        # Pages of province figures open on the latest date whose coverage meets the
        # threshold, and not on today while its reports are still coming in.
        if covered:
            return selectors.dashboard_default_date(today=local_today(), **progress)
        return selectors.latest_built_date(on_or_before=local_today())

    raw = request.GET.get("date", "").strip()
    if not raw:
        return default()
    asked = parse_iso_date(raw)
    if asked is not None and is_reportable(asked):
        return asked
    default = default()
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


def _thresholds() -> dict:
    """The thresholds and cut-off the dashboards' legends and hints show."""
    return {
        "red_days": settings.SUPPLYCOORD["RED_DAYS"],
        "amber_days": settings.SUPPLYCOORD["AMBER_DAYS"],
        "cutoff": settings.SUPPLYCOORD["CUTOFF_TIME"],
        "coverage_threshold_pct": round(float(settings.SUPPLYCOORD["COVERAGE_THRESHOLD"]) * 100),
    }


def _page_context(date, **extra):
    """What every dashboard page shows: the data's date, when it was built, today.

    A page that has read the build already passes it as `build`: not read twice.
    """
    return {
        "date": date,
        "build": selectors.snapshot_build_for(date) if date and "build" not in extra else None,
        "today": local_today(),
        "earliest": earliest_date(),
        **_thresholds(),
        "trend_labels": {
            "stock": _("Stock"),
            "consumption": _("Consumption"),
            "demand": _("Demand"),
            "partial": _("Partial: below the coverage threshold"),
        },
        **extra,
    }


# How many rows each list on the overview shows before its "all" link.
OVERVIEW_LIST_SIZE = 20


@require(can_read_prefecture_data)
def overview(request):
    if not request.user.sees_whole_province:
        return redirect("reports:prefecture", code=request.user.prefecture.code)
    today = local_today()
    # Today's reporting, read once: where the page opens by default and its banner.
    progress = selectors.reports_in_progress(today=today)
    date = _requested_date(request, covered=True, progress=progress)
    build = selectors.snapshot_build_for(date) if date else None
    # The prefectures and key items the figures are drawn over, counted and hashed by
    # PostgreSQL: read as model instances only when the figures are rendered.
    register = selectors.overview_register(request.user)
    # The key items, read (once) only when a cached rendering below is missing.
    items = SimpleLazyObject(lambda: list(key_items()))
    # The figures of the build, read only when its cached rendering is missing; tests reach
    # them through the response's context either way.
    data = SimpleLazyObject(
        lambda: selectors.province_overview(request.user, date=date, build=build, items=items)
    )
    # Batches on the road and alerts are live: counted as of today on the page as it opens
    # (which may be yesterday's figures while today's reports come in), as of the page's date
    # when one is asked for; the table and the alerts beside it use the same date.
    as_of = date if (request.GET.get("date", "").strip() and date) else today
    item = selectors.key_item_or_first(request.GET.get("item")) if date else None
    trend = selectors.trend_series(request.user, item=item, end=date) if item and date else None
    # Prefectures with the most gaps waiting first, so the bounded list shows them.
    reconciliation, reconciliation_total = selectors.reconciliation_waiting_by_prefecture(
        request.user, limit=OVERVIEW_LIST_SIZE
    )
    overdue = overdue_batches(request.user, date=as_of, limit=OVERVIEW_LIST_SIZE)
    overdue_total = overdue_batch_count(request.user, date=as_of)
    overdue_all = "1" if as_of == today else as_of.isoformat()
    panel = alerts.alerts_panel(request.user, as_of=as_of)
    return render(
        request,
        "reports/overview.html",
        _page_context(
            date,
            data=data,
            build=build,
            as_heatmap=register.as_heatmap,
            built=_overview_built(request.user, date, build, data, register) if date else None,
            trend_options=_trend_options(register, items, item) if item else "",
            # A rebuild pending or failed: the figures shown may be out of date.
            rebuild=selectors.snapshot_rebuild_for(date) if date else None,
            trend_item=item,
            trend=trend,
            # Every list is bounded (issue 13): the first OVERVIEW_LIST_SIZE, with the total
            # and a link to all of them.
            reconciliation=reconciliation,
            reconciliation_total=reconciliation_total,
            overdue=overdue,
            overdue_total=overdue_total,
            overdue_as_of=as_of,
            overdue_all=overdue_all,
            list_size=OVERVIEW_LIST_SIZE,
            # The three live lists as HTML, each rendered once per what it shows (called by
            # the page's template, after it: the page's context is the one tests read).
            reconciliation_html=lambda: _reconciliation_html(reconciliation, reconciliation_total),
            overdue_html=lambda: _overdue_html(overdue, overdue_total, as_of, overdue_all),
            alerts_panel_html=lambda: _alerts_panel_html(panel),
            # Drafts waiting for leadership, approvable here (issue 12).
            awaiting=_awaiting_approval(request.user),
            # Today's reports still coming in (not all prefectures have reported): a banner.
            in_progress=progress if date != today else None,
            # Rendered with the page, not fetched after it: the first thing leadership reads.
            alerts_panel=panel,
        ),
    )


def _overview_built(request_user, date, build, data, register) -> dict:
    """The overview's figures of one build as HTML: {"figures", "completeness"}.

    Rendering them (20,400 cells as a heatmap blob, the 60 rollups, the reporting lists) took
    most of an overview request at national scale. Nothing but a build writes what they show,
    and every build gives its date a new `version`: so they are rendered once per build
    version, language and register (the prefectures the user sees and the items, with their
    names, units and order: selectors.overview_register) and the settings shown, and kept in
    the cache (supplycoord.lib.cache). A date without a build is rendered each time.
    """

    def render():
        context = {
            "date": date,
            "data": data,
            **_thresholds(),
            "list_size": OVERVIEW_LIST_SIZE,
            "heatmap_labels": _heatmap_labels() if data.heatmap else None,
            "heatmap_json": (
                _json_script_of(data.heatmap.json, "cover-heatmap-data") if data.heatmap else ""
            ),
        }
        return {
            "figures": render_to_string("reports/_overview_figures.html", context),
            "completeness": render_to_string("reports/_overview_completeness.html", context),
        }

    if build is None:
        return render()
    key = cache_key(
        "overview-built",
        date.isoformat(),
        build.version.hex,
        get_language(),
        # Only whole-province roles reach the overview today; the province totals in the
        # figures are theirs alone (province_overview), so the key says whose they are.
        bool(request_user.sees_whole_province),
        register,
        [settings.SUPPLYCOORD[name] for name in _OVERVIEW_SETTINGS],
        OVERVIEW_LIST_SIZE,
    )
    # Rendered here by our own templates: safe, also after a trip through the cache.
    return {part: mark_safe(html) for part, html in cached(key, render).items()}  # noqa: S308


def _trend_options(register, items, item) -> str:
    """The trend's item choice (an <option> per key item, `item` selected), rendered once per
    register, language and chosen item (60 names a request were a tenth of the page's
    template time)."""

    def render():
        return render_to_string(
            "reports/_overview_trend_options.html", {"items": items, "trend_item": item}
        ).strip()

    key = cache_key("overview-trend-options", register, get_language(), item.pk, item.code)
    return mark_safe(cached(key, render))  # noqa: S308 - our own template, as above


def _reconciliation_html(rows, total) -> str:
    return cached_render(
        "reports/_overview_reconciliation.html",
        {
            "reconciliation": [
                {
                    "code": r["prefecture"].code,
                    "name": r["prefecture"].name,
                    "open": r["open"],
                    "explained": r["explained"],
                }
                for r in rows
            ],
            "reconciliation_total": total,
        },
    )


def _overdue_html(batches, total, as_of, all_link) -> str:
    return cached_render(
        "reports/_overview_overdue.html",
        {
            "overdue": [
                {
                    "number": b.number,
                    "destination": b.destination.name,
                    "expected_arrival": b.expected_arrival,
                    "days_overdue": b.days_overdue,
                    "in_transit": b.in_transit,
                }
                for b in batches
            ],
            "overdue_total": total,
            "overdue_as_of": as_of,
            "overdue_all": all_link,
        },
    )


def _alerts_panel_html(panel) -> str:
    return cached_render(
        "reports/_alerts_panel.html",
        {
            "alerts_panel": {
                "counts": [(kind, str(label), n) for kind, label, n in panel["counts"]],
                "total": panel["total"],
                "latest": [
                    {"kind": a.kind, "summary": a.summary, "opened_on": a.opened_on}
                    for a in panel["latest"]
                ],
                "as_of": panel["as_of"],
            }
        },
    )


# The settings the overview's cached figures show or depend on.
_OVERVIEW_SETTINGS = (
    "RED_DAYS",
    "AMBER_DAYS",
    "CUTOFF_TIME",
    "COVERAGE_THRESHOLD",
    "OVERVIEW_TABLE_MAX_CELLS",
)


# What json_script escapes, so the blob cannot close its <script> element.
_JSON_SCRIPT_ESCAPES = {ord("<"): "\\u003C", ord(">"): "\\u003E", ord("&"): "\\u0026"}


def _json_script_of(text: str, element_id: str) -> str:
    """json_script for JSON already written (the heatmap's compact blob: no space after "," and
    ":", names in UTF-8 rather than \\u escapes, 60 kB less at 340 × 60)."""
    return format_html(
        '<script id="{}" type="application/json">{}</script>',
        element_id,
        mark_safe(text.translate(_JSON_SCRIPT_ESCAPES)),  # noqa: S308 - escaped above
    )


def _heatmap_labels() -> dict:
    """The words static/js/heatmap.js puts in a cell's tooltip."""
    return {
        "days_of_cover": _("Days of cover"),
        "stock": _("Stock"),
        "stale": _("stock carried forward from an earlier day (stale)"),
        "no_row": _("No figures for this date."),
        **{status.value: status.label for status in Status},
    }


def _awaiting_approval(user) -> dict:
    batches, more = batches_awaiting_approval(user)
    # can_approve_batch reads only the user's role: one answer for every row.
    can_approve = bool(batches) and can_approve_batch(user, batches[0])
    return {"batches": batches, "more": more, "can_approve": can_approve}


@require(can_read_prefecture_data)
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


@require(can_read_prefecture_data)
def prefecture_detail(request, code):
    prefecture = get_object_or_404(Prefecture, code=code)
    if not can_view_prefecture(request.user, prefecture):
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


@require(can_read_prefecture_data)
def item_detail(request, code):
    item = get_object_or_404(Item, code=code)
    date = _requested_date(request, covered=True)
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


@require(can_read_prefecture_data)
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
        if not can_view_prefecture(request.user, prefecture):
            raise Http404
    params = {"date": date.isoformat(), "prefecture": prefecture.code if prefecture else ""}
    export = exports.DailyReportExport(request.user, params)
    return export_response(export, fmt, user=request.user, csv_lines=exports.daily_report_csv_lines)


@require_POST
@require(can_build_snapshots)
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


# --- The reconciliation queue ---------------------------------------------------------------

RECONCILIATION_SERVICES = {
    ReconciliationAction.EXPLAIN: services.reconciliation_explain,
    ReconciliationAction.ACCEPT: services.reconciliation_accept,
    ReconciliationAction.REOPEN: services.reconciliation_reopen,
}


def _reconciliation_row(user, case, *, today):
    """What a queue row shows besides the case: its latest note, its age in days, the actions
    the user may take, and where to correct the figures (the day and the day before, which
    both make the gap), within the dates the user may enter."""
    case.latest_note = case.log[-1] if case.log else None
    case.age_days = (today - local_date(case.opened_at)).days
    case.actions = services.reconciliation_actions_allowed(user, case)
    case.correct_links = []
    pending = selectors.RECONCILIATION_STATUS_FILTERS["pending"]
    if case.status in pending and can_report_for_prefecture(user, case.prefecture):
        first_allowed = earliest_entry_date(user, today=today)
        for day in (case.date, case.date - dt.timedelta(days=1)):
            if day >= first_allowed:
                if case.prefecture.reports_as_sum_of_counties:
                    # Its figures are its counties' sums: they are corrected county by county.
                    url = reverse("inventory:county_status") + (
                        f"?prefecture={case.prefecture.code}&date={day.isoformat()}"
                    )
                else:
                    url = reverse("inventory:daily_entry") + f"?date={day.isoformat()}"
                    if not user.is_prefecture_officer:
                        url += f"&prefecture={case.prefecture.code}"
                case.correct_links.append((day, url))
    return case


def _safe_next(request, default):
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return default


@require(can_read_prefecture_data)
def reconciliation(request):
    """The queue of non-zero reconciliation gaps, oldest first; an officer sees their own."""
    user = request.user
    status = request.GET.get("status", "pending")
    if status not in selectors.RECONCILIATION_STATUS_FILTERS:
        status = "pending"
    prefecture = None
    if request.GET.get("prefecture"):
        prefecture = get_object_or_404(Prefecture, code=request.GET["prefecture"])
        if not can_view_prefecture(user, prefecture):
            raise Http404
    page = selectors.reconciliation_queue(
        user,
        statuses=selectors.RECONCILIATION_STATUS_FILTERS[status],
        prefecture=prefecture,
        page_number=request.GET.get("page"),
    )
    today = local_today()
    for case in page:
        _reconciliation_row(user, case, today=today)
    return render(
        request,
        "reports/reconciliation.html",
        {
            "page": page,
            "status": status,
            "status_choices": [
                ("pending", _("Waiting (open or explained)")),
                *ReconciliationStatus.choices,
                ("all", _("All")),
            ],
            "prefecture": prefecture,
            "prefectures": list(prefectures_visible_to(user).order_by("code"))
            if user.sees_whole_province
            else [],
            "next": request.get_full_path(),
        },
    )


@require_POST
@require(can_read_prefecture_data)
def reconciliation_act(request, pk):
    """Explain, accept or reopen one case (POST action=..., note=...).

    htmx gets the case's row back, with the refusal in it if there is one; a plain form post
    is redirected back to the queue with a message. Another prefecture's case is a 404; an
    action the user's role may not take is a 403.
    """
    user = request.user
    case = selectors.reconciliation_case_visible_to(user, pk)
    if case is None:
        raise Http404
    service = RECONCILIATION_SERVICES.get(request.POST.get("action", ""))
    if service is None:
        return HttpResponseBadRequest(_("Unknown action."))
    note = request.POST.get("note", "")
    error = None
    try:
        service(user=user, case=case, note=note)
    except services.ReconciliationActionRefused as exc:
        error = str(exc)
    queue_url = reverse("reports:reconciliation")
    if request.headers.get("HX-Request") == "true":
        case = selectors.reconciliation_case_visible_to(user, pk)
        return render(
            request,
            "reports/reconciliation_row.html",
            {
                "case": _reconciliation_row(user, case, today=local_today()),
                "error": error,
                "note": note if error else "",
                "next": _safe_next(request, queue_url),
            },
        )
    if error:
        messages.error(request, error)
    else:
        messages.success(
            request,
            _("Saved: %(prefecture)s, %(item)s, %(date)s.")
            % {
                "prefecture": case.prefecture.name,
                "item": case.item.name,
                "date": case.date.isoformat(),
            },
        )
    return redirect(_safe_next(request, queue_url))
