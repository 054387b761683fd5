import datetime as dt

from django.conf import settings

from supplycoord.lib.dates import local_today

from .models import SnapshotBuild


def dates_affected_by(changed_dates) -> list[dt.date]:
    """Snapshot dates whose figures depend on daily figures of `changed_dates`.

    A figure of day d feeds the snapshots of d to d+6 (7-day average, stale carry-forward,
    the next day's reconciliation gap). Past dates are always rebuilt; today's only if it has
    been built already (otherwise the scheduled build after the cut-off will do it).
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
    if not candidates:
        return []
    built = set(SnapshotBuild.objects.filter(date__in=candidates).values_list("date", flat=True))
    return sorted(d for d in candidates if d < today or d in built)


def rebuild_after_figures_changed(sender, dates, **kwargs):
    from .tasks import snapshot_build_for_date

    for day in dates_affected_by(dates):
        snapshot_build_for_date.delay(day.isoformat())
