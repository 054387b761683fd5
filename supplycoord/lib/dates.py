"""The project's one clock, and the dates it reads.

`local_now()` and `local_today()` are "now" and "today" in the office's time zone (settings
TIME_ZONE, Asia/Shanghai): every age, overdue count, "last N days", "missing today", default
date and "is this a future date" reads them, so freezing time in a test (time_machine) moves
all of them together. Audit timestamps stored as aware datetimes use timezone.now() (the same
instant). A page showing a past date counts its ages as of that date, not today.
`local_date(moment)` is the office's day of a stored instant. Nothing else in the project
reads the clock or the time zone (date.today(), datetime.now(), timezone.localdate()):
tests/supplycoord/test_one_clock.py walks the sources and fails on them.
"""

import datetime as dt

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _


def local_now() -> dt.datetime:
    """Now, as an aware datetime in the office's time zone."""
    return timezone.localtime(timezone.now())


def local_today() -> dt.date:
    """Today in the office's time zone (Asia/Shanghai), whatever the server's zone."""
    return timezone.localdate()


def local_date(moment: dt.datetime) -> dt.date:
    """The office's calendar day of an aware instant (the day an event happened, a problem
    was reported): 2020-03-10 23:30 UTC is 11 March in Shanghai. Never "today": that is
    local_today(), the one clock."""
    return timezone.localdate(moment)


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


# Far enough for any real filter, far from the edge of Python's calendar (9999-12-31).
LATEST_FILTER_DATE = dt.date(2999, 12, 31)


def validate_filter_date(value: dt.date) -> None:
    """A date filter (?from=, ?to=) must lie in [earliest date, 2999-12-31]: no overflow."""
    if not earliest_date() <= value <= LATEST_FILTER_DATE:
        raise ValidationError(
            _("Enter a date between %(first)s and %(last)s."),
            params={"first": earliest_date().isoformat(), "last": LATEST_FILTER_DATE.isoformat()},
            code="out_of_range",
        )


def parse_moment(value) -> tuple[dt.datetime | None, str | None]:
    """An ISO 8601 moment (without an offset: the office's time zone) as (aware datetime,
    None), or (None, translated message). Impossible moments (12:99, 30 February, an offset of
    99 hours) are refused, never raised; so are moments before the earliest date or after
    LATEST_FILTER_DATE (the database could store them, Python could not read them back)."""
    parsed = value if isinstance(value, dt.datetime) else None
    if isinstance(value, str):
        try:
            parsed = parse_datetime(value.strip())
        except ValueError:
            parsed = None
    if parsed is None:
        return None, _("Enter a valid date and time (ISO 8601, e.g. 2020-02-20T10:00).")
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)
    first = timezone.make_aware(dt.datetime.combine(earliest_date(), dt.time.min))
    last = timezone.make_aware(dt.datetime.combine(LATEST_FILTER_DATE, dt.time.max))
    if not first <= parsed <= last:
        return None, _("Enter a moment between %(first)s and %(last)s.") % {
            "first": earliest_date().isoformat(),
            "last": LATEST_FILTER_DATE.isoformat(),
        }
    return parsed, None


def entry_date_error(date: dt.date | None, *, today: dt.date, first_allowed: dt.date):
    """Why `date` cannot carry figures entered today (daily figures, production reports), or
    None: unreadable, in the future, before the earliest date, or before the user's window
    (`first_allowed`, see supplycoord.selectors.earliest_entry_date)."""
    if date is None:
        return _("Enter a valid date (YYYY-MM-DD).")
    if date > today:
        return _("Figures cannot be entered for a future date.")
    if date < earliest_date():
        return _("Dates before %(date)s are not accepted.") % {"date": earliest_date().isoformat()}
    if date < first_allowed:
        return _("Dates older than %(days)d days can only be entered by office staff.") % {
            "days": settings.SUPPLYCOORD["OFFICER_BACKDATE_DAYS"]
        }
    return None
