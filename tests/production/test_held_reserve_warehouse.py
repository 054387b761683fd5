"""The office names a producer's held-reserve (代储) warehouse on the producer's page, not only in
the admin (issue 12 §4). Office only, audited, one warehouse per producer."""

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from inventory.models import WarehouseKind
from production.services import producer_set_held_reserve_warehouse
from tests.factories import WarehouseFactory


def url(producer):
    return reverse("production:producer_held_reserve_set", args=[producer.pk])


def detail(producer):
    return reverse("production:producer_detail", args=[producer.pk])


@pytest.fixture
def central_store(lanzhou):
    """A provincial warehouse, not a producer-held one: never a held reserve."""
    return WarehouseFactory(code="SZ01", kind=WarehouseKind.PROVINCIAL_RESERVE, prefecture=lanzhou)


def test_the_office_sets_the_warehouse_and_the_history_says_who_and_why(
    office, producer, held_warehouse
):
    producer_set_held_reserve_warehouse(
        user=office, producer=producer, warehouse=held_warehouse, reason="新签代储协议"
    )
    producer.refresh_from_db()
    assert producer.held_reserve_warehouse == held_warehouse
    record = producer.history.first()
    assert record.history_user == office
    assert record.history_change_reason == "held_reserve_warehouse: 新签代储协议"


def test_the_office_clears_the_warehouse(office, reporting_producer):
    producer_set_held_reserve_warehouse(user=office, producer=reporting_producer, warehouse=None)
    reporting_producer.refresh_from_db()
    assert reporting_producer.held_reserve_warehouse is None


def test_setting_the_same_warehouse_again_writes_no_history(office, reporting_producer):
    before = reporting_producer.history.count()
    producer_set_held_reserve_warehouse(
        user=office,
        producer=reporting_producer,
        warehouse=reporting_producer.held_reserve_warehouse,
    )
    assert reporting_producer.history.count() == before


def test_it_refuses_a_warehouse_that_is_not_producer_held(office, producer, central_store):
    with pytest.raises(ValidationError) as caught:
        producer_set_held_reserve_warehouse(user=office, producer=producer, warehouse=central_store)
    assert "held_reserve_warehouse" in caught.value.message_dict
    producer.refresh_from_db()
    assert producer.held_reserve_warehouse is None


def test_it_refuses_another_producers_warehouse(office, reporting_producer, other_producer):
    with pytest.raises(ValidationError) as caught:
        producer_set_held_reserve_warehouse(
            user=office,
            producer=other_producer,
            warehouse=reporting_producer.held_reserve_warehouse,
        )
    assert "兰州防护用品厂" in caught.value.message_dict["held_reserve_warehouse"][0]


@pytest.mark.parametrize("who", ["reporter", "officer", "leader"])
def test_only_the_office_may_set_it(request, who, producer, held_warehouse):
    with pytest.raises(PermissionDenied):
        producer_set_held_reserve_warehouse(
            user=request.getfixturevalue(who), producer=producer, warehouse=held_warehouse
        )


def test_the_office_sets_it_from_the_producer_page(client, office, producer, held_warehouse):
    client.force_login(office)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = client.get(detail(producer)).content.decode()
    assert 'id="held-reserve-form"' in page
    assert f'<option value="{held_warehouse.pk}">' in page

    response = client.post(url(producer), {"warehouse": held_warehouse.pk, "reason": "agreement"})

    assert response.status_code == 302
    producer.refresh_from_db()
    assert producer.held_reserve_warehouse == held_warehouse
    assert "Held-reserve warehouse saved." in client.get(response.url).content.decode()


def test_the_page_offers_no_warehouse_already_held_by_another_producer(
    client, office, reporting_producer, other_producer
):
    client.force_login(office)
    page = client.get(detail(other_producer)).content.decode()
    taken = reporting_producer.held_reserve_warehouse
    assert f'<option value="{taken.pk}"' not in page


def test_a_bad_choice_is_a_400_on_the_page_and_changes_nothing(
    client, office, producer, central_store
):
    client.force_login(office)
    response = client.post(url(producer), {"warehouse": central_store.pk})
    assert response.status_code == 400
    assert 'id="err-warehouse"' in response.content.decode()
    producer.refresh_from_db()
    assert producer.held_reserve_warehouse is None


def test_a_too_long_reason_is_a_400(client, office, producer, held_warehouse):
    client.force_login(office)
    response = client.post(url(producer), {"warehouse": held_warehouse.pk, "reason": "x" * 71})
    assert response.status_code == 400
    producer.refresh_from_db()
    assert producer.held_reserve_warehouse is None


@pytest.mark.parametrize("who", ["reporter", "officer", "outsider", "leader"])
def test_others_see_no_form_and_may_not_post(client, request, who, producer, held_warehouse):
    client.force_login(request.getfixturevalue(who))
    page = client.get(detail(producer))
    if page.status_code == 200:
        assert 'id="held-reserve-form"' not in page.content.decode()
    assert client.post(url(producer), {"warehouse": held_warehouse.pk}).status_code == 403
    producer.refresh_from_db()
    assert producer.held_reserve_warehouse is None


def test_get_is_not_allowed(client, office, producer):
    client.force_login(office)
    assert client.get(url(producer)).status_code == 405
