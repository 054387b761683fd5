"""Load the demo province: reference data, users, protected staff, 60 days of figures, and
the reserve ledger (five warehouses and their stock events over the same days), and the
allocation ledger (destinations, donations, the 58 dispatch batches to 10 March 2020).

Idempotent: a second run finds everything in place and creates nothing.
"""

import time

from django.core.management.base import BaseCommand
from django.db import transaction

from allocation.demo import demo_allocation_create
from inventory.demo import DEMO_DAYS, DEMO_START, demo_daily_figures_create, demo_ledger_create
from production.demo import demo_production_create
from supplycoord.demo import demo_protected_staff_create, demo_users_create
from supplycoord.models import User
from supplycoord.norms_demo import demo_norms_create
from supplycoord.services import reference_load_shipped


class Command(BaseCommand):
    help = (
        "Load the demo province (Gansu): shipped reference CSVs, one user per role, protected "
        f"staff, {DEMO_DAYS} days of daily figures from {DEMO_START}, and the reserve "
        "ledger of those days, dispatch batches, and the producers with 30 days of production "
        "reports. Safe to run again."
    )

    def handle(self, *args, **options):
        started = time.monotonic()
        with transaction.atomic():
            references = reference_load_shipped()
            users = demo_users_create()
            admin = User.objects.filter(username="admin").first()
            staff = demo_protected_staff_create(user=admin)
            office = User.objects.filter(username="office").first()
            norms = demo_norms_create(office)
            figures = demo_daily_figures_create(fallback_user=office)
            ledger = demo_ledger_create(user=office)
            allocation = demo_allocation_create(
                user=office, leader=User.objects.filter(username="leader").first()
            )
            production = demo_production_create(
                user=office, reporter=User.objects.filter(username="producer_reporter").first()
            )
        elapsed = time.monotonic() - started

        out = self.stdout
        out.write("Demo province loaded")
        for result in references:
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
            f"there ({DEMO_START} + {DEMO_DAYS} days; {figures['late']} late and "
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
