from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("supplycoord", "0008_item_short_names"),
    ]

    operations = [
        migrations.AddField(
            model_name="historicalitem",
            name="scarce",
            field=models.BooleanField(
                db_default=False,
                default=False,
                help_text="Flagged in the catalogue and the supplier directory.",
                verbose_name="scarce item",
            ),
        ),
        migrations.AddField(
            model_name="item",
            name="scarce",
            field=models.BooleanField(
                db_default=False,
                default=False,
                help_text="Flagged in the catalogue and the supplier directory.",
                verbose_name="scarce item",
            ),
        ),
    ]
