"""Check every stock balance against the sum of its ledger lines; report any drift.

A balance is a derived copy of Σ StockEventLine.quantity per (warehouse, item), kept in step
by the stock services in the same transaction. Anything else that writes it (a hand-made SQL
fix, a restore of one table) shows up here. Exit code 1 when anything drifts, 0 otherwise.
"""

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Sum

from inventory.models import StockBalance, StockEventLine, Warehouse
from supplycoord.models import Item


def ledger_drift() -> list[tuple[int, int, int | None, int]]:
    """[(warehouse_id, item_id, balance or None if no row, ledger sum)] that disagree.

    Two reads (the balances; the lines grouped by warehouse and item), compared in memory as
    a full outer join: a balance row without any line must be 0, and lines without a balance
    row must sum to 0.
    """
    balances = {
        (warehouse_id, item_id): quantity
        for warehouse_id, item_id, quantity in StockBalance.objects.values_list(
            "warehouse_id", "item_id", "quantity"
        ).iterator(chunk_size=10_000)
    }
    sums = {
        (warehouse_id, item_id): total
        for warehouse_id, item_id, total in StockEventLine.objects.values("warehouse_id", "item_id")
        .annotate(total=Sum("quantity"))
        .order_by()
        .values_list("warehouse_id", "item_id", "total")
    }
    drift = []
    for key in sorted(balances.keys() | sums.keys()):
        balance = balances.get(key)
        total = sums.get(key, 0)
        if (balance or 0) != total:
            drift.append((*key, balance, total))
    return drift


class Command(BaseCommand):
    help = "Compare every stock balance with the sum of its ledger lines and list the drift."

    def handle(self, *args, **options):
        drift = ledger_drift()
        if not drift:
            self.stdout.write(self.style.SUCCESS("Every stock balance matches its ledger."))
            return
        warehouses = dict(
            Warehouse.objects.filter(pk__in={row[0] for row in drift}).values_list("pk", "code")
        )
        items = dict(
            Item.objects.filter(pk__in={row[1] for row in drift}).values_list("pk", "code")
        )
        header = f"{'warehouse':<16} {'item':<32} {'balance':>14} {'ledger':>14} {'difference':>14}"
        self.stdout.write(header)
        for warehouse_id, item_id, balance, total in drift:
            shown = "(no row)" if balance is None else str(balance)
            difference = (balance or 0) - total
            self.stdout.write(
                f"{warehouses[warehouse_id]:<16} {items[item_id]:<32} {shown:>14} "
                f"{total:>14} {difference:>+14}"
            )
        raise CommandError(f"{len(drift)} stock balance(s) differ from the ledger.", returncode=1)
