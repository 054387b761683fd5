"""A proposal on a date whose province figures are partial (reports.md "Coverage") is refused
unless the office confirms it with a reason, which the proposal keeps and shows."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from allocation.models import Destination, DestinationKind, Proposal
from inventory.services import stock_receive
from reports.services import snapshot_build_for_date
from supplycoord.models import Item
from tests.factories import DailyFigureFactory, WarehouseFactory

TZ = ZoneInfo("Asia/Shanghai")
D = dt.date(2020, 2, 20)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(dt.datetime(2020, 2, 20, 10, 0, tzinfo=TZ), tick=False):
        yield


@pytest.fixture
def partial_day(office, lanzhou, tianshui, n95):
    """SZ01 holds 5,000 N95. Lanzhou reports on D (rate 100); Tianshui's last report, rate 400,
    is 5 days old: its stock is missing. Coverage 100 / (100 + 400) = 20 % < 80 %: partial."""
    sz01 = WarehouseFactory(code="SZ01")
    stock_receive(user=office, warehouse=sz01, lines=[(n95, 5000)], source="purchase")
    DailyFigureFactory(prefecture=lanzhou, item=n95, date=D, stock=1000, consumption=100)
    DailyFigureFactory(
        prefecture=tianshui, item=n95, date=D - dt.timedelta(days=5), stock=3000, consumption=400
    )
    for prefecture in (lanzhou, tianshui):
        Destination.objects.create(
            kind=DestinationKind.PREFECTURE, name_zh=prefecture.name_zh, prefecture=prefecture
        )
    snapshot_build_for_date(date=D)


def create(client, **extra):
    data = {
        "name": "N95 第一轮",
        "date": D.isoformat(),
        "warehouse-SZ01": "1",
        "item-FH001": "1",
        **extra,
    }
    return client.post(reverse("reports:proposal_new"), data)


def test_a_proposal_on_partial_figures_is_refused_without_a_reason(client, office, partial_day):
    client.force_login(office)
    response = create(client, coverage_reason="   ")
    assert response.status_code == 400
    assert 'id="proposal-errors"' in response.content.decode()
    assert not Proposal.objects.exists()


def test_the_office_confirms_with_a_reason_kept_on_the_proposal(client, office, partial_day):
    client.force_login(office)
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    response = create(client, coverage_reason="Tianshui phoned its figures in")
    assert response.status_code == 302
    proposal = Proposal.objects.get()
    assert proposal.coverage_reason == "Tianshui phoned its figures in"
    assert proposal.coverage_partial_items == "FH001"
    page = client.get(reverse("reports:proposal_detail", args=[proposal.pk])).content.decode()
    assert "Made on partial figures" in page
    # The stored code is shown as the item's name in the reader's language.
    assert f"{Item.objects.get(code='FH001').name_en or 'FH001'}: Tianshui phoned" in page
    assert 'data-items="FH001"' in page


def test_a_full_date_needs_no_reason_and_keeps_none(client, office, lanzhou, tianshui, n95):
    """Both report: 100 % coverage; a reason typed anyway is not kept (nothing to confirm)."""
    sz01 = WarehouseFactory(code="SZ01")
    stock_receive(user=office, warehouse=sz01, lines=[(n95, 5000)], source="purchase")
    for prefecture in (lanzhou, tianshui):
        DailyFigureFactory(prefecture=prefecture, item=n95, date=D, stock=1000, consumption=100)
        Destination.objects.create(
            kind=DestinationKind.PREFECTURE, name_zh=prefecture.name_zh, prefecture=prefecture
        )
    snapshot_build_for_date(date=D)
    client.force_login(office)
    assert create(client, coverage_reason="just in case").status_code == 302
    assert Proposal.objects.get().coverage_reason == ""


@pytest.mark.parametrize("role", ["leader", "officer", "outsider"])
def test_no_one_but_the_office_may_confirm_a_partial_proposal(client, request, role, partial_day):
    client.force_login(request.getfixturevalue(role))
    assert create(client, coverage_reason="because").status_code == 403
    assert not Proposal.objects.exists()
