"""Build the daily snapshots of one date, a range, or every date that has daily figures."""

import datetime as dt
import time

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from inventory.models import DailyFigure
from reports.services import snapshot_rebuild_run
from supplycoord.lib.dates import date_range, earliest_date, is_reportable


def _date(value: str) -> dt.date:
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(
            _("“%(value)s” is not a date (YYYY-MM-DD).") % {"value": value}
        ) from None
    # A typo such as 0202-02-10 would otherwise build (or loop over) centuries of empty days.
    if not is_reportable(day):
        raise CommandError(
            _("%(value)s is not a reportable date: from %(first)s to today.")
            % {"value": day.isoformat(), "first": earliest_date().isoformat()}
        )
    return day


class Command(BaseCommand):
    help = (
        "Build the snapshot rows, province rollups and reporting status of --date, of every "
        "day --from … --to, or of --all dates that have daily figures. Runs in this process "
        "(not through Celery) and clears their pending rebuilds; safe to run again."
    )

    def add_arguments(self, parser):
        group = parser.add_mutually_exclusive_group(required=True)
        group.add_argument("--date", help="one date, YYYY-MM-DD")
        group.add_argument("--from", dest="date_from", help="first date of a range")
        group.add_argument(
            "--all", action="store_true", dest="all_dates", help="every date with daily figures"
        )
        parser.add_argument("--to", dest="date_to", help="last date of the range (with --from)")

    def handle(self, *args, date=None, date_from=None, date_to=None, all_dates=False, **options):
        if date_to and not date_from:
            raise CommandError(_("--to goes with --from."))
        if date:
            dates = [_date(date)]
        elif date_from:
            if not date_to:
                raise CommandError(_("--from needs --to."))
            start, end = _date(date_from), _date(date_to)
            if end < start:
                raise CommandError(_("--to is before --from."))
            dates = list(date_range(start, end))
        else:
            dates = sorted(DailyFigure.objects.order_by().values_list("date", flat=True).distinct())
            if not dates:
                self.stdout.write("No daily figures yet: nothing to build.")
                return

        started = time.monotonic()
        rows, slowest = 0, (0, None)
        for day in dates:
            # Clears the date's pending rebuild too, unless it is requested again meanwhile.
            build = snapshot_rebuild_run(date=day)
            rows += build.rows
            slowest = max(slowest, (build.duration_ms, day), key=lambda pair: pair[0])
            if options["verbosity"] >= 2 or len(dates) <= 7:
                self.stdout.write(
                    f"  {day}  {build.rows:>6} rows  {build.duration_ms:>6} ms  "
                    f"on time {build.prefectures_on_time}, late {build.prefectures_late}, "
                    f"missing {build.prefectures_missing}"
                )
            elif options["verbosity"] >= 1 and (done := dates.index(day) + 1) % 10 == 0:
                # A long build says where it is (`make run` builds every demo day).
                self.stdout.write(f"  {done}/{len(dates)} dates built (up to {day})")
        elapsed = time.monotonic() - started
        self.stdout.write(
            f"Built {len(dates)} date(s) ({dates[0]} – {dates[-1]}): {rows} snapshot rows "
            f"in {elapsed:.1f} s (slowest {slowest[1]}: {slowest[0]} ms)"
        )
