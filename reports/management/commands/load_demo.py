"""Load a province from a folder of data files: by default the demo province (Gansu, early
2020: reference data, one user per role, protected staff, 60 days of daily figures, the
reserve ledger of those days, the dispatch batches and donations, the producers with their
last 30 days of production reports); with --data DIR, an office's own folder of the same layout
(supplycoord/data/demo/README.md).

Every file is checked before anything is saved; a problem names the file, the row and the
field. Idempotent: a second run finds everything in place and creates nothing.
"""

import time

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from reports.province import GANSU, ProvinceDataInvalid, province_load, province_read


class Command(BaseCommand):
    help = (
        "Load a province from a folder of data files (default: the demo province, Gansu, in "
        "supplycoord/data/demo/gansu/): reference data, users, protected staff, daily figures, "
        "the reserve ledger, dispatch batches and donations, producers and their production "
        "reports. Checks every file first; safe to run again."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--data",
            default=str(GANSU),
            metavar="DIR",
            help="the province folder to load (default: the demo province)",
        )

    def handle(self, *args, data, **options):
        started = time.monotonic()
        try:
            province = province_read(data)
            loaded = province_load(province)
        except ProvinceDataInvalid as exc:
            for error in exc.errors:
                self.stderr.write(str(error))
            raise CommandError(
                _("Nothing was saved: %(count)d problem(s) found.") % {"count": len(exc.errors)}
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
        out.write(f"  took {elapsed:.1f} s")
