"""Hostile input to the proposal pages: never a 500, never a write outside the proposal."""

import datetime as dt
import re
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from allocation.models import (
    Destination,
    DestinationKind,
    DispatchBatch,
    Proposal,
    ProposalLine,
    ProposalStatus,
    ReserveFloor,
)
from allocation.services import batch_create
from inventory.services import stock_receive
from reports.services import snapshot_build_for_date
from tests.factories import DailyFigureFactory, ItemFactory, WarehouseFactory

TZ = ZoneInfo("Asia/Shanghai")
D = dt.date(2020, 2, 20)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(dt.datetime(2020, 2, 20, 10, 0, tzinfo=TZ), tick=False):
        yield


@pytest.fixture
def sz01(office, lanzhou, tianshui, n95):
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
        **extra,
    }
    return client.post(reverse("reports:proposal_new"), data)


def made(client):
    assert create(client).status_code == 302
    proposal = Proposal.objects.latest("pk")
    return proposal, {
        line.prefecture.code: line
        for line in ProposalLine.objects.filter(proposal_item__proposal=proposal).select_related(
            "prefecture"
        )
    }


@pytest.mark.parametrize(
    "fields",
    [
        {"quantity-FH001": "²"},
        {"quantity-FH001": "٣٠٠"},
        {"quantity-FH001": "-5"},
        {"quantity-FH001": "1e3"},
        {"quantity-FH001": "9" * 40},
        {"weight-620100": "NaN", "reason-620100": "x"},
        {"weight-620100": "sNaN", "reason-620100": "x"},
        {"weight-620100": "Infinity", "reason-620100": "x"},
        {"weight-620100": "1e999999999", "reason-620100": "x"},
        {"weight-620100": "0", "reason-620100": "x"},
        {"date": "2020-02-30"},
        {"date": "9999-12-31"},
        {"date": "2019-01-01"},
        {"date": "2020-02-21"},
        {"date": ""},
        {"item-FH001": ""},
        {"warehouse-SZ01": ""},
        {"name": "   "},
    ],
)
def test_bad_proposal_input_is_refused_with_a_message_not_a_500(client, office, sz01, fields):
    client.force_login(office)
    response = create(client, **fields)
    assert response.status_code == 400
    assert 'id="proposal-errors"' in response.content.decode()
    assert not Proposal.objects.exists()


def test_full_width_quantities_typed_with_a_chinese_ime_are_read(client, office, sz01):
    client.force_login(office)
    assert create(client, **{"quantity-FH001": "４，０００"}).status_code == 302
    assert Proposal.objects.get().items.get().quantity == 4000


def test_a_weight_is_kept_exactly_as_it_was_used(client, office, sz01):
    """The line keeps two decimals of the weight; a weight with more is refused rather than
    computed with one figure and stored with another."""
    client.force_login(office)
    response = create(client, **{"weight-620100": "1.005", "reason-620100": "重灾区"})
    assert response.status_code == 400
    assert not Proposal.objects.exists()


def test_a_date_without_a_built_snapshot_is_refused(client, office, sz01):
    client.force_login(office)
    response = create(client, date="2020-02-19")
    assert response.status_code == 400
    assert not Proposal.objects.exists()


@pytest.mark.parametrize(
    "key", ["q-²", "q-٣", "q-" + "9" * 40, "q--1", "q-", "q-1.0", "q-abc", "q-0x1"]
)
@pytest.mark.parametrize("action", ["save", "accept"])
def test_odd_line_keys_are_refused_not_a_500(client, office, sz01, key, action):
    client.force_login(office)
    proposal, _lines = made(client)
    url = reverse("reports:proposal_detail", args=[proposal.pk])
    response = client.post(url, {"action": action, "version": "1", key: "10"})
    assert response.status_code in (302, 400)
    preview = client.post(reverse("reports:proposal_preview", args=[proposal.pk]), {key: "10"})
    assert preview.status_code == 200
    assert not DispatchBatch.objects.exists() or action == "accept"


def test_it_refuses_a_line_key_of_more_digits_than_int_reads(client, office, sz01):
    client.force_login(office)
    proposal, _lines = made(client)
    url = reverse("reports:proposal_detail", args=[proposal.pk])
    # URL-encoded, as a browser posts this form: a multipart part header is capped by Django.
    body = urlencode({"action": "save", "version": "1", "q-" + "9" * 5000: "10"})
    form = "application/x-www-form-urlencoded"
    assert client.post(url, body, content_type=form).status_code in (302, 400)
    preview = reverse("reports:proposal_preview", args=[proposal.pk])
    assert client.post(preview, body, content_type=form).status_code == 200


def test_lines_of_another_proposal_cannot_be_edited_through_this_one(client, office, sz01):
    client.force_login(office)
    first, first_lines = made(client)
    second, _ = made(client)
    victim = first_lines["620100"]
    url = reverse("reports:proposal_detail", args=[second.pk])
    for action in ("save", "accept"):
        response = client.post(url, {"action": action, "version": "1", f"q-{victim.pk}": "0"})
        assert response.status_code == 400
    victim.refresh_from_db()
    assert victim.quantity == 3500
    assert not DispatchBatch.objects.exists()
    second.refresh_from_db()
    assert second.status == ProposalStatus.DRAFT and second.version == 1


@pytest.mark.parametrize("value", ["-1", "1.5", "abc", "9" * 40, "10000000000000000", "²"])
def test_bad_quantities_are_refused_on_save_and_accept(client, office, sz01, value):
    client.force_login(office)
    proposal, lines = made(client)
    url = reverse("reports:proposal_detail", args=[proposal.pk])
    for action in ("save", "accept"):
        response = client.post(
            url, {"action": action, "version": "1", f"q-{lines['620100'].pk}": value}
        )
        assert response.status_code == 400
    lines["620100"].refresh_from_db()
    assert lines["620100"].quantity == 3500
    assert not DispatchBatch.objects.exists()


@pytest.mark.parametrize("version", ["", "x", "9" * 40, "-1", "1.0"])
def test_a_missing_or_odd_version_is_a_conflict_not_a_500(client, office, sz01, version):
    client.force_login(office)
    proposal, _lines = made(client)
    url = reverse("reports:proposal_detail", args=[proposal.pk])
    for action in ("save", "accept", "discard", "bogus"):
        response = client.post(url, {"action": action, "version": version})
        assert response.status_code == 302
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.DRAFT and proposal.version == 1


def test_accepting_twice_creates_the_batches_once(client, office, sz01):
    client.force_login(office)
    proposal, _lines = made(client)
    url = reverse("reports:proposal_detail", args=[proposal.pk])
    client.post(url, {"action": "accept", "version": "1"})
    for version in ("1", "2"):
        client.post(url, {"action": "accept", "version": version})
    assert DispatchBatch.objects.filter(proposal=proposal).count() == 2


def test_an_accept_that_fails_saves_none_of_its_edits(client, office, sz01, lanzhou):
    """Accept with edited quantities is one decision: if the batches cannot be made (here the
    stock was drafted away since), the edits are not half-saved either."""
    client.force_login(office)
    proposal, lines = made(client)
    Destination.objects.filter(prefecture=lanzhou).update(active=False)
    url = reverse("reports:proposal_detail", args=[proposal.pk])
    response = client.post(
        url, {"action": "accept", "version": "1", f"q-{lines['620500'].pk}": "1000"}
    )
    assert response.status_code == 400
    lines["620500"].refresh_from_db()
    proposal.refresh_from_db()
    assert lines["620500"].quantity == 1500
    assert proposal.version == 1 and proposal.status == ProposalStatus.DRAFT
    assert not DispatchBatch.objects.exists()


def test_accepting_after_the_stock_was_drafted_away_is_refused_whole(
    client, office, sz01, n95, lanzhou
):
    client.force_login(office)
    proposal, _lines = made(client)
    other = Destination.objects.get(prefecture=lanzhou)
    batch_create(
        user=office,
        source_warehouse=sz01,
        destination=other,
        lines=[{"item": n95, "quantity": 2000, "channel": "reserve"}],
        priority="other",
        reason="urgent",
    )
    url = reverse("reports:proposal_detail", args=[proposal.pk])
    response = client.post(url, {"action": "accept", "version": "1"})
    assert response.status_code == 400
    assert not DispatchBatch.objects.filter(proposal=proposal).exists()


def test_accepting_never_breaks_the_reserve_floor_set_since(client, office, sz01, n95):
    client.force_login(office)
    proposal, _lines = made(client)
    ReserveFloor.objects.create(item=n95, quantity=1000, set_by=office, set_at=proposal.created_at)
    url = reverse("reports:proposal_detail", args=[proposal.pk])
    response = client.post(url, {"action": "accept", "version": "1"})
    assert response.status_code == 400
    assert not DispatchBatch.objects.filter(proposal=proposal).exists()


@pytest.mark.parametrize("value", ["9" * 40, "99999999999999999999", "-1", "x", "²", "1.5"])
def test_bad_reserve_floors_are_refused_with_a_message(client, office, sz01, value):
    client.force_login(office)
    response = client.post(reverse("reports:reserve_floors"), {"floor-FH001": value}, follow=True)
    assert response.status_code == 200
    assert not ReserveFloor.objects.exists()


def test_a_full_width_reserve_floor_is_read(client, office, sz01):
    client.force_login(office)
    client.post(reverse("reports:reserve_floors"), {"floor-FH001": "１，０００"})
    assert ReserveFloor.objects.get().quantity == 1000


@pytest.mark.parametrize("role", ["leader", "officer", "outsider", "reporter"])
def test_only_the_office_changes_proposals_and_floors(client, request, role, office, sz01):
    client.force_login(office)
    proposal, lines = made(client)
    client.force_login(request.getfixturevalue(role))
    url = reverse("reports:proposal_detail", args=[proposal.pk])
    for action in ("save", "accept", "discard"):
        response = client.post(
            url, {"action": action, "version": "1", f"q-{lines['620100'].pk}": "0"}
        )
        assert response.status_code == 403
    preview = client.post(reverse("reports:proposal_preview", args=[proposal.pk]), {})
    assert preview.status_code == 403
    floors = client.post(reverse("reports:reserve_floors"), {"floor-FH001": "10"})
    assert floors.status_code == 403
    assert create(client).status_code == 403
    proposal.refresh_from_db()
    assert proposal.version == 1 and proposal.status == ProposalStatus.DRAFT
    assert not ReserveFloor.objects.exists()
    assert Proposal.objects.count() == 1


def test_the_list_page_query_count_does_not_grow_with_proposals(client, office, sz01):
    client.force_login(office)
    made(client)
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("reports:proposal_list"))
    for _ in range(5):
        made(client)
    with CaptureQueriesContext(connection) as many:
        assert client.get(reverse("reports:proposal_list")).status_code == 200
    assert len(many.captured_queries) == len(few.captured_queries)


def test_the_new_proposal_page_query_count_does_not_grow_with_items(client, office, sz01):
    client.force_login(office)
    with CaptureQueriesContext(connection) as few:
        assert client.get(reverse("reports:proposal_new")).status_code == 200
    for n in range(8):
        ItemFactory(code=f"XD{n:03d}", pack_size=1)
    with CaptureQueriesContext(connection) as many:
        assert client.get(reverse("reports:proposal_new")).status_code == 200
    assert len(many.captured_queries) == len(few.captured_queries)


def test_a_refused_proposal_keeps_what_was_typed(client, office, sz01):
    client.force_login(office)
    response = create(
        client,
        **{
            "quantity-FH001": "4,000",
            "weight-620100": "2",
            "reason-620100": "重灾区 <b>",
            "weight-620500": "NaN",
        },
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert re.search(r'name="quantity-FH001"\s+value="4,000"', html)
    assert 'value="2"' in html and 'value="重灾区 &lt;b&gt;"' in html
    assert 'value="NaN"' in html
