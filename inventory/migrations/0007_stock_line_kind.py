"""Each ledger line carries its event's kind, in the stock card's covering index.

An issues-only stock card then reads the line index alone, without joining the events
(bench/ledger.py, issue 13). The old index is dropped before the backfill, so the UPDATE does
not maintain it row by row, and the new one is built once afterwards.
"""

from django.db import migrations, models

BACKFILL = """
UPDATE inventory_stockeventline AS line SET kind = event.kind
FROM inventory_stockevent AS event
WHERE event.id = line.event_id
"""


class Migration(migrations.Migration):
    dependencies = [
        ("inventory", "0006_stock_card_covering_index"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="stockeventline",
            name="stock_line_card",
        ),
        migrations.AddField(
            model_name="stockeventline",
            name="kind",
            field=models.CharField(
                choices=[
                    ("receipt", "Receipt"),
                    ("issue", "Issue"),
                    ("adjustment", "Adjustment"),
                    ("count", "Physical count"),
                    ("reversal", "Reversal"),
                ],
                default="",
                max_length=12,
                verbose_name="kind",
            ),
            preserve_default=False,
        ),
        migrations.RunSQL(BACKFILL, reverse_sql=migrations.RunSQL.noop, elidable=False),
        migrations.AddIndex(
            model_name="stockeventline",
            index=models.Index(
                fields=["warehouse", "item", "occurred_at", "event"],
                include=("quantity", "kind"),
                name="stock_line_card",
            ),
        ),
    ]
