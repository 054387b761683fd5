"""A new proposal's defaults (issue 12): each prefecture's priority weight from the reference
data, and a reserve floor where the office set none: SUPPLYCOORD_DEFAULT_RESERVE_FLOOR_DAYS (3)
days of the province's consumption, read as Σ avg_consumption_7d, shown and editable."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from allocation.models import Destination, DestinationKind, Proposal, ReserveFloor
from inventory.services import stock_receive
from reports.services import snapshot_build_for_date
from tests.factories import DailyFigureFactory, WarehouseFactory

TZ = ZoneInfo("Asia/Shanghai")
D = dt.date(2020, 2, 20)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(dt.datetime(2020, 2, 20, 10, 0, tzinfo=TZ), tick=False):
        yield


@pytest.fixture
def setup(office, lanzhou, tianshui, n95):
    """SZ01 holds 5,000 N95. Lanzhou: stock 1,000, 500 a day; Tianshui: stock 3,000, 400 a
    day: the province consumes 900 a day, so the default floor is 3 × 900 = 2,700.
    Lanzhou's reference weight is 1.50, Tianshui's 1."""
    lanzhou.priority_weight = Decimal("1.50")
    lanzhou.save()
    sz01 = WarehouseFactory(code="SZ01")
    stock_receive(user=office, warehouse=sz01, lines=[(n95, 5000)], source="purchase")
    for prefecture, stock, rate in ((lanzhou, 1000, 500), (tianshui, 3000, 400)):
        DailyFigureFactory(prefecture=prefecture, item=n95, date=D, stock=stock, consumption=rate)
        Destination.objects.create(
            kind=DestinationKind.PREFECTURE, name_zh=prefecture.name_zh, prefecture=prefecture
        )
    snapshot_build_for_date(date=D)
    return sz01


def form_page(client, office):
    client.force_login(office)
    client.cookies["django_language"] = "en"
    response = client.get(reverse("reports:proposal_new"))
    assert response.status_code == 200
    return response.content.decode()


def test_the_form_offers_the_reference_weight_with_its_reason(client, office, setup):
    html = form_page(client, office)

    assert 'name="weight-620100"\n                       value="1.5"' in html
    assert (
        'name="reason-620100"\n                       value="Priority weight in the reference data"'
        in html
    )
    assert 'name="weight-620500"\n                       value="1"' in html
    assert 'name="reason-620500"\n                       value=""' in html


def test_the_form_offers_three_days_of_province_consumption_as_the_floor(client, office, setup):
    html = form_page(client, office)

    # 3 days × (500 + 400) a day = 2,700.
    assert 'name="floor-FH001"\n                       value="2700"' in html
    assert "3 days × 900 a day (province 7-day average)" in html


def test_an_office_floor_is_offered_instead(client, office, setup, n95):
    ReserveFloor.objects.create(
        item=n95, quantity=1200, set_by=office, set_at=dt.datetime(2020, 2, 20, 9, tzinfo=TZ)
    )

    html = form_page(client, office)

    assert 'name="floor-FH001"\n                       value="1200"' in html
    assert "set by the office" in html


def post(client, **extra):
    data = {
        "name": "N95",
        "date": D.isoformat(),
        "warehouse-SZ01": "1",
        "item-FH001": "1",
        "weight-620100": "1.5",
        "reason-620100": "Priority weight in the reference data",
        "weight-620500": "1",
        "floor-FH001": "2700",
        **extra,
    }
    return client.post(reverse("reports:proposal_new"), data)


def test_the_defaults_as_offered_keep_the_floor_and_weight_lanzhou(client, office, setup):
    client.force_login(office)

    response = post(client)

    assert response.status_code == 302
    item = Proposal.objects.get().items.get()
    # 5,000 on hand − 2,700 floor = 2,300 to hand out. Weighted days of cover before:
    # Lanzhou 1,000 ÷ (1.5 × 500) = 1.33, Tianshui 3,000 ÷ 400 = 7.5. Lanzhou alone:
    # 750·T − 1,000 = 2,300 → T = 4.4 < 7.5, so Tianshui stays above the level and gets 0.
    assert (item.reserve_floor, item.quantity) == (2700, 2300)
    lines = {line.prefecture.code: line for line in item.lines.all()}
    assert lines["620100"].weight == Decimal("1.50")
    assert lines["620100"].weight_reason == "Priority weight in the reference data"
    assert (lines["620100"].quantity, lines["620500"].quantity) == (2300, 0)


def test_the_office_may_change_the_floor_for_this_proposal(client, office, setup):
    client.force_login(office)

    response = post(client, **{"floor-FH001": "4000"})

    assert response.status_code == 302
    item = Proposal.objects.get().items.get()
    # 5,000 − 4,000 = 1,000 to hand out.
    assert (item.reserve_floor, item.quantity) == (4000, 1000)


def test_an_emptied_floor_takes_the_default_of_the_chosen_date(client, office, setup):
    client.force_login(office)

    post(client, **{"floor-FH001": ""})

    assert Proposal.objects.get().items.get().reserve_floor == 2700


def test_a_floor_that_is_not_a_whole_number_is_a_400(client, office, setup):
    client.force_login(office)
    client.cookies["django_language"] = "en"

    response = post(client, **{"floor-FH001": "-5"})

    assert response.status_code == 400
    assert "the reserve floor must be a whole number, zero or more" in response.content.decode()
    assert not Proposal.objects.exists()
