"""The claimant register (issue 15): the office keeps the units and counties that request
supplies (code, names, contact, active, requesters, protected staff by category); leadership
reads; every change is in the history with who made it."""

import pytest
from django.core.exceptions import PermissionDenied

from allocation.claimant_services import ClaimantInvalid, claimant_create, claimant_update
from allocation.models import ClaimantStaff, Destination, DestinationKind
from supplycoord.models import Role, StaffCategory
from tests.factories import UserFactory

LIST = "/allocation/claimants/"
NEW = "/allocation/claimants/new/"


@pytest.fixture
def requester(db):
    return UserFactory(username="hospital", role=Role.UNIT_REQUESTER)


@pytest.fixture
def categories(db):
    return (
        StaffCategory.objects.create(code="isolation", name_zh="隔离病区", sort_order=1),
        StaffCategory.objects.create(code="fever", name_zh="发热门诊", sort_order=2),
    )


def create(office, requester, categories, **extra):
    return claimant_create(
        user=office,
        **{
            "kind": DestinationKind.PROVINCIAL_INSTITUTION,
            "code": "SRMYY",
            "name_zh": "甘肃省人民医院",
            "name_en": "Gansu Provincial Hospital",
            "contact": "王主任",
            "phone": "0931-8281114",
            "requesters": [requester],
            "staff": {categories[0]: 120, categories[1]: 0},
            **extra,
        },
    )


def test_the_office_creates_a_unit_with_requesters_and_staff(office, requester, categories):
    hospital = create(office, requester, categories)

    assert list(hospital.requesters.all()) == [requester]
    assert [(s.category.code, s.count) for s in hospital.staff.all()] == [("isolation", 120)]
    assert hospital.history.latest().history_user == office
    assert ClaimantStaff.history.latest().history_user == office


def test_an_update_changes_staff_and_requesters_in_the_history(office, requester, categories):
    hospital = create(office, requester, categories)
    claimant_update(
        user=office,
        claimant=hospital,
        code="SRMYY",
        name_zh="甘肃省人民医院",
        active=False,
        requesters=[],
        staff={categories[0]: 0, categories[1]: 30},
    )
    hospital.refresh_from_db()
    assert hospital.active is False
    assert list(hospital.requesters.all()) == []
    assert [(s.category.code, s.count) for s in hospital.staff.all()] == [("fever", 30)]
    # isolation 120 added, then deleted; fever 30 added: three history rows.
    assert ClaimantStaff.history.count() == 3
    assert hospital.history.count() >= 2


def test_bad_entries_are_refused_by_field(office, requester, categories, officer):
    create(office, requester, categories)
    with pytest.raises(ClaimantInvalid) as refused:
        claimant_create(
            user=office,
            kind=DestinationKind.PREFECTURE,
            code="SRMYY",
            name_zh="",
            name_en="x\x00",
            requesters=[officer],
            staff={categories[0]: -1},
        )
    assert {e.field for e in refused.value.errors} == {
        "kind",
        "code",
        "name_zh",
        "name_en",
        "requesters",
        "staff_isolation",
    }
    assert Destination.objects.count() == 1


def test_only_the_office_changes_it(leader, officer, requester, categories):
    for user in (leader, officer, requester):
        with pytest.raises(PermissionDenied):
            create(user, requester, categories)


def test_the_pages_office_writes_leadership_reads_others_get_403(
    client, office, leader, officer, requester, categories, lanzhou
):
    county = Destination.objects.create(
        kind=DestinationKind.COUNTY, name_zh="榆中县", prefecture=lanzhou, code="620123"
    )
    Destination.objects.create(
        kind=DestinationKind.PREFECTURE, name_zh="兰州市", prefecture=lanzhou
    )
    client.force_login(office)
    response = client.post(
        NEW,
        {
            "kind": "aid_team",
            "code": "YLD1",
            "name_zh": "省第一批援鄂医疗队",
            "active": "on",
            "requesters": [requester.pk],
            "staff_isolation": "40",
            "staff_fever": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[-1500:]
    team = Destination.objects.get(code="YLD1")
    assert list(team.requesters.all()) == [requester]
    assert team.staff.get().count == 40
    # A duplicate code is named at its field, nothing saved.
    again = client.post(NEW, {"kind": "aid_team", "code": "YLD1", "name_zh": "x"})
    assert again.status_code == 400
    assert again.context["form"].errors["code"]
    # The county is edited here; the prefecture is not in the register.
    edit = client.post(
        f"/allocation/claimants/{county.pk}/",
        {"code": "620123", "name_zh": "榆中县", "contact": "李", "active": "on"},
    )
    assert edit.status_code == 302
    county.refresh_from_db()
    assert county.contact == "李"
    listing = client.get(LIST)
    names = [c.name_zh for c in listing.context["page"]]
    assert names == ["省第一批援鄂医疗队", "榆中县"]  # by kind: aid_team, county

    client.force_login(leader)
    assert client.get(LIST).status_code == 200
    assert client.get(NEW).status_code == 403
    for user in (officer, requester):
        client.force_login(user)
        assert client.get(LIST).status_code == 403
