"""The big screen (大屏, /screen/) and the small province map (issue 16 §1).

The screen is one page and three parts it fetches again every SCREEN_POLL_SECONDS (60 s):
`headline` (the province's figures of the day), `build` (the map's data and each key item's
figures, from the latest build) and `alerts`. Each part answers with an ETag, a hash of what
it renders; screen.js sends it back in If-None-Match, and an unchanged part is a 304 that
htmx does not swap. A part that fails keeps its old content (screen.js marks it stale).
"""

import hashlib
from functools import wraps
from urllib.parse import urlencode, urlsplit

from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpResponse, HttpResponseNotModified
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.utils.http import parse_etags, url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from supplycoord.lib.dates import local_today
from supplycoord.models import Item, Prefecture, Province
from supplycoord.permissions import can_read_prefecture_data, can_view_screen, require

from . import screen_selectors as screen
from . import selectors
from .models import Status
from .views import _requested_date, _thresholds


def _date(request):
    """The screen's date: ?date= (a past day on the wall), else where the dashboards open
    (the latest build whose coverage meets the threshold, not today while reports come in)."""
    return _requested_date(request, quiet=True, covered=True)


def _part_headline(request, date):
    today = local_today()
    return {
        "date": date,
        "live": screen.screen_live(request.user, today=today),
        "worst": screen.prefectures_by_worst_status(request.user, date=date),
        **_thresholds(),
    }


def _part_build(request, date):
    province = screen.map_province_code(request.user)
    data = screen.screen_build(request.user, date=date, province_code=province)
    return {"date": date, "data": data, "blob": data.blob, **_thresholds()}


def _part_alerts(request, date):
    return {"panel": screen.screen_alerts(request.user, today=local_today())}


PARTS = {
    "headline": ("reports/_screen_headline.html", _part_headline),
    "build": ("reports/_screen_build.html", _part_build),
    "alerts": ("reports/_screen_alerts.html", _part_alerts),
}


def _render_part(request, name, date) -> tuple[str, str]:
    """A part's HTML and its ETag (a hash of the HTML: the language, the figures and the
    words all in it)."""
    template, context = PARTS[name]
    html = render_to_string(template, context(request, date), request=request)
    return html, '"' + hashlib.sha256(html.encode()).hexdigest()[:32] + '"'


def _query_suffix(request) -> str:
    """?date= passed on to the parts, so a screen opened on a past day stays on it."""
    raw = request.GET.get("date", "").strip()
    return "?" + urlencode({"date": raw[:10]}) if raw else ""


def _labels() -> dict:
    """The words screen.js and minimap.js put on the page."""
    return {
        "status": {status.value: str(status.label) for status in Status},
        "days_of_cover": _("Days of cover"),
        "pin": _("Pin this item"),
        "unpin": _("Rotate the items"),
        "pinned": _("Pinned"),
        "stale_since": _("Not updated since %(time)s"),
        "updated": _("Updated %(time)s"),
        "no_map": _("No map for this province: the prefectures are listed instead."),
    }


def _htmx_signed_in(view):
    """The parts and the drill-down, fetched by htmx, of a wall whose session ended: not the
    log-in page (the XHR follows the 302 and htmx would swap the form into the part while the
    screen says "updated") but 401, which htmx does not swap (screen.js marks the part stale),
    with HX-Redirect to log in and come back to the screen as it was opened."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if request.headers.get("HX-Request") == "true" and not request.user.is_authenticated:
            current = request.headers.get("HX-Current-URL", "")
            back = reverse("screen:index")
            if current and url_has_allowed_host_and_scheme(
                current, allowed_hosts={request.get_host()}, require_https=request.is_secure()
            ):
                parts = urlsplit(current)
                if parts.path == back:
                    back += f"?{parts.query}" if parts.query else ""
            response = HttpResponse(status=401)
            response["HX-Redirect"] = redirect_to_login(back)["Location"]
            return response
        return view(request, *args, **kwargs)

    return wrapped


@require(can_view_screen)
def screen_page(request):
    date = _date(request)
    parts = {}
    for name in PARTS:
        html, etag = _render_part(request, name, date)
        parts[name] = {"html": html, "etag": etag}
    province_code = screen.map_province_code(request.user)
    province = Province.objects.filter(code=province_code).first() if province_code else None
    suffix = _query_suffix(request)
    config = {
        "map_url": screen.map_file_url(province_code) if province_code else None,
        "map_name": f"province-{province_code}",
        "poll": screen.screen_poll_seconds(request.GET.get("poll")),
        "rotate": screen.screen_rotate_seconds(request.GET.get("rotate")),
        "pinned": request.GET.get("item", "").strip()[:32] or None,
        "prefecture_url": reverse("screen:prefecture", args=["CODE"]) + suffix,
        "labels": _labels(),
    }
    return render(
        request,
        "reports/screen.html",
        {
            "date": date,
            "province": province,
            "parts": parts,
            "part_urls": {name: reverse("screen:part", args=[name]) + suffix for name in PARTS},
            "config": config,
            "poll": config["poll"],
        },
    )


@_htmx_signed_in
@require(can_view_screen)
def screen_part(request, name):
    if name not in PARTS:
        raise Http404
    html, etag = _render_part(request, name, _date(request))
    if etag in parse_etags(request.headers.get("If-None-Match", "")):
        response = HttpResponseNotModified()
    else:
        response = HttpResponse(html)
    response["ETag"] = etag
    # The screen asks with its own If-None-Match; the browser's cache would answer for it.
    patch_cache_control(response, no_store=True)
    return response


@_htmx_signed_in
@require(can_view_screen)
def screen_prefecture(request, code):
    """The drill-down's side panel: one prefecture's figures and its counties' map data."""
    prefecture = get_object_or_404(Prefecture.objects.select_related("province"), code=code)
    date = _date(request)
    panel = screen.prefecture_panel(request.user, prefecture=prefecture, date=date)
    return render(
        request,
        "reports/_screen_prefecture.html",
        {"panel": panel, "date": date, "county_map": panel.county_map, **_thresholds()},
    )


@require(can_read_prefecture_data)
def mini_map(request):
    """The small province map of one key item (the overview's and an item page's), as a
    partial fetched after the page: ?item= (default the first key item) and ?date=."""
    date = _requested_date(request, quiet=True, covered=True)
    code = request.GET.get("item", "").strip()
    item = (
        get_object_or_404(Item, code=code, active=True)
        if code
        else selectors.key_item_or_first(None)
    )
    data = screen.mini_map(request.user, item=item, date=date) if item else None
    if data is not None:
        data["labels"] = _labels()
        # A region with figures is a prefecture the user may open (the rows are scoped).
        data["prefecture_url"] = reverse("reports:prefecture", args=["CODE"]) + (
            f"?date={date.isoformat()}" if date else ""
        )
    return render(
        request,
        "reports/_mini_map.html",
        {"mini_map_response": True, "mini_map": data, "date": date},
    )
