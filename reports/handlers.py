import datetime as dt

from django.conf import settings

from supplycoord.lib.dates import local_today

from .services import snapshot_rebuilds_request, snapshot_rebuilds_request_built
from .spotchecks import WINDOW_DAYS as SPOT_CHECK_WINDOW_DAYS

# Reports' reactions to changes in the apps it reads, named per event in
# settings.SUPPLYCOORD_EVENT_HANDLERS and called through supplycoord.events. They run inside
# the writer's transaction: the outbox rows commit or roll back with the change, and the
# builds are queued on commit.


def dates_within_reach_of(changed_dates) -> set[dt.date]:
    """The dates from each of `changed_dates` to 6 days later, up to today, built or not.

    A figure of day d feeds the snapshots of d to d+6 (7-day average, stale carry-forward,
    the next day's reconciliation gap).
    """
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


def snapshots_stale_after_figures(*, dates) -> None:
    """Past dates within reach are always rebuilt; today's only if it has been built already
    (otherwise the scheduled build after the cut-off makes it). The check of which are built
    is folded into the outbox's upsert: one statement."""
    snapshot_rebuilds_request(dates=dates_within_reach_of(dates), built_only_from=local_today())


def snapshots_stale_after_stock(*, dates) -> None:
    """Reserve stock at the end of day d sums every event up to d, so an event of day t changes
    the rollups of t and of every later date. Only dates already built are rebuilt (the others
    are computed from the ledger as it stands when they are built), requested in one statement
    (ledger posting runs this for every event)."""
    if dates:
        snapshot_rebuilds_request_built(since=min(dates))


def snapshots_stale_after_batch_moved(*, dates) -> None:
    """A batch dispatched, received or closed on day t changes in-transit from t on: the same
    built dates as a ledger event of t."""
    if dates:
        snapshot_rebuilds_request_built(since=min(dates))


def spot_checks_stale_after_staff(*, dates) -> None:
    """The spot checks compare consumption per protected person with the staff as they are
    now, and each build stores its date's comparison. A change of staff on day t rebuilds the
    dates already built within the comparison's window before it ([t-6, t]): their stored
    figures, scores and flags are recomputed with the new counts. Older dates keep what they
    were computed with until they are built again. One statement."""
    window = SPOT_CHECK_WINDOW_DAYS - 1
    recent = {day - dt.timedelta(days=offset) for day in dates for offset in range(window + 1)}
    snapshot_rebuilds_request(dates=recent, built_only_from=min(recent))


def snapshots_stale_after_inbound(*, dates) -> None:
    """The province rollup's inbound figures are taken as of the end of each date: an order
    placed or cancelled, an allocation announced on day t changes them from t on; an
    enterprise's in-transit figure for t changes t's (and later built dates are rebuilt too:
    one statement, the same as a ledger event of t)."""
    if dates:
        snapshot_rebuilds_request_built(since=min(dates))
