import datetime as dt

from django.conf import settings
from django.utils import timezone


def local_today() -> dt.date:
    return timezone.localdate()


def cutoff_time() -> dt.time:
    hours, minutes = settings.SUPPLYCOORD["CUTOFF_TIME"].split(":")
    return dt.time(int(hours), int(minutes))


def cutoff_for(date: dt.date) -> dt.datetime:
    """The reporting cut-off of a day, as an aware datetime in the office's time zone."""
    return timezone.make_aware(dt.datetime.combine(date, cutoff_time()))


def parse_iso_date(value) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return None
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def date_range(start: dt.date, end: dt.date):
    day = start
    while day <= end:
        yield day
        day += dt.timedelta(days=1)


def earliest_date() -> dt.date:
    return dt.date.fromisoformat(settings.SUPPLYCOORD["EARLIEST_DATE"])


def is_reportable(date: dt.date) -> bool:
    """A date figures and snapshots may exist for: not before the earliest date, not future."""
    return earliest_date() <= date <= local_today()
