"""保障人员数: the office edits counts with history; officers only read their own."""

import pytest
from django.conf import settings
from django.urls import reverse

from inventory.services import ProtectedStaffInvalid, protected_staff_set
from supplycoord.models import ProtectedStaff
from tests.factories import ProtectedStaffFactory, StaffCategoryFactory

URL = reverse("inventory:protected_staff")


@pytest.fixture
def fever(db):
    return StaffCategoryFactory(code="fever_clinic", name_zh="发热门诊", name_en="Fever clinic")


def test_it_sets_counts_and_keeps_history(office, lanzhou, fever):
    assert protected_staff_set(user=office, counts={("620100", "fever_clinic"): "120"}) == 1
    assert protected_staff_set(user=office, counts={("620100", "fever_clinic"): 150}) == 1
    row = ProtectedStaff.objects.get()
    assert row.count == 150
    assert [h.count for h in row.history.all()] == [150, 120]
    assert row.history.first().history_user == office


def test_it_saves_nothing_when_one_count_is_bad(office, lanzhou, tianshui, fever):
    with pytest.raises(ProtectedStaffInvalid) as caught:
        protected_staff_set(
            user=office, counts={("620100", "fever_clinic"): 10, ("620500", "fever_clinic"): "-1"}
        )
    assert ("620500", "fever_clinic") in caught.value.errors
    assert not ProtectedStaff.objects.exists()


def test_it_refuses_officers(officer, lanzhou, fever):
    with pytest.raises(PermissionError):
        protected_staff_set(user=officer, counts={("620100", "fever_clinic"): 10})


def test_it_lets_the_office_edit_from_the_page(client, office, lanzhou, fever):
    client.force_login(office)
    response = client.post(URL, {"staff:620100:fever_clinic": "77"})
    assert response.status_code == 302
    assert ProtectedStaff.objects.get().count == 77


def test_it_shows_an_officer_only_their_prefecture_read_only(
    client, officer, lanzhou, tianshui, fever
):
    ProtectedStaffFactory(prefecture=tianshui, category=fever, count=999)
    ProtectedStaffFactory(prefecture=lanzhou, category=fever, count=321)
    client.force_login(officer)
    response = client.get(URL)
    content = response.content.decode()
    assert response.status_code == 200
    assert "321" in content and "999" not in content
    assert "staff:620100:fever_clinic" not in content
    assert client.post(URL, {"staff:620100:fever_clinic": "1"}).status_code == 403


def test_it_ignores_malformed_field_names(client, office, lanzhou, fever):
    client.force_login(office)
    response = client.post(
        URL, {"staff-abc": "1", "staff:620100": "2", "staff:620100:fever_clinic": "5"}
    )
    assert response.status_code == 302
    assert ProtectedStaff.objects.get().count == 5


def test_it_forbids_producer_reporters(client, reporter):
    client.force_login(reporter)
    assert client.get(URL).status_code == 403


def test_an_empty_cell_is_no_change_not_an_error(office, lanzhou, tianshui, fever):
    """Lanzhou had 120 saved; the table comes back with Lanzhou's cell emptied and Tianshui's
    set to 40: Lanzhou keeps 120, Tianshui gets 40, and one row changed."""
    ProtectedStaffFactory(prefecture=lanzhou, category=fever, count=120)
    changed = protected_staff_set(
        user=office,
        counts={("620100", "fever_clinic"): "  ", ("620500", "fever_clinic"): "40"},
    )
    assert changed == 1
    counts = dict(ProtectedStaff.objects.values_list("prefecture__code", "count"))
    assert counts == {"620100": 120, "620500": 40}


def test_an_empty_cell_without_a_saved_count_creates_no_row(office, lanzhou, fever):
    assert protected_staff_set(user=office, counts={("620100", "fever_clinic"): ""}) == 0
    assert protected_staff_set(user=office, counts={("620100", "fever_clinic"): None}) == 0
    assert not ProtectedStaff.objects.exists()


def test_the_page_saves_the_filled_cells_and_leaves_the_empty_ones(
    client, office, lanzhou, tianshui, fever
):
    ProtectedStaffFactory(prefecture=lanzhou, category=fever, count=120)
    client.force_login(office)
    response = client.post(
        URL, {"staff:620100:fever_clinic": "", "staff:620500:fever_clinic": "35"}
    )
    assert response.status_code == 302
    counts = dict(ProtectedStaff.objects.values_list("prefecture__code", "count"))
    assert counts == {"620100": 120, "620500": 35}


def test_the_page_says_what_an_empty_cell_means(client, office, lanzhou, fever):
    client.force_login(office)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    content = client.get(URL).content.decode()
    assert 'id="empty-cell-rule"' in content
    assert "An empty cell means no change" in content


def test_a_bad_cell_is_a_400_and_saves_nothing(client, office, lanzhou, tianshui, fever):
    client.force_login(office)
    response = client.post(
        URL, {"staff:620100:fever_clinic": "abc", "staff:620500:fever_clinic": "35"}
    )
    assert response.status_code == 400
    assert 'role="alert"' in response.content.decode()
    assert not ProtectedStaff.objects.exists()
