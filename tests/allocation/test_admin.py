"""The admin edits destinations; batches, donations, receipts and transitions are read-only."""

import pytest

from allocation.models import BatchReceipt, BatchTransition
from allocation.services import batch_receive
from tests.allocation.conftest import dispatched_batch

pytestmark = pytest.mark.usefixtures("frozen_time")


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.fixture
def received(office, leader, officer, stocked, to_lanzhou, n95):
    batch = dispatched_batch(office, leader, stocked, to_lanzhou, [(n95, 10)])
    return batch_receive(
        user=officer, batch=batch, expected_version=3, received={batch.lines.get().pk: 10}
    )


def test_it_lets_an_admin_list_and_edit_destinations(admin_client, to_lanzhou):
    assert admin_client.get("/admin/allocation/destination/").status_code == 200
    assert (
        admin_client.get(f"/admin/allocation/destination/{to_lanzhou.pk}/change/").status_code
        == 200
    )


def test_it_shows_batches_and_their_trail_read_only(admin_client, received):
    page = admin_client.get(f"/admin/allocation/dispatchbatch/{received.pk}/change/")

    assert page.status_code == 200
    assert received.number in page.content.decode()
    assert 'name="_save"' not in page.content.decode()
    assert admin_client.get("/admin/allocation/dispatchbatch/add/").status_code == 403


@pytest.mark.parametrize(
    ("model", "name"), [(BatchReceipt, "batchreceipt"), (BatchTransition, "batchtransition")]
)
def test_it_never_lets_the_admin_change_append_only_rows(admin_client, received, model, name):
    row = model.objects.first()

    assert admin_client.get(f"/admin/allocation/{name}/").status_code == 200
    assert admin_client.get(f"/admin/allocation/{name}/add/").status_code == 403
    assert admin_client.get(f"/admin/allocation/{name}/{row.pk}/delete/").status_code == 403
    assert admin_client.post(f"/admin/allocation/{name}/{row.pk}/change/", {}).status_code == 403


def test_it_shows_a_request_and_its_events_read_only(admin_client, office, to_hospital, n95):
    import datetime as dt

    from allocation.requests import request_submit
    from tests.allocation.conftest import NOW

    request, _created = request_submit(
        user=office,
        claimant=to_hospital,
        urgency="urgent",
        needed_by=NOW.date() + dt.timedelta(days=2),
        justification="fever clinic",
        lines=[{"item": n95, "quantity": 40}],
    )
    page = admin_client.get(f"/admin/allocation/supplyrequest/{request.pk}/change/")
    assert page.status_code == 200
    assert request.number in page.content.decode()
    assert 'name="_save"' not in page.content.decode()
    assert admin_client.get("/admin/allocation/supplyrequest/add/").status_code == 403
