"""Shortage alerts: conditions found by a snapshot build, opened when first found and closed
when a later build no longer finds them.

Kinds (each read from the built snapshot of date d, or from the batches as of d):

- item_red: a prefecture's snapshot row of a key item has status red (days of cover below the
  item's red threshold, default 3).
- projected_red_3d: an early warning for a row not red yet. After 3 more days of consumption at
  the 7-day average, with what arrives within 3 days counted in, the cover would be below the
  red threshold:  projected_days_of_cover − 3 < red threshold, where projected_days_of_cover =
  (stock + arriving_3d) / avg_consumption_7d. A row that turns red moves to item_red (this
  alert closes); a row without a consumption rate has no projection and no alert.
- batch_overdue: a dispatched or partly received batch whose expected arrival is before d
  (allocation.selectors.overdue_batches). Its prefecture is the destination's, if any.
- report_missing: the prefecture's reporting status for d is missing (not every key item
  reported). One alert per prefecture while its reports stay missing, build after build.
- request_emergency_open (issue 15): an emergency request with a line still open (awaiting
  triage, or accepted and not fully dispatched) submitted more than
  SUPPLYCOORD["EMERGENCY_REQUEST_ALERT_HOURS"] before min(now, the end of d). Its prefecture is
  the claimant's (a prefecture or a county), none for a unit (the office's). Like the others it
  is found by a build: a request submitted or triaged shows on the alerts page and panel after
  the next build (the scheduled ones run at 16:15 and 23:30, see CELERY_BEAT_SCHEDULE).

Alerts follow the latest built date: a rebuild of an earlier date (after a past correction)
leaves them alone, so the list always says how things stand now. The key of an alert names
its condition (kind and what it is about); at most one alert per key is open, and running a
refresh twice changes nothing.
"""

import datetime as dt
import json
import types
from collections import Counter
from decimal import Decimal
from typing import NamedTuple

from django.conf import settings
from django.core.mail import send_mail
from django.core.paginator import Page, Paginator
from django.db import connection, transaction
from django.db.models import Count, Q, QuerySet
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from allocation.request_selectors import emergency_alert_hours, emergency_requests_open_since
from allocation.selectors import overdue_batches
from supplycoord.lib.dates import local_today, parse_iso_date
from supplycoord.lib.locks import advisory_xact_lock
from supplycoord.lib.numbers import grouped
from supplycoord.lib.pg import array_literal
from supplycoord.models import Role, User
from supplycoord.notifications import recipients as to
from supplycoord.notifications.kinds import translated
from supplycoord.notifications.services import notify
from supplycoord.selectors import key_items, prefecture_ids_visible_to

from .models import Alert, AlertKind, ReportingState, ReportingStatus, SnapshotBuild, SnapshotRow
from .models import Status as SnapshotStatus

PROJECTION_DAYS = 3

# overdue_batches scopes batches to a reader; the alert job reads for the whole province.
_PROVINCE_READER = types.SimpleNamespace(is_authenticated=True, sees_whole_province=True)


def projected_red_within_3_days(row: SnapshotRow, red_threshold) -> bool:
    """projected_days_of_cover − 3 < red threshold, for a row not red already (module doc)."""
    if row.status == SnapshotStatus.RED or row.projected_days_of_cover is None:
        return False
    return row.projected_days_of_cover - PROJECTION_DAYS < red_threshold


def alert_conditions_for_date(date: dt.date) -> dict[str, dict]:
    """{key: the Alert fields} of every condition that holds on `date`. Three queries: the
    red or nearly red snapshot rows (items joined), the missing reports, the overdue batches."""
    items = {item.pk: item for item in key_items()}
    highest_red = max((item.red_threshold for item in items.values()), default=0)
    conditions = {}
    rows = SnapshotRow.objects.filter(date=date, item_id__in=list(items)).filter(
        Q(status=SnapshotStatus.RED) | Q(projected_days_of_cover__lt=highest_red + PROJECTION_DAYS)
    )
    # Plain rows, not model instances: thousands of them at national scale.
    for row in map(_ConditionRow._make, rows.order_by("pk").values_list(*_ConditionRow._fields)):
        item = items[row.item_id]
        detail = {
            "stock": row.stock,
            "days_of_cover": _str(row.days_of_cover),
            "projected_days_of_cover": _str(row.projected_days_of_cover),
            "avg_consumption_7d": _str(row.avg_consumption_7d),
            "arriving_3d": row.arriving_3d,
            "red_days": _str(item.red_threshold),
        }
        if row.status == SnapshotStatus.RED:
            kind = AlertKind.ITEM_RED
        elif projected_red_within_3_days(row, item.red_threshold):
            kind = AlertKind.PROJECTED_RED_3D
        else:
            continue
        conditions[f"{kind}:{row.prefecture_id}:{row.item_id}"] = {
            "kind": kind,
            "prefecture_id": row.prefecture_id,
            "item_id": row.item_id,
            "detail": detail,
        }
    missing = ReportingStatus.objects.filter(date=date, state=ReportingState.MISSING)
    for status in missing.order_by("pk"):
        conditions[f"{AlertKind.REPORT_MISSING}:{status.prefecture_id}"] = {
            "kind": AlertKind.REPORT_MISSING,
            "prefecture_id": status.prefecture_id,
            "detail": {
                "date": date.isoformat(),
                "items_reported": status.items_reported,
                "items_expected": status.items_expected,
            },
        }
    for batch in overdue_batches(_PROVINCE_READER, date=date):
        conditions[f"{AlertKind.BATCH_OVERDUE}:{batch.pk}"] = {
            "kind": AlertKind.BATCH_OVERDUE,
            "prefecture_id": batch.destination.prefecture_id,
            "batch_id": batch.pk,
            "detail": {
                "number": batch.number,
                "destination": batch.destination.name,
                "expected_arrival": batch.expected_arrival.isoformat(),
                "days_overdue": batch.days_overdue,
                "in_transit": batch.in_transit,
            },
        }
    conditions.update(_emergency_request_conditions(date))
    return conditions


def _end_of_day(date: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(date + dt.timedelta(days=1), dt.time.min))


def _emergency_request_conditions(date: dt.date) -> dict[str, dict]:
    """The emergency requests open longer than EMERGENCY_REQUEST_ALERT_HOURS as of
    min(now, the end of `date`) (module doc). Two queries."""
    moment = min(timezone.now(), _end_of_day(date))
    hours = emergency_alert_hours()
    conditions = {}
    for request in emergency_requests_open_since(moment - dt.timedelta(hours=hours)):
        claimant = request.claimant
        conditions[f"{AlertKind.REQUEST_EMERGENCY_OPEN}:{request.pk}"] = {
            "kind": AlertKind.REQUEST_EMERGENCY_OPEN,
            "prefecture_id": claimant.prefecture_id,
            "detail": {
                "number": request.number,
                # Both names: the summary words the claimant in the reader's language.
                "claimant_zh": claimant.name_zh,
                "claimant_en": claimant.name_en,
                "submitted_at": request.submitted_at.isoformat(),
                "hours_open": int((moment - request.submitted_at).total_seconds() // 3600),
                "alert_hours": hours,
            },
        }
    return conditions


def _hours_open(alert: Alert, as_of: dt.date | None) -> int | None:
    """An emergency request's hours open: until the alert closed, else until min(now, the end
    of `as_of`); as of the last refresh when no date is given."""
    detail = alert.detail or {}
    try:
        submitted = dt.datetime.fromisoformat(detail.get("submitted_at") or "")
    except ValueError:
        return detail.get("hours_open")
    if alert.closed_at is not None:
        until = alert.closed_at
    elif as_of is not None:
        until = min(timezone.now(), _end_of_day(as_of))
    else:
        return detail.get("hours_open")
    return max(0, int((until - submitted).total_seconds() // 3600))


def _str(value):
    return None if value is None else str(value)


class _ConditionRow(NamedTuple):
    """The snapshot row fields an alert condition reads."""

    prefecture_id: int
    item_id: int
    status: str
    stock: int | None
    days_of_cover: Decimal | None
    projected_days_of_cover: Decimal | None
    avg_consumption_7d: Decimal | None
    arriving_3d: int


def _lock_alerts():
    # Two refreshes at once would both open the same alert: serialise them.
    advisory_xact_lock("reports:alerts")


# One statement for the whole refresh (bench: 17.6 s for 3,175 opened, 3,181 closed and
# 11,791 seen again when it compared every open alert in Python and bulk_update'd them):
# the conditions go in as one array per column; the open alerts found again get last_seen_on
# and detail where either changed (jsonb compared in the database), those not found are
# closed, the new ones inserted. The three touch disjoint rows (keys in the conditions with an
# open alert, open alerts whose key is not there, keys without an open alert) and all see the
# table as the statement began, so the partial unique index on open keys is never crossed.
_REFRESH_SQL = """
    WITH found AS (
        SELECT * FROM unnest(%(keys)s::varchar[], %(kinds)s::varchar[],
            %(prefectures)s::bigint[], %(items)s::bigint[], %(batches)s::bigint[],
            %(details)s::jsonb[]) AS f(key, kind, prefecture_id, item_id, batch_id, detail)
    ), seen AS (
        UPDATE {table} AS a
        SET last_seen_on = GREATEST(a.last_seen_on, %(date)s), detail = found.detail
        FROM found
        WHERE a.closed_at IS NULL AND a.key = found.key
            AND (a.last_seen_on <> %(date)s OR a.detail IS DISTINCT FROM found.detail)
        RETURNING a.id
    ), closed AS (
        UPDATE {table} AS a SET closed_on = %(date)s, closed_at = %(now)s
        WHERE a.closed_at IS NULL AND NOT EXISTS (SELECT 1 FROM found WHERE found.key = a.key)
        RETURNING a.id
    ), opened AS (
        INSERT INTO {table} (kind, key, prefecture_id, item_id, batch_id, opened_on,
            opened_at, last_seen_on, detail)
        SELECT found.kind, found.key, found.prefecture_id, found.item_id, found.batch_id,
            %(date)s, %(now)s, %(date)s, found.detail
        FROM found
        WHERE NOT EXISTS (
            SELECT 1 FROM {table} AS a WHERE a.closed_at IS NULL AND a.key = found.key
        )
        ORDER BY found.key
        RETURNING key
    )
    SELECT (SELECT count(*) FROM closed), (SELECT count(*) FROM seen),
        COALESCE((SELECT array_agg(key ORDER BY key) FROM opened), '{{}}')
"""


@transaction.atomic
def alerts_refresh(*, date: dt.date, now: dt.datetime | None = None) -> dict:
    """Open and close alerts to match the conditions of `date`'s built snapshot.

    Does nothing when a later date has been built (alerts follow the latest built date).
    A condition without an open alert opens one; an open alert whose condition still holds
    has its `last_seen_on` and detail brought up to date; one whose condition no longer holds
    is closed (`closed_on`, `closed_at`). Nothing is deleted. Constant queries: the
    conditions, then one statement that does all three (_REFRESH_SQL).
    Returns {"opened": n, "closed": n, "skipped": bool}.
    """
    _lock_alerts()
    if SnapshotBuild.objects.filter(date__gt=date).exists():
        return {"opened": 0, "closed": 0, "skipped": True}
    now = now or timezone.now()
    conditions = alert_conditions_for_date(date)
    columns = {"keys": [], "kinds": [], "prefectures": [], "items": [], "batches": []}
    details = []
    for key, fields in conditions.items():
        columns["keys"].append(key)
        columns["kinds"].append(str(fields["kind"]))
        columns["prefectures"].append(fields.get("prefecture_id"))
        columns["items"].append(fields.get("item_id"))
        columns["batches"].append(fields.get("batch_id"))
        details.append(json.dumps(fields["detail"]))
    # Array literals ('{..}'): one constant per column, where a list is one per value.
    arrays = {name: array_literal(values) for name, values in columns.items()}
    arrays["details"] = array_literal(details)
    table = connection.ops.quote_name(Alert._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            _REFRESH_SQL.format(table=table),
            {**arrays, "date": date, "now": now},
        )
        closed, _seen, opened = cursor.fetchone()
    if opened:
        # The office hears of the new alerts, one notification per refresh, after commit.
        opened_kinds = sorted(Counter(key.split(":", 1)[0] for key in opened).items())
        notify(
            event="alerts_opened",
            recipients=[to.office()],
            params={
                "date": date.isoformat(),
                "count": len(opened),
                "kinds": [
                    translated(
                        lambda kind=kind, n=n: (
                            _("%(kind)s: %(count)s")
                            % {"kind": AlertKind(kind).label, "count": grouped(n)}
                        )
                    )
                    for kind, n in opened_kinds
                ],
            },
            url=reverse("reports:alerts"),
        )
    if opened and settings.SUPPLYCOORD.get("ALERT_EMAIL", False):
        keys = list(opened)
        transaction.on_commit(lambda: alerts_email_office(keys=keys))
    return {"opened": len(opened), "closed": closed, "skipped": False}


def alerts_email_office(*, keys: list[str]) -> int:
    """E-mail office staff (active, with an address) about the newly opened alerts `keys`,
    through Django's mail backend, in the site's language. Returns the number of messages."""
    alerts = list(
        Alert.objects.filter(key__in=keys, closed_at__isnull=True)
        .select_related("prefecture", "item", "batch__destination")
        .order_by("kind", "pk")
    )
    recipients = list(
        User.objects.filter(role=Role.OFFICE_STAFF, is_active=True)
        .exclude(email="")
        .values_list("email", flat=True)
    )
    if not alerts or not recipients:
        return 0
    with translation.override(settings.LANGUAGE_CODE):
        counts = Counter(alert.get_kind_display() for alert in alerts)
        lines = [alert_summary(alert) for alert in alerts]
        subject = ngettext(
            "SupplyCoord: %(count)s new alert", "SupplyCoord: %(count)s new alerts", len(alerts)
        ) % {"count": grouped(len(alerts))}
        totals = ", ".join(f"{kind}: {grouped(n)}" for kind, n in counts.items())
        body = "\n".join([totals, "", *lines])
    return send_mail(subject, body, None, recipients)


def _expected_arrival(alert: Alert) -> dt.date | None:
    """The batch's expected arrival: its row's (as the overdue table reads it), else the one
    the refresh stored (a batch deleted since)."""
    if alert.batch is not None and alert.batch.expected_arrival is not None:
        return alert.batch.expected_arrival
    return parse_iso_date((alert.detail or {}).get("expected_arrival"))


def _days_overdue(alert: Alert, as_of: dt.date | None) -> int | None:
    """A batch's days overdue as of `as_of` (the page's date), as overdue_batches counts them
    (date − expected arrival); as of the alert's last refresh when no date is given."""
    expected = _expected_arrival(alert)
    if as_of is None or expected is None:
        return (alert.detail or {}).get("days_overdue")
    return (as_of - expected).days


def _date_in_words(value) -> str:
    """A date (or a stored ISO date) as the active language writes it in a sentence
    (2026年12月3日, Dec. 3, 2026); the text as stored when it is not a date."""
    date = parse_iso_date(value)
    return date_format(date, "DATE_FORMAT") if date else str(value or "")


def _cover_text(days, stock, unit) -> dict:
    return {
        "days": grouped(days) or "—",
        "stock": grouped(stock) or "—",
        "unit": unit,
    }


def alert_summary(alert: Alert, *, as_of: dt.date | None = None) -> str:
    """One line saying what the alert is about, worded now in the active language from the
    alert's fields and rows (prefecture, item, batch and its destination), never from names
    stored with it: an alert found while the build ran in Chinese reads in English for an
    English reader. Numbers are grouped (12,345), dates as the language writes them; a batch's
    days overdue are counted as of `as_of` (the page's date), else as of the last refresh.
    Reads alert.prefecture, .item, .batch and .batch.destination: select them with the alert
    (alerts_visible_to does)."""
    detail = alert.detail or {}
    item = alert.item
    unit = item.get_unit_display() if item is not None else ""
    item_name = item.name if item is not None else ""
    if alert.kind == AlertKind.ITEM_RED:
        text = _("%(item)s: %(days)s days of cover (stock %(stock)s %(unit)s)") % {
            "item": item_name,
            **_cover_text(detail.get("days_of_cover"), detail.get("stock"), unit),
        }
    elif alert.kind == AlertKind.PROJECTED_RED_3D:
        text = _("%(item)s: %(days)s projected days of cover (stock %(stock)s %(unit)s)") % {
            "item": item_name,
            **_cover_text(detail.get("projected_days_of_cover"), detail.get("stock"), unit),
        }
    elif alert.kind == AlertKind.BATCH_OVERDUE:
        batch = alert.batch
        # The batch's own row names its destination in the reader's language; what the
        # refresh stored is kept only for a batch deleted since.
        words = {
            "number": batch.number if batch is not None else detail.get("number", ""),
            "destination": batch.destination.name
            if batch is not None
            else detail.get("destination", ""),
        }
        days = _days_overdue(alert, as_of)
        if days is not None and days < 1:
            # Not yet late on the page's date: say when it was expected instead.
            text = _("Batch %(number)s to %(destination)s, expected %(expected)s") % {
                **words,
                "expected": _date_in_words(_expected_arrival(alert)),
            }
        else:
            text = ngettext(
                "Batch %(number)s to %(destination)s, %(days)s day overdue",
                "Batch %(number)s to %(destination)s, %(days)s days overdue",
                days or 0,
            ) % {**words, "days": grouped(days) or "—"}
    elif alert.kind == AlertKind.REQUEST_EMERGENCY_OPEN:
        english = (translation.get_language() or "").startswith("en")
        claimant = (english and detail.get("claimant_en")) or detail.get("claimant_zh", "")
        hours = _hours_open(alert, as_of)
        text = ngettext(
            "Emergency request %(number)s of %(claimant)s, open %(hours)s hour",
            "Emergency request %(number)s of %(claimant)s, open %(hours)s hours",
            hours or 0,
        ) % {
            "number": detail.get("number", ""),
            "claimant": claimant,
            "hours": grouped(hours) or "—",
        }
    else:
        text = _("%(reported)s of %(expected)s key items reported for %(date)s") % {
            "reported": grouped(detail.get("items_reported")),
            "expected": grouped(detail.get("items_expected")),
            "date": _date_in_words(detail.get("date")),
        }
    if alert.prefecture is not None:
        return f"{alert.get_kind_display()} · {alert.prefecture.name} · {text}"
    return text


# --- Reads ----------------------------------------------------------------------------------


def alerts_visible_to(user, *, open_only: bool = True) -> QuerySet[Alert]:
    """The alerts a user may see: office and leadership all; an officer those of their
    prefecture (an alert about no prefecture, e.g. a batch to a provincial hospital, is the
    office's). Newest first, prefecture, item, batch and its destination joined (what
    alert_summary words them with)."""
    alerts = Alert.objects.select_related("prefecture", "item", "batch__destination")
    if not getattr(user, "is_authenticated", False):
        return alerts.none()
    visible = prefecture_ids_visible_to(user)
    if visible is not None:
        alerts = alerts.filter(prefecture_id__in=visible)
    if open_only:
        alerts = alerts.filter(closed_at__isnull=True)
    return alerts.order_by("-opened_at", "kind", "key")


def open_alert_counts(user) -> list[tuple[str, str, int]]:
    """[(kind, label, count of open alerts the user sees)] for every kind, in one query."""
    found = Counter(
        dict(
            alerts_visible_to(user, open_only=True)
            .order_by()
            .values_list("kind")
            .annotate(n=Count("pk"))
        )
    )
    return [(kind, label, found.get(kind, 0)) for kind, label in AlertKind.choices]


ALERTS_PAGE_SIZE = 50
PANEL_SIZE = 10


def alerts_page(
    user,
    *,
    open_only: bool,
    kind: str | None = None,
    page_number=None,
    today: dt.date | None = None,
) -> Page:
    """One page of the user's alerts (a count and the page), each with its `summary` line.

    The list says how things stand now: an open alert's ages (a batch's days overdue) are
    counted as of `today` (default: the office's today), a closed one's as of the day it
    closed (`closed_on`), when it stopped."""
    today = today or local_today()
    alerts = alerts_visible_to(user, open_only=open_only)
    if kind:
        alerts = alerts.filter(kind=kind)
    page = Paginator(alerts, ALERTS_PAGE_SIZE).get_page(page_number)
    for alert in page:
        alert.summary = alert_summary(alert, as_of=alert.closed_on or today)
    return page


def alerts_panel(user, *, as_of: dt.date | None = None) -> dict:
    """What the overview's panel shows: open counts by kind and the latest open alerts, their
    ages counted as of `as_of` (the page's date; default the office's today), as the page's
    overdue table counts them. Two queries."""
    as_of = as_of or local_today()
    latest = list(alerts_visible_to(user, open_only=True)[:PANEL_SIZE])
    for alert in latest:
        alert.summary = alert_summary(alert, as_of=as_of)
    counts = open_alert_counts(user)
    return {
        "counts": counts,
        "total": sum(n for _k, _l, n in counts),
        "latest": latest,
        "as_of": as_of,
    }
