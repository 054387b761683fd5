"""Pending reconciliation cases per prefecture, kept by PostgreSQL (issue 13).

Statement-level triggers with transition tables on reports_reconciliationcase add to
reports_reconciliationpending what each INSERT, UPDATE or DELETE of cases changed, per
prefecture, in the statement's transaction: the build's bulk sync costs one aggregate per
statement, a person's action one row. CREATE TRIGGER takes a SHARE ROW EXCLUSIVE lock on the
cases table until this migration commits, so no case is written between the triggers
starting and the counts being filled from the cases below.
"""

import django.db.models.deletion
from django.db import migrations, models


TRIGGER_SQL = """
CREATE FUNCTION reports_reconciliation_pending_apply() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        -- Update only: when a prefecture is deleted its row may already be gone, and it must
        -- not come back.
        UPDATE reports_reconciliationpending AS p
           SET open = p.open - d.open, explained = p.explained - d.explained
          FROM (SELECT prefecture_id,
                       count(*) FILTER (WHERE status = 'open') AS open,
                       count(*) FILTER (WHERE status = 'explained') AS explained
                  FROM old_rows
                 WHERE status IN ('open', 'explained')
                 GROUP BY prefecture_id) AS d
         WHERE p.prefecture_id = d.prefecture_id;
    ELSIF TG_OP = 'INSERT' THEN
        INSERT INTO reports_reconciliationpending AS p (prefecture_id, open, explained)
        SELECT prefecture_id,
               count(*) FILTER (WHERE status = 'open'),
               count(*) FILTER (WHERE status = 'explained')
          FROM new_rows
         WHERE status IN ('open', 'explained')
         GROUP BY prefecture_id
         ORDER BY prefecture_id
        ON CONFLICT (prefecture_id) DO UPDATE
           SET open = p.open + EXCLUDED.open, explained = p.explained + EXCLUDED.explained;
    ELSE
        INSERT INTO reports_reconciliationpending AS p (prefecture_id, open, explained)
        SELECT prefecture_id, sum(open), sum(explained)
          FROM (SELECT prefecture_id, (status = 'open')::int AS open,
                       (status = 'explained')::int AS explained
                  FROM new_rows
                 WHERE status IN ('open', 'explained')
                UNION ALL
                SELECT prefecture_id, -(status = 'open')::int, -(status = 'explained')::int
                  FROM old_rows
                 WHERE status IN ('open', 'explained')) AS moves
         GROUP BY prefecture_id
        HAVING sum(open) <> 0 OR sum(explained) <> 0
         ORDER BY prefecture_id
        ON CONFLICT (prefecture_id) DO UPDATE
           SET open = p.open + EXCLUDED.open, explained = p.explained + EXCLUDED.explained;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER reconciliation_pending_insert AFTER INSERT ON reports_reconciliationcase
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION reports_reconciliation_pending_apply();
CREATE TRIGGER reconciliation_pending_update AFTER UPDATE ON reports_reconciliationcase
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION reports_reconciliation_pending_apply();
CREATE TRIGGER reconciliation_pending_delete AFTER DELETE ON reports_reconciliationcase
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION reports_reconciliation_pending_apply();

-- TRUNCATE fires no row or statement DELETE trigger: empty the counts with the cases.
CREATE FUNCTION reports_reconciliation_pending_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM reports_reconciliationpending;
    RETURN NULL;
END
$$;
CREATE TRIGGER reconciliation_pending_truncate AFTER TRUNCATE ON reports_reconciliationcase
    FOR EACH STATEMENT EXECUTE FUNCTION reports_reconciliation_pending_truncate();

INSERT INTO reports_reconciliationpending (prefecture_id, open, explained)
SELECT prefecture_id,
       count(*) FILTER (WHERE status = 'open'),
       count(*) FILTER (WHERE status = 'explained')
  FROM reports_reconciliationcase
 WHERE status IN ('open', 'explained')
 GROUP BY prefecture_id;
"""

REVERSE_SQL = """
DROP TRIGGER reconciliation_pending_insert ON reports_reconciliationcase;
DROP TRIGGER reconciliation_pending_update ON reports_reconciliationcase;
DROP TRIGGER reconciliation_pending_delete ON reports_reconciliationcase;
DROP TRIGGER reconciliation_pending_truncate ON reports_reconciliationcase;
DROP FUNCTION reports_reconciliation_pending_apply();
DROP FUNCTION reports_reconciliation_pending_truncate();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0009_alert_open_indexes"),
        ("supplycoord", "0008_item_short_names"),
    ]

    operations = [
        migrations.CreateModel(
            name="ReconciliationPending",
            fields=[
                (
                    "prefecture",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to="supplycoord.prefecture",
                        verbose_name="prefecture",
                    ),
                ),
                ("open", models.BigIntegerField(default=0, verbose_name="open")),
                ("explained", models.BigIntegerField(default=0, verbose_name="explained")),
            ],
            options={
                "verbose_name": "pending reconciliation cases",
                "verbose_name_plural": "pending reconciliation cases",
            },
        ),
        migrations.RunSQL(TRIGGER_SQL, REVERSE_SQL),
    ]
