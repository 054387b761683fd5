"""`distribution_in_transit_by_item(day)`: the inbound view's distribution channel
(reports.md, "Inbound": distribution enterprises' purchase_in_transit reported for d)."""

import datetime as dt

import pytest

from procurement.distribution_selectors import distribution_in_transit_by_item
from procurement.models import DistributionEnterprise, DistributionReport
from tests.procurement.conftest import NOW, TODAY, credit_code


def _enterprise(prefecture, serial, *, active=True):
    return DistributionEnterprise.objects.create(
        name=f"流通企业{serial}",
        credit_code=credit_code(100 + serial),
        prefecture=prefecture,
        active=active,
    )


def _report(enterprise, item, day, in_transit, *, user):
    return DistributionReport.objects.create(
        enterprise=enterprise,
        item=item,
        date=day,
        purchased=0,
        shipped=0,
        purchase_in_transit=in_transit,
        stock=0,
        submitted_by=user,
        first_submitted_at=NOW,
        submitted_at=NOW,
    )


@pytest.mark.django_db
def test_it_sums_purchase_in_transit_reported_for_exactly_that_day(
    lanzhou, tianshui, n95, masks, office
):
    a = _enterprise(lanzhou, 1)
    b = _enterprise(tianshui, 2)
    closed = _enterprise(lanzhou, 3, active=False)
    yesterday = TODAY - dt.timedelta(days=1)
    _report(a, n95, TODAY, 1_200, user=office)
    _report(b, n95, TODAY, 800, user=office)
    _report(a, masks, TODAY, 5_000, user=office)
    _report(b, masks, yesterday, 9_999, user=office)  # another day: not carried forward
    _report(closed, n95, TODAY, 70_000, user=office)  # inactive enterprise: left out

    # N95: 1,200 + 800 = 2,000; masks: only A's 5,000 for today (B's 9,999 was yesterday).
    assert distribution_in_transit_by_item(TODAY) == {n95.pk: 2_000, masks.pk: 5_000}
    # Yesterday: only B's masks.
    assert distribution_in_transit_by_item(yesterday) == {masks.pk: 9_999}
    # A day nobody reported: empty, not zeros.
    assert distribution_in_transit_by_item(TODAY + dt.timedelta(days=1)) == {}


@pytest.mark.django_db
def test_it_answers_in_one_query(lanzhou, n95, office, django_assert_num_queries):
    _report(_enterprise(lanzhou, 1), n95, TODAY, 10, user=office)
    with django_assert_num_queries(1):
        assert distribution_in_transit_by_item(TODAY) == {n95.pk: 10}
