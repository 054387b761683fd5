"""Input nobody should type still gets a clear answer, never a 500."""

import pytest
from django.urls import reverse

from allocation.models import DispatchBatch
from allocation.services import AllocationInvalid, batch_create
from tests.allocation.conftest import dispatched_batch

HUGE = 10**30


def test_it_refuses_a_quantity_too_large_to_store(
    frozen_time, stocked, sz01, office, n95, to_lanzhou
):
    with pytest.raises(AllocationInvalid):
        batch_create(
            user=office,
            source_warehouse=sz01,
            destination=to_lanzhou,
            lines=[{"item": n95, "quantity": HUGE, "channel": "reserve"}],
        )
    assert not DispatchBatch.objects.exists()


def test_it_answers_400_for_huge_quantities_and_non_text_fields_in_the_api(
    frozen_time, stocked, office, to_lanzhou, client_for
):
    api = client_for(office)
    line = {"item": "FH001", "quantity": HUGE, "channel": "reserve"}
    body = {"source_warehouse": "SZ01", "destination": to_lanzhou.pk, "lines": [line]}
    assert api.post("/api/v1/batches/", body, format="json").status_code == 400
    line["quantity"] = 5
    body["reason"] = 123
    assert api.post("/api/v1/batches/", body, format="json").status_code == 400
    assert not DispatchBatch.objects.exists()


def test_it_refuses_a_huge_received_quantity(
    frozen_time, stocked, sz01, office, leader, officer, n95, to_lanzhou, client
):
    batch = dispatched_batch(office, leader, sz01, to_lanzhou, [(n95, 100)])
    line = batch.lines.get()
    client.force_login(officer)
    url = reverse("allocation:batch_receive", args=[batch.number])
    response = client.post(
        url, {"expected_version": batch.version, f"line-{line.pk}": str(HUGE), "note": "x"}
    )
    assert response.status_code == 200
    line.refresh_from_db()
    assert line.received_quantity == 0


def test_it_ignores_a_destination_filter_beyond_any_id(client, office, db):
    client.force_login(office)
    response = client.get(reverse("allocation:batch_list"), {"destination": "9" * 25})
    assert response.status_code == 200
