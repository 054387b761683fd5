"""Builds of different dates, and any other writer of cases, lock the pending counts
(ReconciliationPending, kept by trigger) in one order: by prefecture, after the cases.

The sync is one statement, but its UPDATE and INSERT of cases fire two statement triggers,
each locking the counts of its own prefectures in order: without one ordered lock of every
prefecture first, a build held Tianshui's count (from one pass) while it waited for
Lanzhou's (in the other), and a writer holding Lanzhou's and then needing Tianshui's (a
build of another date) made a deadlock: PostgreSQL killed one of them.
"""

import datetime as dt
import threading
import time
from zoneinfo import ZoneInfo

import psycopg2
import pytest
from django.db import connection, connections

from reports.models import ReconciliationCase, ReconciliationStatus
from reports.services import snapshot_build_for_date
from tests.database_url import database_url
from tests.factories import DailyFigureFactory

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

TZ = ZoneInfo("Asia/Shanghai")
DAY = dt.date(2020, 2, 10)
OTHER_DAY = dt.date(2020, 2, 5)
NOW = dt.datetime(2020, 2, 10, 18, 0, tzinfo=TZ)


def _case(prefecture, item, date, status, gap=-1):
    return ReconciliationCase.objects.create(
        date=date,
        prefecture=prefecture,
        item=item,
        status=status,
        opened_at=NOW,
        status_changed_at=NOW,
        previous_stock=10,
        received=0,
        consumption=0,
        stock=10 + gap,
        gap=gap,
    )


@pytest.mark.parametrize("opened", ["lanzhou", "tianshui"])
def test_a_build_and_another_writer_of_cases_never_deadlock(opened, lanzhou, tianshui, n95):
    """DAY's build opens a case in one prefecture (an INSERT of cases) and reopens the other's
    explained case, whose gap changed (an UPDATE): each way round, so that one of the two
    trigger passes comes first whichever PostgreSQL fires first. The other writer stands for
    a build of another date: it locks the counts in prefecture order, Lanzhou's then
    Tianshui's, in two statements."""
    assert lanzhou.pk < tianshui.pk
    opened, reopened = (lanzhou, tianshui) if opened == "lanzhou" else (tianshui, lanzhou)
    for prefecture, prev, stock, received, consumption in (
        (lanzhou, 100, 85, 20, 30),
        (tianshui, 50, 45, 0, 10),
    ):
        DailyFigureFactory(
            prefecture=prefecture, item=n95, date=DAY - dt.timedelta(days=1), stock=prev
        )
        DailyFigureFactory(
            prefecture=prefecture,
            item=n95,
            date=DAY,
            stock=stock,
            received=received,
            consumption=consumption,
        )
    _case(reopened, n95, DAY, ReconciliationStatus.EXPLAINED)
    first, then = lanzhou, tianshui
    # Another date's open cases, moved by the other writer.
    other = {
        p.pk: _case(p, n95, OTHER_DAY, ReconciliationStatus.OPEN).pk for p in (lanzhou, tianshui)
    }

    writer = psycopg2.connect(database_url(connection.settings_dict))
    errors = []
    build_pid = []

    def build():
        try:
            with connections["default"].cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                build_pid.append(cursor.fetchone()[0])
                cursor.execute("SET lock_timeout = '20s'")
            snapshot_build_for_date(date=DAY)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connections.close_all()

    try:
        with writer.cursor() as cursor:
            cursor.execute("SET lock_timeout = '20s'")
            # The other writer moves Lanzhou's case first: it holds Lanzhou's count.
            cursor.execute(
                "UPDATE reports_reconciliationcase SET status = 'explained' WHERE id = %s",
                [other[first.pk]],
            )
            thread = threading.Thread(target=build)
            thread.start()
            # Wait until the build waits for a lock (Lanzhou's count).
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                # (pg_stat_activity is read once per transaction unless cleared.)
                cursor.execute("SELECT pg_stat_clear_snapshot()")
                cursor.execute(
                    "SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s",
                    [build_pid[0] if build_pid else 0],
                )
                row = cursor.fetchone()
                if row and row[0] == "Lock":
                    break
                time.sleep(0.05)
            else:
                pytest.fail(f"the build never waited: {errors}")
            # Then Tianshui's: the build must not be holding it while it waits for Lanzhou's.
            cursor.execute(
                "UPDATE reports_reconciliationcase SET status = 'explained' WHERE id = %s",
                [other[then.pk]],
            )
            writer.commit()
        thread.join(30)
    finally:
        writer.close()

    assert not thread.is_alive()
    assert errors == []
    assert ReconciliationCase.objects.get(prefecture=reopened, date=DAY).status == (
        ReconciliationStatus.OPEN
    )
    assert ReconciliationCase.objects.filter(prefecture=opened, date=DAY).exists()
