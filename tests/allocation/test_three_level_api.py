"""The batch API at three levels (issue 15 §3): a prefecture's officer creates from its own
warehouse, its lead approves, its county officer receives; each batch says its level and
issuer; a warehouse one does not issue from is a 403, a destination a prefecture's batch may
not go to a 400 naming `destination`; outsiders meet Lanzhou's batch as a 404."""

import pytest

from allocation.models import BatchStatus, DispatchBatch
from inventory.models import StockBalance
from tests.allocation.three_level import *  # noqa: F403
from tests.allocation.three_level import lanzhou_batch

pytestmark = pytest.mark.usefixtures("clock_2026")

BATCHES = "/api/v1/batches/"


def create(client, warehouse, destination, quantity=300):
    return client.post(
        BATCHES,
        {
            "source_warehouse": warehouse.code,
            "destination": destination.pk,
            "lines": [{"item": "FH001", "quantity": quantity, "channel": "reserve"}],
        },
        format="json",
    )


def act(client, number, action, version, **body):
    return client.post(
        f"{BATCHES}{number}/{action}/", {"expected_version": version, **body}, format="json"
    )


def test_lanzhous_batch_goes_from_its_officer_to_its_lead_to_yuzhong_through_the_api(
    client_for, officer, lead, county_officer, lz01, to_yuzhong, n95
):
    response = create(client_for(officer), lz01, to_yuzhong, 300)
    assert response.status_code == 201, response.json()
    created = response.json()
    assert created["number"] == "620100-2026-001"
    assert (created["level"], created["issuing_prefecture"]) == ("prefecture", "620100")

    approved = act(client_for(lead), created["number"], "approve", created["version"])
    assert approved.status_code == 200, approved.json()

    dispatched = act(client_for(officer), created["number"], "dispatch", approved.json()["version"])
    assert dispatched.status_code == 200, dispatched.json()
    assert StockBalance.objects.get(warehouse=lz01, item=n95).quantity == 1000 - 300
    line = dispatched.json()["lines"][0]

    received = act(
        client_for(county_officer),
        created["number"],
        "receive",
        dispatched.json()["version"],
        received=[{"line": line["id"], "quantity": 280}],
        note="一箱破损",
        complete=True,
    )
    assert received.status_code == 200, received.json()
    body = received.json()
    assert body["status"] == "received"
    assert (body["lines"][0]["received_quantity"], body["lines"][0]["discrepancy"]) == (280, -20)


def test_a_province_batch_says_province_and_no_issuer(
    client_for, office, sz01_2026, lanzhou_itself
):
    response = create(client_for(office), sz01_2026, lanzhou_itself, 10)

    assert response.status_code == 201
    assert (response.json()["level"], response.json()["issuing_prefecture"]) == ("province", None)
    assert response.json()["number"] == "2026-001"


def test_the_office_creating_from_lz01_is_a_403(client_for, office, lz01, to_yuzhong):
    response = create(client_for(office), lz01, to_yuzhong)

    assert response.status_code == 403
    assert not DispatchBatch.objects.exists()


def test_lanzhous_officer_creating_from_sz01_is_a_403(client_for, officer, sz01_2026, to_yuzhong):
    response = create(client_for(officer), sz01_2026, to_yuzhong)

    assert response.status_code == 403
    assert not DispatchBatch.objects.exists()


@pytest.mark.parametrize("where", ["lanzhou_itself", "to_qinzhou"])
def test_lanzhous_officer_sending_to_lanzhou_or_a_tianshui_county_is_a_400_naming_the_destination(
    client_for, request, officer, lz01, where
):
    response = create(client_for(officer), lz01, request.getfixturevalue(where))

    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert (error["line"], error["field"]) == (None, "destination")
    assert not DispatchBatch.objects.exists()


def test_only_lanzhous_lead_approves_through_the_api(
    client_for, draft_300, leader, office, outsider_lead, lead
):
    for refused in (leader, office):
        assert act(client_for(refused), draft_300.number, "approve", 1).status_code == 403
    # Tianshui's lead does not even see Lanzhou's batch.
    assert act(client_for(outsider_lead), draft_300.number, "approve", 1).status_code == 404
    assert act(client_for(lead), draft_300.number, "approve", 1).status_code == 200


def test_the_office_may_not_cancel_lanzhous_draft(client_for, office, draft_300):
    response = act(client_for(office), draft_300.number, "cancel", 1, note="不需要")

    assert response.status_code == 403
    draft_300.refresh_from_db()
    assert draft_300.status == BatchStatus.DRAFT


@pytest.mark.parametrize("who", ["outsider", "outsider_lead", "gaolan_officer"])
def test_outsiders_neither_see_nor_act_on_lanzhous_batch_to_yuzhong(
    client_for, request, who, draft_300
):
    client = client_for(request.getfixturevalue(who))

    assert client.get(BATCHES).json()["results"] == []
    assert client.get(f"{BATCHES}{draft_300.number}/").status_code == 404
    for action in ("approve", "cancel", "dispatch"):
        assert act(client, draft_300.number, action, 1, note="x").status_code == 404
    draft_300.refresh_from_db()
    assert draft_300.status == BatchStatus.DRAFT


def test_the_level_filter_of_the_api(
    client_for, office, officer, lz01, sz01_2026, to_yuzhong, lanzhou_itself, n95
):
    lanzhou_batch(officer, lz01, to_yuzhong, 10, n95)
    create(client_for(office), sz01_2026, lanzhou_itself, 10)
    client = client_for(office)

    def numbers(**query):
        response = client.get(BATCHES, query)
        assert response.status_code == 200, response.json()
        return [batch["number"] for batch in response.json()["results"]]

    assert numbers() == ["620100-2026-001", "2026-001"]
    assert numbers(level="province") == ["2026-001"]
    assert numbers(level="620100") == ["620100-2026-001"]
    # A level that is neither the province nor a prefecture's code is refused by name.
    response = client.get(BATCHES, {"level": "county"})
    assert response.status_code == 400
    assert "level" in str(response.json())


def test_the_county_officer_lists_its_countys_batches_only(
    client_for, county_officer, officer, lz01, to_yuzhong, to_gaolan, n95
):
    mine = lanzhou_batch(officer, lz01, to_yuzhong, 10, n95)
    lanzhou_batch(officer, lz01, to_gaolan, 10, n95)

    results = client_for(county_officer).get(BATCHES).json()["results"]

    assert [batch["number"] for batch in results] == [mine.number]
    # It drafts nothing.
    assert create(client_for(county_officer), lz01, to_yuzhong).status_code == 403
