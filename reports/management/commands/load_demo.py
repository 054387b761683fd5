"""Load a province from a folder of data files: by default the demo province (Gansu, early
2020: reference data, one user per role, protected staff, 60 days of daily figures, the
reserve ledger of those days, the dispatch batches and donations, two prefectures' onward
batches to their counties, the producers with their last 30 days of production reports); with --data DIR, an office's own folder of the same layout
(supplycoord/data/demo/README.md).

The demo is laid so that its last day is yesterday (--as-of DATE: that day); every date of its
story moves together, so it reads the same. --historical keeps the 2020 dates; an office's own
folder keeps its dates unless --as-of is given. Once loaded, the story stays where it was laid:
running the command again the next day adds nothing.

Every file is checked before anything is saved; a problem names the file, the row and the
field. Idempotent: a second run finds everything in place and creates nothing.
"""

import datetime as dt
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from reports.province import (
    GANSU,
    ProvinceDataInvalid,
    province_laid_shift,
    province_load,
    province_read,
    province_shift,
)
from supplycoord.lib.dates import earliest_date, local_today, parse_iso_date
from supplycoord.lib.numbers import grouped


class Command(BaseCommand):
    help = (
        "Load a province from a folder of data files (default: the demo province, Gansu, in "
        "supplycoord/data/demo/gansu/): reference data, users, protected staff, daily figures, "
        "the reserve ledger, dispatch batches and donations, the prefectures' onward batches to "
        "their counties, producers and their production reports. Checks every file first; "
        "safe to run again."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--data",
            default=str(GANSU),
            metavar="DIR",
            help="the province folder to load (default: the demo province)",
        )
        when = parser.add_mutually_exclusive_group()
        when.add_argument(
            "--as-of",
            dest="as_of",
            metavar="DATE",
            help="lay the story so that its last day is DATE (YYYY-MM-DD, before today; "
            "default for the demo: yesterday; an office's own --data folder keeps its dates)",
        )
        when.add_argument(
            "--historical",
            action="store_true",
            help="keep the dates as the files write them (the demo: 2020-01-25 – 2020-03-24)",
        )

    def _shift(self, province, *, as_of, historical) -> int:
        """The days to move the story by: to the day asked for, or to where it already lies."""
        laid = province_laid_shift(province)
        if historical:
            wanted = 0
        elif as_of is not None:
            day = parse_iso_date(as_of)
            if day is None:
                raise CommandError(_("“%(value)s” is not a date (YYYY-MM-DD).") % {"value": as_of})
            today = local_today()
            first = day - dt.timedelta(days=province.days - 1)
            if not (day < today and first >= earliest_date()):
                raise CommandError(
                    _(
                        "--as-of must lie before today and leave the story's %(days)d days after "
                        "%(first)s."
                    )
                    % {"days": province.days, "first": earliest_date().isoformat()}
                )
            wanted = (day - province.last_day).days
        elif laid is not None:
            return laid  # already laid: leave it where it is
        else:
            wanted = (local_today() - dt.timedelta(days=1) - province.last_day).days
        if laid is not None and laid != wanted:
            raise CommandError(
                _(
                    "The demo is already loaded with its last day on %(day)s; load it into an "
                    "empty database to lay it on another day."
                )
                % {"day": (province.last_day + dt.timedelta(days=laid)).isoformat()}
            )
        return wanted

    def handle(self, *args, data, as_of=None, historical=False, **options):
        started = time.monotonic()
        try:
            province = province_read(data)
            # An office's own folder (--data) keeps its dates unless --as-of moves them.
            own_folder = Path(data).resolve() != Path(GANSU).resolve()
            historical = historical or (own_folder and as_of is None)
            shift = self._shift(province, as_of=as_of, historical=historical)
            province = province_shift(province, shift)
            self.stdout.write(
                f"Loading {province.name}: {province.start} – {province.last_day} "
                + ("(dates as recorded)" if not shift else f"(moved {shift:+d} days)")
            )
            loaded = province_load(province, progress=self.stdout.write)
        except ProvinceDataInvalid as exc:
            for error in exc.errors:
                self.stderr.write(str(error))
            raise CommandError(
                _("Nothing was saved: %(count)s problem(s) found.")
                % {"count": grouped(len(exc.errors))}
            ) from exc
        elapsed = time.monotonic() - started
        self.report(province, loaded, elapsed)

    def report(self, province, loaded, elapsed):
        out = self.stdout
        users, staff, norms = loaded["users"], loaded["staff"], loaded["norms"]
        figures, ledger = loaded["figures"], loaded["ledger"]
        allocation, production = loaded["allocation"], loaded["production"]
        out.write("Demo province loaded")
        for result in loaded["references"]:
            out.write(
                "  {kind:<17} {rows:>4} rows: {created} created, {updated} updated, "
                "{unchanged} unchanged".format(**result)
            )
        out.write(
            f"  users             {len(users['created'])} created, "
            f"{len(users['existing'])} already there"
        )
        out.write(
            f"  protected staff   {staff['created']} created, {staff['existing']} already there"
        )
        out.write(
            f"  demand norms      {norms['created']} created, {norms['existing']} already there "
            "(demo assumptions, not facts)"
        )
        out.write(
            f"  daily figures     {figures['created']} created, {figures['existing']} already "
            f"there ({province.start} + {province.days} days; {figures['late']} late and "
            f"{figures['missing']} missing prefecture-days, {figures['inconsistent']} "
            "inconsistent reports)"
        )
        if figures.get("county_created") or figures.get("county_existing"):
            out.write(
                f"  county figures    {figures['county_created']} created, "
                f"{figures['county_existing']} already there (a prefecture reporting as the "
                "sum of its counties: its rows derived from theirs)"
            )
        out.write(
            f"  reserve ledger    {ledger['warehouses_created']} warehouses created, "
            f"{ledger['events_posted']} stock events posted, {ledger['events_existing']} "
            "already there"
        )
        out.write(
            f"  allocation        {allocation['destinations_created']} destinations created, "
            f"{allocation['donations_created']} donations recorded, "
            f"{allocation['receipts_posted']} reserve receipts posted, "
            f"{allocation['batches_created']} batches created "
            f"({allocation['batches_existing']} already there)"
        )
        if allocation.get("requests_created") or allocation.get("requests_existing"):
            out.write(
                f"  requests          {allocation['requests_created']} requests created "
                f"({allocation['requests_existing']} already there), "
                f"{allocation['request_lines_batched']} request lines answered by batches, "
                f"{allocation['claimant_staff_created']} claimant staff rows"
            )
        onward = allocation.get("onward")
        if onward and any(onward.values()):
            out.write(
                f"  three levels      {onward['receipts_posted']} prefecture warehouse receipts "
                f"posted ({onward['receipts_existing']} already there), "
                f"{onward['batches_created']} onward batches to counties created "
                f"({onward['batches_existing']} already there), {onward['drafts_created']} "
                f"drafts awaiting a prefecture lead ({onward['drafts_existing']} already there)"
            )
        out.write(
            f"  production        {production['mask_producers']} mask producers, "
            f"{production['mask_lines']} lines, {production['mask_capacity']:,} masks a day when "
            f"all built ({production['n95_capacity']:,} N95; {production['mask_commissioned']:,} "
            f"commissioned); {production['suit_producers']} suit producers, "
            f"{production['suit_capacity']:,} a day; {production['disinfectant_producers']} "
            "disinfectant producers"
        )
        out.write(
            f"                    {production['producers_created']} producers created "
            f"({production['producers_existing']} already there), "
            f"{production['licences_created']} licences, "
            f"{production['raw_materials_created']} raw materials, "
            f"{production['reports_created']} production reports "
            f"({production['reports_existing']} already there), "
            f"{production['problems_created']} problems"
        )
        procurement = loaded.get("procurement") or {"skipped": True}
        if not procurement["skipped"]:
            national = procurement["national"]
            out.write(
                f"  procurement       {procurement['suppliers_created']} suppliers and "
                f"{procurement['capabilities_created']} offers created, "
                f"{procurement['units_created']} reserve-task units created, "
                f"{procurement['orders_created']} purchase orders created "
                f"({procurement['orders_existing']} already there); request {national['request']} "
                f"(net requirement {national['net']:,}, asked {national['asked']:,}), "
                f"{national['allocations']} national allocations announced"
            )
            out.write(
                f"                    {procurement['enterprises_created']} distribution "
                f"enterprises created ({procurement['enterprises_existing']} already there), "
                f"{procurement['reports_created']} daily reports "
                f"({procurement['reports_existing']} already there)"
            )
        out.write(f"  took {elapsed:.1f} s")
