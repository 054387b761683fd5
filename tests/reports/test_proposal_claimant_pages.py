"""The proposal pages with every claimant (issue 15 section 2): the units the office includes,
each claimant's kind, rate used, its source and why it was capped or replaced; queries flat."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from allocation.models import ClaimantStaff, Destination, DestinationKind, Proposal
from allocation.requests import request_submit, request_triage
from inventory.services import stock_receive
from reports.models import SpotCheckFlag
from reports.services import snapshot_build_for_date
from supplycoord.models import Norm, ProtectedStaff, Role, StaffCategory
from tests.factories import DailyFigureFactory, UserFactory, WarehouseFactory

TZ = ZoneInfo("Asia/Shanghai")
D = dt.date(2020, 2, 20)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(dt.datetime(2020, 2, 20, 10, 0, tzinfo=TZ), tick=False):
        yield


@pytest.fixture
def setup(office, lanzhou, tianshui, n95):
    """SZ01 holds 5,000 N95. Lanzhou 1,000 at 600 a day with 200 isolation staff (norm 1 a day:
    estimate 200, so capped at 300); Tianshui 3,000 at 500, flagged by the spot checks (median
    5.6 per person over 7 days = 0.8 a day × 2,300 staff = 1,840 a day). A hospital with an
    accepted request of 600 needed in 3 days (200 a day); a key unit with nothing."""
    sz01 = WarehouseFactory(code="SZ01")
    stock_receive(user=office, warehouse=sz01, lines=[(n95, 5000)], source="purchase")
    isolation = StaffCategory.objects.create(code="isolation", name_zh="隔离病区", sort_order=1)
    Norm.objects.create(
        staff_category=isolation,
        item=n95,
        effective_from=D - dt.timedelta(days=30),
        units_per_person_per_day=1,
        created_by=office,
    )
    ProtectedStaff.objects.create(prefecture=lanzhou, category=isolation, count=200)
    ProtectedStaff.objects.create(prefecture=tianshui, category=isolation, count=2300)
    for prefecture, stock, rate in ((lanzhou, 1000, 600), (tianshui, 3000, 500)):
        DailyFigureFactory(
            prefecture=prefecture, item=n95, date=D, stock=stock, consumption=rate, demand=rate
        )
    snapshot_build_for_date(date=D)
    SpotCheckFlag.objects.create(
        date=D,
        prefecture=tianshui,
        item=n95,
        figure=Decimal("40"),
        median=Decimal("5.6"),
        mad=Decimal("1"),
        score=Decimal("7.70"),
        prefectures_compared=14,
        computed_at=timezone.now(),
    )
    hospital = Destination.objects.create(
        kind=DestinationKind.PROVINCIAL_INSTITUTION, code="SRMYY", name_zh="甘肃省人民医院"
    )
    requester = UserFactory(username="hospital", role=Role.UNIT_REQUESTER)
    hospital.requesters.add(requester)
    request, _created = request_submit(
        user=requester,
        claimant=hospital,
        urgency="urgent",
        needed_by=D + dt.timedelta(days=3),
        justification="ICU",
        lines=[{"item": n95, "quantity": 600}],
    )
    request_triage(
        user=office,
        request=request,
        expected_version=request.version,
        decisions=[
            {"line": request.lines.get().pk, "decision": "accepted", "accepted_quantity": 600}
        ],
    )
    unit = Destination.objects.create(
        kind=DestinationKind.KEY_UNIT, code="LZJ", name_zh="兰州铁路局", name_en="Railway bureau"
    )
    return {"hospital": hospital, "unit": unit, "isolation": isolation}


def create(client, **extra):
    data = {
        "name": "N95",
        "date": D.isoformat(),
        "warehouse-SZ01": "1",
        "item-FH001": "1",
        **extra,
    }
    return client.post(reverse("reports:proposal_new"), data)


def test_the_form_offers_the_units_checking_those_with_an_open_accepted_request(
    client, office, setup
):
    client.force_login(office)
    html = client.get(reverse("reports:proposal_new")).content.decode()
    hospital, unit = setup["hospital"], setup["unit"]
    assert f'name="unit-{hospital.pk}" value="1" checked' in html
    assert f'name="unit-{unit.pk}" value="1" >' in html or (
        f'name="unit-{unit.pk}" value="1">' in html
    )


def test_the_office_includes_units_and_the_page_says_where_each_rate_comes_from(
    client, office, setup
):
    hospital, unit = setup["hospital"], setup["unit"]
    client.force_login(office)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = create(client, **{"units-shown": "1", f"unit-{unit.pk}": "1"})
    assert response.status_code == 302
    proposal = Proposal.objects.get()
    # Only the unit checked: the hospital, with a request, was unchecked.
    assert list(proposal.units.all()) == [unit]

    create(
        client,
        name="all",
        **{"units-shown": "1", f"unit-{unit.pk}": "1", f"unit-{hospital.pk}": "1"},
    )
    proposal = Proposal.objects.get(name="all")
    html = client.get(reverse("reports:proposal_detail", args=[proposal.pk])).content.decode()
    assert "Provincial medical institution" in html and "Key unit" in html
    # Lanzhou: capped.
    assert "600/day reported, capped at 1.5 × norm estimate 200/day" in html
    assert 'data-rate-adjustment="capped"' in html
    # Tianshui: the spot checks' median.
    assert (
        "flagged by the spot checks on 2020-02-20 (z 7.7): median 0.8/person/day × 2,300 staff"
        in html
    )
    # The hospital: its requests; it reports no stock.
    assert "open accepted requests ÷ days until needed" in html
    assert "does not report stock: counted as 0" in html
    # The key unit: nothing, and why.
    assert "No rate: no open accepted request, and no protected staff with a norm" in html


def test_the_page_renders_in_chinese_too(client, office, setup):
    client.force_login(office)
    create(client)  # by default: the hospital (open accepted request), not the key unit
    proposal = Proposal.objects.get()
    assert [u.code for u in proposal.units.all()] == ["SRMYY"]
    page = client.get(reverse("reports:proposal_detail", args=[proposal.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "甘肃省人民医院" in html and "2,300" in html and "7.7" in html


def _more_claimants(n95, isolation, count):
    for n in range(count):
        unit = Destination.objects.create(
            kind=DestinationKind.AID_TEAM, code=f"YL{n:02d}", name_zh=f"援鄂医疗队{n}"
        )
        ClaimantStaff.objects.create(destination=unit, category=isolation, count=10 + n)


def test_the_query_counts_stay_flat_from_3_to_10_claimants(
    client, office, setup, n95, django_assert_num_queries
):
    """3 claimants (2 prefectures + the hospital), then 10 (+ 7 aid teams with staff): the
    form, the detail page and the preview run as many queries either way."""
    client.force_login(office)
    create(client, name="3")
    small = Proposal.objects.get(name="3")
    assert small.items.get().lines.count() == 3

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def counts(proposal):
        found = []
        for method, url in (
            ("get", reverse("reports:proposal_detail", args=[proposal.pk])),
            ("get", reverse("reports:proposal_new")),
            ("post", reverse("reports:proposal_preview", args=[proposal.pk])),
        ):
            with CaptureQueriesContext(connection) as captured:
                assert getattr(client, method)(url).status_code == 200
            found.append(len(captured))
        return found

    before = counts(small)
    _more_claimants(n95, setup["isolation"], 7)
    units = Destination.objects.filter(kind__in=["provincial_institution", "aid_team"])
    create(client, name="10", **{"units-shown": "1", **{f"unit-{u.pk}": "1" for u in units}})
    large = Proposal.objects.get(name="10")
    assert large.items.get().lines.count() == 10
    assert counts(large) == before

    # Computing the proposal itself: as many queries for 10 claimants as for 3.
    with CaptureQueriesContext(connection) as three:
        create(client, name="3 again", **{"units-shown": "1", f"unit-{setup['hospital'].pk}": "1"})
    with CaptureQueriesContext(connection) as ten:
        create(
            client, name="10 again", **{"units-shown": "1", **{f"unit-{u.pk}": "1" for u in units}}
        )
    assert len(ten) == len(three)
