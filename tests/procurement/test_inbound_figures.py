"""reports.md "Inbound": inbound_3d / inbound_14d per item as of the end of d, with every channel
and every edge worked out by hand, and the overdue inbound counted in neither window."""

import datetime as dt

import pytest

from procurement.inbound import inbound_by_item, inbound_calendar, provincial_reserve_arriving_3d
from procurement.models import DistributionEnterprise, DistributionReport
from procurement.services import (
    national_allocation_announce,
    national_allocation_arrival_record,
    order_arrival_record,
    order_cancel,
)
from tests.procurement.conftest import NOW, TODAY, credit_code

# d is five days after the orders are placed (TODAY, 20 February 2020): 25 February.
D = TODAY + dt.timedelta(days=5)


def days(n):
    return D + dt.timedelta(days=n)


def at(day, hour=10):
    return NOW.replace(year=day.year, month=day.month, day=day.day, hour=hour)


@pytest.fixture
def world(frozen_time, office, lanzhou, n95, masks, sz01, make_order):
    """Placed on 20 Feb: every order line of the module's cases; then arrivals on 24 Feb (d-1)
    and 26 Feb (d+1), with the clock moved to each day."""
    a = make_order([(n95, 1000, "1.00", days(2))])  # 400 arrive on d-1 → 600 open
    b = make_order([(n95, 300, "1.00", days(5))])  # d+5: 14-day window only
    c = make_order([(n95, 200, "1.00", days(-1))])  # d-1: overdue on d
    late = make_order([(n95, 50, "1.00", days(1))])  # arrives on d+1: still open on d
    make_order([(n95, 100, "1.00", D)])  # expected on d itself: in both windows
    edge = make_order([(n95, 20, "1.00", days(14)), (masks, 9, "1.00", days(15))])
    gone = make_order([(n95, 10_000, "1.00", days(1))])
    order_cancel(user=office, order=gone, expected_version=gone.version, note="供应商违约")
    national = national_allocation_announce(
        user=office, item=n95, quantity=5000, expected_arrival=days(10), warehouse=sz01
    )
    enterprise = DistributionEnterprise.objects.create(
        name="甘肃医药集团", credit_code=credit_code(77), prefecture=lanzhou
    )
    for day, quantity in ((D, 700), (days(-1), 999)):  # only d's report counts on d
        DistributionReport.objects.create(
            enterprise=enterprise,
            item=n95,
            date=day,
            purchased=0,
            shipped=0,
            purchase_in_transit=quantity,
            stock=0,
            submitted_by=office,
            first_submitted_at=NOW,
            submitted_at=NOW,
        )

    frozen_time.move_to(at(days(-1)))
    order_arrival_record(
        user=office,
        order=a,
        warehouse=sz01,
        lines=[{"line": a.lines.get().pk, "quantity": 400}],
    )
    frozen_time.move_to(at(days(1)))
    order_arrival_record(
        user=office,
        order=late,
        warehouse=sz01,
        lines=[{"line": late.lines.get().pk, "quantity": 50}],
    )
    return {"a": a, "b": b, "c": c, "national": national, "edge": edge}


def test_it_adds_every_channel_into_the_two_windows(world, n95):
    figures = inbound_by_item(D)[n95.pk]
    # Orders within 3 days: 600 (a: 1,000 − 400) + 50 (late, arrives d+1) + 100 (on d) = 750;
    # within 14 days also b 300 and the line expected on d+14 20: 750 + 320 = 1,070.
    assert (figures.orders_3d, figures.orders_14d) == (750, 1070)
    # National: 5,000 expected d+10 → 14 days only.
    assert (figures.national_3d, figures.national_14d) == (0, 5000)
    # Distribution enterprises report 700 in transit for d (999 for d-1 is not d's).
    assert figures.distribution_in_transit == 700
    # inbound_3d = 750 + 0 + 700 = 1,450; inbound_14d = 1,070 + 5,000 + 700 = 6,770.
    assert (figures.inbound_3d, figures.inbound_14d) == (1450, 6770)
    # Overdue: c, 200 expected d-1, in neither window; the cancelled 10,000 count nowhere.
    assert figures.overdue == 200


def test_a_line_after_the_long_window_counts_nothing(world, masks):
    # The masks line is expected on d+15, one day past the 14-day window.
    assert masks.pk not in inbound_by_item(D)


def test_an_arrival_counts_from_its_own_day(world, n95):
    # On d+1 the 50 of `late` have arrived; the window [d+1, d+4] still holds a (600, d+2);
    # the line expected on d (100) is now overdue; no distribution report for d+1.
    figures = inbound_by_item(days(1))[n95.pk]
    assert figures.orders_3d == 600
    assert figures.distribution_in_transit == 0
    assert figures.overdue == 200 + 100


def test_a_past_date_keeps_its_figure_when_later_things_happen(world, office, n95, sz01):
    before = inbound_by_item(D)[n95.pk]
    # Two days later everything of a and the national allocation arrive.
    world["a"].refresh_from_db()
    order_arrival_record(
        user=office,
        order=world["a"],
        warehouse=sz01,
        lines=[{"line": world["a"].lines.get().pk, "quantity": 600}],
    )
    national_allocation_arrival_record(user=office, allocation=world["national"], quantity=5000)
    after = inbound_by_item(D)[n95.pk]
    assert (after.inbound_3d, after.inbound_14d, after.overdue) == (1450, 6770, 200)
    assert (before.inbound_3d, before.inbound_14d) == (after.inbound_3d, after.inbound_14d)
    # Today (d+1) the 600 of a are gone from the figures: 0 from orders within 3 days.
    assert inbound_by_item(days(1))[n95.pk].orders_3d == 0


def test_an_order_placed_after_d_is_not_known_on_d(world, n95, make_order, frozen_time):
    # Placed on d+1 (the clock's day), expected on d+2: not part of d's figure.
    make_order([(n95, 4444, "1.00", days(2))])
    assert inbound_by_item(D)[n95.pk].orders_3d == 750
    assert inbound_by_item(days(1))[n95.pk].orders_3d == 600 + 4444


def test_the_items_argument_narrows_and_costs_three_queries(
    world, n95, masks, django_assert_num_queries
):
    with django_assert_num_queries(3):
        figures = inbound_by_item(D, items=[masks])
    assert figures == {}
    with django_assert_num_queries(3):
        assert set(inbound_by_item(D, items=[n95, masks])) == {n95.pk}


def test_the_calendar_adds_up_to_the_figures(world, n95, django_assert_max_num_queries):
    with django_assert_max_num_queries(5):
        calendar = inbound_calendar(D, item=n95)
    # 15 columns, d .. d+14; orders: 100 on d, 50 on d+1, 600 on d+2, 300 on d+5, 20 on d+14.
    assert calendar.days[0] == D and calendar.days[-1] == days(14)
    assert {i: q for i, q in enumerate(calendar.orders) if q} == {
        0: 100,
        1: 50,
        2: 600,
        5: 300,
        14: 20,
    }
    assert {i: q for i, q in enumerate(calendar.national) if q} == {10: 5000}
    figures = inbound_by_item(D)[n95.pk]
    # Days d .. d+3 plus the undated 700 = inbound_3d; all 15 days plus 700 = inbound_14d.
    assert sum(calendar.orders[:4]) + sum(calendar.national[:4]) + 700 == figures.inbound_3d
    assert sum(calendar.orders) + sum(calendar.national) + 700 == figures.inbound_14d
    assert [(e.number, e.outstanding, e.days_overdue) for e in calendar.overdue] == [
        (world["c"].number, 200, 1)
    ]


def test_what_arrives_in_the_provincial_reserve_within_3_days(world, n95, sz01, office):
    # Orders by the office go into any reserve warehouse: 600 + 50 + 100 = 750 on d; the
    # national 5,000 are expected on d+10, beyond 3 days; distribution in transit is theirs.
    assert provincial_reserve_arriving_3d(D, items=[n95], warehouses=[sz01]) == {n95.pk: 750}
    # The national allocation is counted on d+7 (expected d+10 = (d+7)+3) for SZ01.
    national_allocation_announce(
        user=office, item=n95, quantity=8, expected_arrival=days(3), warehouse=sz01
    )
    assert provincial_reserve_arriving_3d(days(1), items=[n95], warehouses=[sz01]) == {
        n95.pk: 600 + 8
    }


def test_the_alerts_page_lists_the_overdue_inbound_per_item(world, client, office, officer, n95):
    from django.urls import reverse

    from procurement.inbound import overdue_inbound_by_item

    # On d+1 (the clock's day): c (200, expected d-1) and the line expected on d (100).
    assert [(r.item_id, r.entries, r.quantity) for r in overdue_inbound_by_item(days(1))] == [
        (n95.pk, 2, 300)
    ]
    client.force_login(office)
    page = client.get(reverse("reports:alerts")).content.decode()
    assert 'id="overdue-inbound"' in page
    assert f"?item={n95.code}#inbound-overdue-list" in page
    # An officer sees the alerts of the prefecture, not the province's purchases.
    client.force_login(officer)
    assert 'id="overdue-inbound"' not in client.get(reverse("reports:alerts")).content.decode()
