"""Issue 15: every claimant in the proposal.

A proposal line's claimant is a destination (`destination`); `prefecture` stays on prefecture
lines only. Existing lines get their prefecture's destination of kind prefecture (the first
active one, else the first; one is created where a prefecture has none, as proposal_accept
would have needed it). The rate source "avg_consumption_7d" is now called "consumption".
"""

import django.db.models.deletion
from django.db import migrations, models


def fill_destinations(apps, schema_editor):
    Destination = apps.get_model("allocation", "Destination")
    ProposalLine = apps.get_model("allocation", "ProposalLine")
    HistoricalProposalLine = apps.get_model("allocation", "HistoricalProposalLine")
    Prefecture = apps.get_model("supplycoord", "Prefecture")
    prefecture_ids = set(
        ProposalLine.objects.values_list("prefecture_id", flat=True).distinct()
    ) | set(
        HistoricalProposalLine.objects.exclude(prefecture_id=None)
        .values_list("prefecture_id", flat=True)
        .distinct()
    )
    found = {}
    for destination in Destination.objects.filter(
        kind="prefecture", prefecture_id__in=prefecture_ids
    ).order_by("-active", "pk"):
        found.setdefault(destination.prefecture_id, destination.pk)
    for prefecture in Prefecture.objects.filter(pk__in=prefecture_ids - set(found)):
        code_free = not Destination.objects.filter(code=prefecture.code).exists()
        found[prefecture.pk] = Destination.objects.create(
            kind="prefecture",
            prefecture=prefecture,
            code=prefecture.code if code_free else None,
            name_zh=prefecture.name_zh,
            name_en=prefecture.name_en,
        ).pk
    for prefecture_id, destination_id in found.items():
        ProposalLine.objects.filter(prefecture_id=prefecture_id).update(
            destination_id=destination_id
        )
        HistoricalProposalLine.objects.filter(prefecture_id=prefecture_id).update(
            destination_id=destination_id
        )
    for model in (ProposalLine, HistoricalProposalLine):
        model.objects.filter(rate_source="avg_consumption_7d").update(rate_source="consumption")
    # The foreign keys just written are checked now, so the table can be altered next
    # ("pending trigger events" otherwise).
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def empty_destinations(apps, schema_editor):
    ProposalLine = apps.get_model("allocation", "ProposalLine")
    ProposalLine.objects.filter(rate_source="consumption").update(rate_source="avg_consumption_7d")


class Migration(migrations.Migration):
    dependencies = [
        ("allocation", "0008_requests"),
        ("supplycoord", "0011_requests"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="proposalline",
            options={
                "ordering": ["prefecture__code", "destination__code", "pk"],
                "verbose_name": "proposal line",
                "verbose_name_plural": "proposal lines",
            },
        ),
        migrations.RemoveConstraint(
            model_name="proposalline",
            name="proposal_line_once",
        ),
        migrations.AddField(
            model_name="historicalproposalline",
            name="destination",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="allocation.destination",
                verbose_name="claimant",
            ),
        ),
        migrations.AddField(
            model_name="historicalproposalline",
            name="norm_estimate",
            field=models.DecimalField(
                blank=True, decimal_places=2, max_digits=16, null=True, verbose_name="norm estimate"
            ),
        ),
        migrations.AddField(
            model_name="historicalproposalline",
            name="rate_adjustment",
            field=models.CharField(blank=True, max_length=16, verbose_name="rate adjusted"),
        ),
        migrations.AddField(
            model_name="historicalproposalline",
            name="rate_cap",
            field=models.DecimalField(
                blank=True,
                decimal_places=2,
                max_digits=6,
                null=True,
                verbose_name="cap (× norm estimate)",
            ),
        ),
        migrations.AddField(
            model_name="historicalproposalline",
            name="rate_uncapped",
            field=models.DecimalField(
                blank=True,
                decimal_places=2,
                max_digits=16,
                null=True,
                verbose_name="rate before the cap",
            ),
        ),
        migrations.AddField(
            model_name="historicalproposalline",
            name="spot_check_date",
            field=models.DateField(blank=True, null=True, verbose_name="spot-check date"),
        ),
        migrations.AddField(
            model_name="historicalproposalline",
            name="spot_check_median",
            field=models.DecimalField(
                blank=True,
                decimal_places=6,
                max_digits=24,
                null=True,
                verbose_name="median per person per day",
            ),
        ),
        migrations.AddField(
            model_name="historicalproposalline",
            name="spot_check_score",
            field=models.DecimalField(
                blank=True,
                decimal_places=2,
                max_digits=14,
                null=True,
                verbose_name="spot-check robust z-score",
            ),
        ),
        migrations.AddField(
            model_name="historicalproposalline",
            name="staff",
            field=models.PositiveIntegerField(
                blank=True, null=True, verbose_name="protected staff"
            ),
        ),
        migrations.AddField(
            model_name="historicalproposalline",
            name="stock_note",
            field=models.CharField(blank=True, max_length=20, verbose_name="stock note"),
        ),
        migrations.AddField(
            model_name="proposal",
            name="units",
            field=models.ManyToManyField(
                blank=True,
                related_name="+",
                to="allocation.destination",
                verbose_name="other claimants included",
            ),
        ),
        migrations.AddField(
            model_name="proposalline",
            name="destination",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="allocation.destination",
                verbose_name="claimant",
            ),
        ),
        migrations.AddField(
            model_name="proposalline",
            name="norm_estimate",
            field=models.DecimalField(
                blank=True, decimal_places=2, max_digits=16, null=True, verbose_name="norm estimate"
            ),
        ),
        migrations.AddField(
            model_name="proposalline",
            name="rate_adjustment",
            field=models.CharField(blank=True, max_length=16, verbose_name="rate adjusted"),
        ),
        migrations.AddField(
            model_name="proposalline",
            name="rate_cap",
            field=models.DecimalField(
                blank=True,
                decimal_places=2,
                max_digits=6,
                null=True,
                verbose_name="cap (× norm estimate)",
            ),
        ),
        migrations.AddField(
            model_name="proposalline",
            name="rate_uncapped",
            field=models.DecimalField(
                blank=True,
                decimal_places=2,
                max_digits=16,
                null=True,
                verbose_name="rate before the cap",
            ),
        ),
        migrations.AddField(
            model_name="proposalline",
            name="spot_check_date",
            field=models.DateField(blank=True, null=True, verbose_name="spot-check date"),
        ),
        migrations.AddField(
            model_name="proposalline",
            name="spot_check_median",
            field=models.DecimalField(
                blank=True,
                decimal_places=6,
                max_digits=24,
                null=True,
                verbose_name="median per person per day",
            ),
        ),
        migrations.AddField(
            model_name="proposalline",
            name="spot_check_score",
            field=models.DecimalField(
                blank=True,
                decimal_places=2,
                max_digits=14,
                null=True,
                verbose_name="spot-check robust z-score",
            ),
        ),
        migrations.AddField(
            model_name="proposalline",
            name="staff",
            field=models.PositiveIntegerField(
                blank=True, null=True, verbose_name="protected staff"
            ),
        ),
        migrations.AddField(
            model_name="proposalline",
            name="stock_note",
            field=models.CharField(blank=True, max_length=20, verbose_name="stock note"),
        ),
        migrations.AlterField(
            model_name="proposalline",
            name="prefecture",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="supplycoord.prefecture",
                verbose_name="prefecture",
            ),
        ),
        migrations.RunPython(fill_destinations, empty_destinations),
        migrations.AlterField(
            model_name="proposalline",
            name="destination",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="allocation.destination",
                verbose_name="claimant",
            ),
        ),
        migrations.AddConstraint(
            model_name="proposalline",
            constraint=models.UniqueConstraint(
                fields=("proposal_item", "destination"), name="proposal_line_once"
            ),
        ),
    ]
