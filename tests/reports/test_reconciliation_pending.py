"""The pending reconciliation counts per prefecture (issue 13): PostgreSQL keeps them by trigger
(migration reports/0010), whichever code writes the cases, and they always equal a count of
the cases themselves. The overview reads them instead of counting 500,000 cases a request."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.db.models import Case, Count, Q, Value, When

from inventory.models import DailyFigure
from inventory.services import daily_figures_submit
from reports.models import ReconciliationCase, ReconciliationPending, ReconciliationStatus
from reports.services import (
    reconciliation_accept,
    reconciliation_explain,
    reconciliation_reopen,
    snapshot_build_for_date,
)
from tests.factories import DailyFigureFactory, ItemFactory, PrefectureFactory

TZ = ZoneInfo("Asia/Shanghai")
DAY = dt.date(2020, 2, 10)
PREV = DAY - dt.timedelta(days=1)


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(dt.datetime(2020, 2, 10, 18, 0, tzinfo=TZ), tick=False):
        yield


def kept():
    """{prefecture code: (open, explained)} as the trigger kept them (zero rows left out)."""
    return {
        code: (open_, explained)
        for code, open_, explained in ReconciliationPending.objects.values_list(
            "prefecture__code", "open", "explained"
        )
        if open_ or explained
    }


def counted():
    """The same, counted from the cases themselves."""
    rows = (
        ReconciliationCase.objects.values("prefecture__code")
        .annotate(
            open=Count("pk", filter=Q(status="open")),
            explained=Count("pk", filter=Q(status="explained")),
        )
        .order_by()
    )
    return {
        r["prefecture__code"]: (r["open"], r["explained"])
        for r in rows
        if r["open"] or r["explained"]
    }


def assert_counts(expected):
    assert kept() == expected
    assert counted() == expected


@pytest.fixture
def two_gaps(lanzhou, tianshui, n95):
    """Lanzhou 100 → +20 −30 → 85 reported (gap −5); Tianshui 50 → −10 → 45 (gap +5)."""
    for prefecture, prev, stock, received, consumption in (
        (lanzhou, 100, 85, 20, 30),
        (tianshui, 50, 45, 0, 10),
    ):
        DailyFigureFactory(prefecture=prefecture, item=n95, date=PREV, stock=prev)
        DailyFigureFactory(
            prefecture=prefecture,
            item=n95,
            date=DAY,
            stock=stock,
            received=received,
            consumption=consumption,
        )
    snapshot_build_for_date(date=DAY)
    return {
        "lanzhou": ReconciliationCase.objects.get(prefecture=lanzhou),
        "tianshui": ReconciliationCase.objects.get(prefecture=tianshui),
    }


def correct(user, prefecture, item, *, stock):
    current = DailyFigure.objects.get(prefecture=prefecture, item=item, date=DAY)
    row = {
        "prefecture": prefecture.code,
        "item": item.code,
        "date": DAY.isoformat(),
        **current.figures(),
        "stock": stock,
    }
    daily_figures_submit(user=user, rows=[row], reason="Recounted")


def test_the_counts_follow_every_step_of_a_case(
    two_gaps, lanzhou, n95, officer, office, django_capture_on_commit_callbacks
):
    # The build opens one case in each prefecture: Lanzhou (620100) and Tianshui (620500).
    assert_counts({"620100": (1, 0), "620500": (1, 0)})

    case = reconciliation_explain(user=officer, case=two_gaps["lanzhou"], note="Damaged")
    assert_counts({"620100": (0, 1), "620500": (1, 0)})

    case = reconciliation_accept(user=office, case=case)
    assert_counts({"620500": (1, 0)})  # accepted waits for nobody

    case = reconciliation_reopen(user=office, case=case, note="Send the damage report")
    assert_counts({"620100": (1, 0), "620500": (1, 0)})

    # A correction to 90 (100 + 20 − 30) removes the gap: the rebuild closes it as corrected.
    with django_capture_on_commit_callbacks(execute=True):
        correct(office, lanzhou, n95, stock=90)
    assert ReconciliationCase.objects.get(pk=case.pk).status == ReconciliationStatus.CORRECTED
    assert_counts({"620500": (1, 0)})

    # 92 brings a +2 gap back: the rebuild reopens the same case.
    with django_capture_on_commit_callbacks(execute=True):
        correct(office, lanzhou, n95, stock=92)
    assert_counts({"620100": (1, 0), "620500": (1, 0)})

    # Running the build again changes nothing.
    snapshot_build_for_date(date=DAY)
    assert_counts({"620100": (1, 0), "620500": (1, 0)})


def test_the_counts_follow_any_statement_on_the_cases(lanzhou, tianshui, n95):
    """Bulk inserts, set-based updates and deletes outside the services are counted too."""
    gloves = ItemFactory(code="GL001")
    now = dt.datetime(2020, 2, 10, 18, 0, tzinfo=TZ)
    figures = {"previous_stock": 10, "received": 0, "consumption": 0, "stock": 9, "gap": -1}
    ReconciliationCase.objects.bulk_create(
        [
            ReconciliationCase(
                date=DAY - dt.timedelta(days=offset),
                prefecture=prefecture,
                item=item,
                status=status,
                opened_at=now,
                status_changed_at=now,
                **figures,
            )
            for offset, prefecture, item, status in (
                (0, lanzhou, n95, "open"),
                (1, lanzhou, n95, "open"),
                (2, lanzhou, n95, "explained"),
                (0, lanzhou, gloves, "accepted"),
                (0, tianshui, n95, "explained"),
                (0, tianshui, gloves, "corrected"),
            )
        ]
    )
    # Lanzhou: 2 open + 1 explained (the accepted one waits for nobody); Tianshui: 1 explained.
    assert_counts({"620100": (2, 1), "620500": (0, 1)})

    # One UPDATE moving four cases: Lanzhou's two open ones and Tianshui's explained one to
    # explained, the corrected one to open.
    ReconciliationCase.objects.filter(
        Q(prefecture=lanzhou, status="open") | Q(prefecture=tianshui)
    ).update(status=Case(When(status="corrected", then=Value("open")), default=Value("explained")))
    assert_counts({"620100": (0, 3), "620500": (1, 1)})

    ReconciliationCase.objects.filter(prefecture=lanzhou, date=DAY - dt.timedelta(days=2)).delete()
    assert_counts({"620100": (0, 2), "620500": (1, 1)})


def test_deleting_a_prefecture_leaves_no_count_behind(two_gaps, n95):
    """A prefecture without figures (they are protected) whose cases go with it."""
    gone = PrefectureFactory(code="629900")
    now = dt.datetime(2020, 2, 10, 18, 0, tzinfo=TZ)
    ReconciliationCase.objects.create(
        date=DAY,
        prefecture=gone,
        item=n95,
        opened_at=now,
        status_changed_at=now,
        previous_stock=10,
        received=0,
        consumption=0,
        stock=9,
        gap=-1,
    )
    assert_counts({"620100": (1, 0), "620500": (1, 0), "629900": (1, 0)})

    gone.delete()
    with connection.cursor() as cursor:
        # The foreign keys are deferred: check them now, as a commit would.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    assert not ReconciliationPending.objects.filter(prefecture_id=gone.pk).exists()
    assert_counts({"620100": (1, 0), "620500": (1, 0)})


def test_the_overview_reads_the_counts_in_one_query_for_any_number_of_prefectures(
    django_assert_num_queries, leader
):
    from reports.selectors import reconciliation_counts_by_prefecture

    prefectures = PrefectureFactory.create_batch(30)
    ReconciliationPending.objects.bulk_create(
        [
            ReconciliationPending(prefecture=p, open=i, explained=0)
            for i, p in enumerate(prefectures)
        ]
    )
    with django_assert_num_queries(1):
        rows = reconciliation_counts_by_prefecture(leader, prefectures=prefectures)
    # The first prefecture has 0 open and 0 explained: it is left out; the others in order.
    assert [r["open"] for r in rows] == list(range(1, 30))
    assert [r["prefecture"] for r in rows] == prefectures[1:]


@pytest.mark.django_db(transaction=True)
def test_a_truncate_of_the_cases_empties_the_counts(two_gaps):
    """Committed first (a TRUNCATE refuses a table with pending foreign-key checks)."""
    assert_counts({"620100": (1, 0), "620500": (1, 0)})
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE reports_reconciliationcase CASCADE")
    assert_counts({})
