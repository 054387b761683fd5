"""Reference data over the API: prefectures and items by code, readable by every role."""

from decimal import Decimal

import pytest

from supplycoord.models import ItemCategory
from tests.factories import ItemFactory, PrefectureFactory

PREFECTURES = "/api/v1/reference/prefectures/"
ITEMS = "/api/v1/reference/items/"


@pytest.fixture
def catalogue(lanzhou, tianshui, n95):
    PrefectureFactory(code="629001", name_zh="兰州新区", is_gb_code=False, active=False)
    PrefectureFactory(code="620200", priority_weight=Decimal("1.50"))
    ItemFactory(code="XD001", category=ItemCategory.DISINFECTION, is_key=True)
    ItemFactory(code="XD002", category=ItemCategory.DISINFECTION, is_key=False)
    ItemFactory(code="OLD01", active=False)


def test_it_lists_prefectures_with_their_codes_and_names(client_for, officer, catalogue):
    """Each prefecture row carries its code, both names, GB flag, active flag and weight."""
    response = client_for(officer).get(PREFECTURES)

    assert response.status_code == 200
    rows = {row["code"]: row for row in response.json()["results"]}
    assert rows["620100"] == {
        "code": "620100",
        "name_zh": "兰州市",
        "name_en": "Lanzhou",
        "is_gb_code": True,
        "active": True,
        "priority_weight": 1.0,
    }
    assert rows["620200"]["priority_weight"] == 1.5
    assert rows["629001"]["is_gb_code"] is False


def test_it_filters_prefectures_by_active(client_for, officer, catalogue):
    """`?active=true` leaves out inactive zones; `?active=false` lists only them."""
    client = client_for(officer)

    active = [r["code"] for r in client.get(PREFECTURES, {"active": "true"}).json()["results"]]
    inactive = [r["code"] for r in client.get(PREFECTURES, {"active": "false"}).json()["results"]]

    assert active == ["620100", "620200", "620500"]
    assert inactive == ["629001"]


def test_it_lists_items_with_unit_pack_size_and_key_flag(client_for, officer, catalogue):
    """Item rows carry code, names, category, unit, specification, pack size and key flag."""
    response = client_for(officer).get(ITEMS)

    assert response.status_code == 200
    rows = {row["code"]: row for row in response.json()["results"]}
    assert set(rows["FH001"]) == {
        "code",
        "name_zh",
        "name_en",
        "category",
        "unit",
        "specification",
        "pack_size",
        "is_key",
    }
    assert rows["FH001"]["pack_size"] == 20
    assert rows["FH001"]["is_key"] is True
    assert "OLD01" not in rows


def test_it_filters_items_by_key_flag_and_category(client_for, officer, catalogue):
    """`?is_key=true&category=disinfection` gives the key disinfection items only."""
    response = client_for(officer).get(ITEMS, {"is_key": "true", "category": "disinfection"})

    assert [row["code"] for row in response.json()["results"]] == ["XD001"]


def test_it_rejects_an_unknown_category(client_for, officer, catalogue):
    """A category that does not exist is a 400, not a silently empty list."""
    response = client_for(officer).get(ITEMS, {"category": "toys"})

    assert response.status_code == 400
    assert "category" in response.json()


@pytest.mark.parametrize("role", ["officer", "outsider", "office", "leader", "reporter"])
def test_it_lets_every_role_read_reference_data(client_for, catalogue, role, request):
    """Reference data is not secret: any signed-in user reads all of it."""
    client = client_for(request.getfixturevalue(role))

    assert client.get(PREFECTURES).json()["count"] == 4
    assert client.get(ITEMS).json()["count"] == 3


def test_it_reads_reference_data_in_a_constant_number_of_queries(
    client_for, officer, catalogue, django_assert_max_num_queries
):
    """Listing items costs the same few queries however many items there are."""
    client = client_for(officer)
    ItemFactory.create_batch(40)

    with django_assert_max_num_queries(4):
        response = client.get(ITEMS)
    assert response.json()["count"] == 43
