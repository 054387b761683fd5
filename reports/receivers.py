import datetime as dt

from django.conf import settings
from django.db import connection

from supplycoord.lib.dates import local_today

from .models import SnapshotBuild


def dates_affected_by(changed_dates) -> list[dt.date]:
    """Snapshot dates whose figures depend on daily figures of `changed_dates`.

    A figure of day d feeds the snapshots of d to d+6 (7-day average, stale carry-forward,
    the next day's reconciliation gap). Past dates are always rebuilt; today's only if it has
    been built already (otherwise the scheduled build after the cut-off will do it).
    """
    today = local_today()
    candidates = dates_within_reach_of(changed_dates)
    if not candidates:
        return []
    built = set(SnapshotBuild.objects.filter(date__in=candidates).values_list("date", flat=True))
    return sorted(d for d in candidates if d < today or d in built)


def dates_within_reach_of(changed_dates) -> set[dt.date]:
    """The dates from each of `changed_dates` to 6 days later, up to today, built or not."""
    today = local_today()
    reach = max(settings.SUPPLYCOORD["AVG_WINDOW_DAYS"] - 1, settings.SUPPLYCOORD["STALE_DAYS"], 1)
    candidates = set()
    for day in changed_dates:
        for offset in range(reach + 1):
            target = day + dt.timedelta(days=offset)
            if target > today:
                break
            candidates.add(target)
    return candidates


# The receivers run inside the writer's transaction (the senders send before they commit):
# the outbox rows commit or roll back with the change, and the builds are queued on commit.


def rebuild_after_figures_changed(sender, dates, **kwargs):
    """The dates `dates_affected_by` names, the check of which are built folded into the
    outbox's upsert: one statement."""
    from .services import snapshot_rebuilds_request

    snapshot_rebuilds_request(dates=dates_within_reach_of(dates), built_only_from=local_today())


def dates_affected_by_stock(changed_dates) -> list[dt.date]:
    """Built snapshot dates whose reserve column depends on ledger events of `changed_dates`.

    Reserve stock at the end of day d sums every event up to d, so an event of day t changes
    the rollups of t and of every later date. Only dates already built are rebuilt: the others
    are computed from the ledger as it stands when they are built.
    """
    if not changed_dates:
        return []
    # Runs after every posted stock event: one plain indexed read, no ORM compilation, keeps
    # single-event posting fast (bench/ledger.py).
    table = connection.ops.quote_name(SnapshotBuild._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT date FROM {table} WHERE date >= %s AND date <= %s ORDER BY date",
            [min(changed_dates), local_today()],
        )
        rows = cursor.fetchall()
    # SQLite hands dates back as ISO strings.
    return [dt.date.fromisoformat(d) if isinstance(d, str) else d for (d,) in rows]


def rebuild_after_stock_changed(sender, dates, **kwargs):
    """The built dates `dates_affected_by_stock` names, requested in the same one statement
    (ledger posting runs this for every event)."""
    from .services import snapshot_rebuilds_request_built

    if dates:
        snapshot_rebuilds_request_built(since=min(dates))


def rebuild_after_batch_moved(sender, dates, **kwargs):
    """A batch dispatched, received or closed on day t changes in-transit from t on: the same
    built dates as a ledger event of t."""
    from .services import snapshot_rebuilds_request_built

    if dates:
        snapshot_rebuilds_request_built(since=min(dates))
