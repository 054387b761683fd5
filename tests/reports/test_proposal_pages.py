"""Proposal pages: the office builds, previews, edits and accepts; leadership reads; officers
are refused."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from allocation.models import Destination, DestinationKind, DispatchBatch, Proposal
from inventory.services import stock_receive
from reports.services import snapshot_build_for_date
from tests.factories import DailyFigureFactory, PrefectureFactory, WarehouseFactory

TZ = ZoneInfo("Asia/Shanghai")
D = dt.date(2020, 2, 20)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(dt.datetime(2020, 2, 20, 10, 0, tzinfo=TZ), tick=False):
        yield


@pytest.fixture
def setup(office, lanzhou, tianshui, n95):
    """SZ01 holds 5,000 N95; Lanzhou 1,000 at 500 a day, Tianshui 3,000 at 500 a day."""
    sz01 = WarehouseFactory(code="SZ01")
    stock_receive(user=office, warehouse=sz01, lines=[(n95, 5000)], source="purchase")
    for prefecture, stock in ((lanzhou, 1000), (tianshui, 3000)):
        DailyFigureFactory(prefecture=prefecture, item=n95, date=D, stock=stock, consumption=500)
        Destination.objects.create(
            kind=DestinationKind.PREFECTURE, name_zh=prefecture.name_zh, prefecture=prefecture
        )
    snapshot_build_for_date(date=D)
    return sz01


def create(client, **extra):
    data = {
        "name": "N95 第一轮",
        "date": D.isoformat(),
        "warehouse-SZ01": "1",
        "item-FH001": "1",
        "weight-620100": "1",
        "weight-620500": "1",
        **extra,
    }
    return client.post(reverse("reports:proposal_new"), data)


@pytest.mark.parametrize(
    ("role", "status"), [("office", 200), ("leader", 200), ("officer", 403), ("reporter", 403)]
)
def test_who_may_open_the_proposal_list(client, request, role, status, setup):
    client.force_login(request.getfixturevalue(role))
    assert client.get(reverse("reports:proposal_list")).status_code == status


@pytest.mark.parametrize("role", ["leader", "officer", "outsider"])
def test_only_the_office_may_build_a_proposal(client, request, role, setup):
    client.force_login(request.getfixturevalue(role))
    assert client.get(reverse("reports:proposal_new")).status_code == 403
    assert create(client).status_code == 403
    assert not Proposal.objects.exists()


def test_the_office_builds_a_proposal_and_sees_why_and_how_much(client, office, setup):
    client.force_login(office)
    response = create(client)
    proposal = Proposal.objects.get()
    assert response.status_code == 302
    page = client.get(reverse("reports:proposal_detail", args=[proposal.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert 'value="3500"' in html and 'value="1500"' in html
    assert "9.00" in html  # the level, and both prefectures' days after
    assert 'data-level="620100">9.00<' in html and 'data-level="620500">9.00<' in html
    assert 'id="chart-FH001"' in html


def test_a_weight_without_a_reason_is_refused_on_the_page(client, office, setup):
    client.force_login(office)
    response = create(client, **{"weight-620100": "2"})
    assert response.status_code == 400
    assert 'id="proposal-errors"' in response.content.decode()
    assert not Proposal.objects.exists()


def test_the_preview_recomputes_totals_as_people_type(client, office, setup):
    client.force_login(office)
    create(client)
    proposal = Proposal.objects.get()
    lines = {
        line.prefecture.code: line
        for line in proposal.items.get().lines.select_related("prefecture")
    }
    response = client.post(
        reverse("reports:proposal_preview", args=[proposal.pk]),
        {f"q-{lines['620100'].pk}": "3000", f"q-{lines['620500'].pk}": "1500"},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "4,500" in html  # handed out
    assert "8.00" in html  # Lanzhou after: (1,000 + 3,000) / 500
    lines["620100"].refresh_from_db()
    assert lines["620100"].quantity == 3500  # a preview saves nothing


def test_saving_and_accepting_creates_draft_batches(client, office, leader, setup):
    client.force_login(office)
    create(client)
    proposal = Proposal.objects.get()
    line = proposal.items.get().lines.get(prefecture__code="620100")
    url = reverse("reports:proposal_detail", args=[proposal.pk])

    client.post(url, {"action": "save", "version": "1", f"q-{line.pk}": "3000", "name": "改"})
    line.refresh_from_db()
    assert line.quantity == 3000

    response = client.post(url, {"action": "accept", "version": "2"})
    assert response.status_code == 302
    assert DispatchBatch.objects.filter(proposal=proposal, status="draft").count() == 2

    client.force_login(leader)
    html = client.get(url).content.decode()
    assert 'id="proposal-batches"' in html
    assert 'id="proposal-accept"' not in html


def test_a_stale_version_is_refused_with_a_message(client, office, setup):
    client.force_login(office)
    create(client)
    proposal = Proposal.objects.get()
    url = reverse("reports:proposal_detail", args=[proposal.pk])
    response = client.post(url, {"action": "accept", "version": "7"}, follow=True)
    assert not DispatchBatch.objects.exists()
    assert response.status_code == 200


def test_the_detail_page_query_count_does_not_grow_with_prefectures(
    client, office, setup, n95, django_assert_max_num_queries
):
    client.force_login(office)
    create(client)
    small = Proposal.objects.get()
    for n in range(30):
        prefecture = PrefectureFactory(code=f"6290{n:02d}")
        DailyFigureFactory(prefecture=prefecture, item=n95, date=D, stock=10, consumption=5)
    snapshot_build_for_date(date=D)
    create(client, name="大")
    large = Proposal.objects.exclude(pk=small.pk).get()
    assert large.items.get().lines.count() == 32
    for proposal in (small, large):
        with django_assert_max_num_queries(16):
            assert (
                client.get(reverse("reports:proposal_detail", args=[proposal.pk])).status_code
                == 200
            )
