"""The dispatch batch pages: list, detail and its actions, the draft form, receipt, dispatch note.

Who may do what: the office drafts, dispatches, cancels and closes; leadership approves but
drafts nothing; the destination's officer confirms receipt of their batches only; an outsider
officer meets another prefecture's batch as a 404.
"""

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from allocation.models import BatchReceipt, BatchStatus, BatchTransition, DispatchBatch
from allocation.services import batch_approve
from inventory.models import StockBalance, StockEvent
from tests.allocation.conftest import dispatched_batch, make_batch
from tests.conftest import PASSWORD

pytestmark = pytest.mark.usefixtures("frozen_time")


@pytest.fixture
def in_english(client):
    """Assertions on wording read the English UI; the Chinese one is the translators' job."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


def url(name, *args):
    return reverse(f"allocation:{name}", args=args)


def test_it_lists_batches_for_the_office(in_english, office, stocked, to_lanzhou, n95):
    batch = make_batch(office, stocked, to_lanzhou, [(n95, 1200)])

    response = login(in_english, office).get(url("batch_list"))

    assert response.status_code == 200
    assert batch.number in response.text and "2020-001" in response.text
    assert "1,200" in response.text
    assert 'href="/allocation/batches/"' in response.text  # the nav link


def test_it_filters_the_list(in_english, office, stocked, to_lanzhou, to_hospital, n95, masks):
    first = make_batch(office, stocked, to_lanzhou, [(n95, 10)])
    second = make_batch(office, stocked, to_hospital, [(masks, 20)])
    client = login(in_english, office)

    by_item = client.get(url("batch_list"), {"item": masks.code}).text
    by_kind = client.get(url("batch_list"), {"destination_kind": "prefecture"}).text

    assert second.number in by_item and first.number not in by_item
    assert first.number in by_kind and second.number not in by_kind


def test_the_list_shows_an_officer_only_their_batches(
    client, office, officer, outsider, stocked, to_lanzhou, to_hospital, n95
):
    mine = make_batch(office, stocked, to_lanzhou, [(n95, 10)])
    other = make_batch(office, stocked, to_hospital, [(n95, 10)])

    officer_list = login(client, officer).get(url("batch_list")).text
    client.logout()
    outsider_list = login(client, outsider).get(url("batch_list")).text

    assert mine.number in officer_list and other.number not in officer_list
    assert mine.number not in outsider_list


def test_an_outsider_officer_meets_another_prefectures_batch_as_404(
    client, office, outsider, stocked, to_lanzhou, n95
):
    batch = make_batch(office, stocked, to_lanzhou, [(n95, 10)])
    login(client, outsider)

    assert client.get(url("batch_detail", batch.number)).status_code == 404
    assert client.get(url("batch_note", batch.number)).status_code == 404
    assert client.get(url("batch_receive", batch.number)).status_code == 404


def test_a_reporter_may_not_see_batches(client, reporter):
    assert login(client, reporter).get(url("batch_list")).status_code == 403


def test_the_detail_shows_lines_timeline_and_the_leaders_approve_button(
    in_english, office, leader, stocked, to_lanzhou, n95
):
    batch = make_batch(office, stocked, to_lanzhou, [(n95, 300)], carrier="顺丰")

    page = login(in_english, leader).get(url("batch_detail", batch.number)).text

    assert "N95" in page and "300" in page and "顺丰" in page
    assert "batch-timeline" in page and "Created as Draft" in page
    assert url("batch_action", batch.number, "approve") in page
    assert url("batch_action", batch.number, "dispatch") not in page
    assert url("batch_new") not in page


def test_leadership_approves_but_cannot_create(
    in_english, office, leader, stocked, to_lanzhou, n95
):
    batch = make_batch(office, stocked, to_lanzhou, [(n95, 300)])
    client = login(in_english, leader)

    assert client.get(url("batch_new")).status_code == 403
    response = client.post(
        url("batch_action", batch.number, "approve"), {"expected_version": batch.version}
    )

    assert response.status_code == 302
    batch.refresh_from_db()
    assert batch.status == BatchStatus.APPROVED and batch.approved_by == leader


def test_the_office_cannot_approve(in_english, office, stocked, to_lanzhou, n95):
    batch = make_batch(office, stocked, to_lanzhou, [(n95, 300)])

    response = login(in_english, office).post(
        url("batch_action", batch.number, "approve"), {"expected_version": batch.version}
    )

    assert response.status_code == 403
    batch.refresh_from_db()
    assert batch.status == BatchStatus.DRAFT


def test_a_create_form_with_two_lines_saves_a_draft(
    in_english, office, stocked, to_lanzhou, n95, masks
):
    data = {
        "source_warehouse": stocked.code,
        "destination": to_lanzhou.pk,
        "priority": "hard_hit_area",
        "reason": "疫情严重",
        "carrier": "省物流公司",
        "vehicle": "甘A12345",
        "lines-TOTAL_FORMS": "3",
        "lines-INITIAL_FORMS": "0",
        "lines-0-item": n95.code,
        "lines-0-quantity": "1000",
        "lines-0-channel": "reserve",
        "lines-1-item": masks.code,
        "lines-1-quantity": "500",
        "lines-1-channel": "purchase",
    }

    response = login(in_english, office).post(url("batch_new"), data)

    batch = DispatchBatch.objects.get()
    assert response.status_code == 302
    assert response["Location"] == url("batch_detail", batch.number)
    assert batch.status == BatchStatus.DRAFT and batch.vehicle == "甘A12345"
    assert list(batch.lines.order_by("id").values_list("item__code", "quantity", "channel")) == [
        (n95.code, 1000, "reserve"),
        (masks.code, 500, "purchase"),
    ]


def test_the_create_form_shows_a_line_error_at_its_row(
    in_english, office, stocked, to_lanzhou, n95
):
    data = {
        "source_warehouse": stocked.code,
        "destination": to_lanzhou.pk,
        "priority": "other",
        "lines-TOTAL_FORMS": "2",
        "lines-INITIAL_FORMS": "0",
        "lines-0-item": n95.code,
        "lines-0-quantity": "10",
        "lines-1-item": n95.code,
        "lines-1-quantity": "10",
        "lines-1-channel": "reserve",
    }

    response = login(in_english, office).post(url("batch_new"), data)

    assert response.status_code == 400
    assert "Choose a channel." in response.text
    assert not DispatchBatch.objects.exists()


def test_the_office_edits_a_draft(in_english, office, stocked, to_lanzhou, n95):
    batch = make_batch(office, stocked, to_lanzhou, [(n95, 10)])
    client = login(in_english, office)
    assert client.get(url("batch_edit", batch.number)).status_code == 200

    response = client.post(
        url("batch_edit", batch.number),
        {
            "source_warehouse": stocked.code,
            "destination": to_lanzhou.pk,
            "priority": "other",
            "expected_version": batch.version,
            "lines-TOTAL_FORMS": "1",
            "lines-INITIAL_FORMS": "1",
            "lines-0-item": n95.code,
            "lines-0-quantity": "25",
            "lines-0-channel": "reserve",
        },
    )

    assert response.status_code == 302
    assert batch.lines.get().quantity == 25


def test_the_available_partial_returns_the_balance(client, office, stocked, n95):
    response = login(client, office).get(
        url("available_stock"), {"source_warehouse": stocked.code, "lines-0-item": n95.code}
    )

    assert response.status_code == 200
    assert "5,000" in response.text


def test_dispatch_with_short_stock_shows_the_shortfall_and_changes_nothing(
    in_english, office, leader, stocked, to_lanzhou, n95
):
    batch = make_batch(office, stocked, to_lanzhou, [(n95, 9000)])
    batch = batch_approve(user=leader, batch=batch, expected_version=batch.version)
    events_before = StockEvent.objects.count()

    response = login(in_english, office).post(
        url("batch_action", batch.number, "dispatch"), {"expected_version": batch.version}
    )

    assert response.status_code == 409
    assert 'id="shortages"' in response.text
    assert "9,000" in response.text and "5,000" in response.text
    batch.refresh_from_db()
    assert batch.status == BatchStatus.APPROVED
    assert StockEvent.objects.count() == events_before
    assert StockBalance.objects.get(warehouse=stocked, item=n95).quantity == 5000


def test_a_stale_version_shows_the_conflict_message(
    in_english, office, leader, stocked, to_lanzhou, n95
):
    batch = make_batch(office, stocked, to_lanzhou, [(n95, 10)])
    stale = batch.version
    batch_approve(user=leader, batch=batch, expected_version=stale)

    response = login(in_english, office).post(
        url("batch_action", batch.number, "cancel"), {"expected_version": stale}
    )

    assert response.status_code == 409
    assert "Someone else changed this batch; reload" in response.text
    batch.refresh_from_db()
    assert batch.status == BatchStatus.APPROVED


def test_the_office_dispatches_an_approved_batch(
    in_english, office, leader, stocked, to_lanzhou, n95
):
    batch = make_batch(office, stocked, to_lanzhou, [(n95, 1000)])
    batch = batch_approve(user=leader, batch=batch, expected_version=batch.version)

    response = login(in_english, office).post(
        url("batch_action", batch.number, "dispatch"), {"expected_version": batch.version}
    )

    assert response.status_code == 302
    batch.refresh_from_db()
    assert batch.status == BatchStatus.DISPATCHED
    assert StockBalance.objects.get(warehouse=stocked, item=n95).quantity == 4000


def test_the_receipt_form_records_a_partial_receipt(
    in_english, office, leader, officer, stocked, to_lanzhou, n95, masks
):
    batch = dispatched_batch(office, leader, stocked, to_lanzhou, [(n95, 1000), (masks, 200)])
    n95_line, masks_line = batch.lines.order_by("id")
    client = login(in_english, officer)
    assert client.get(url("batch_receive", batch.number)).status_code == 200

    response = client.post(
        url("batch_receive", batch.number),
        {
            "expected_version": batch.version,
            f"line-{n95_line.pk}": "600",
            f"line-{masks_line.pk}": "200",
            "note": "第一车",
        },
    )

    assert response.status_code == 302
    batch.refresh_from_db()
    n95_line.refresh_from_db()
    assert batch.status == BatchStatus.PARTLY_RECEIVED
    assert n95_line.received_quantity == 600 and n95_line.discrepancy == -400
    assert BatchReceipt.objects.filter(batch=batch, received_by=officer).count() == 2
    detail = client.get(url("batch_detail", batch.number)).text
    # Still on the road, not yet a discrepancy: the receipt is not complete.
    assert 'class="num in-transit">400<' in detail and "Received 600 of" in detail


def test_an_officer_receives_only_their_batches(
    client, office, leader, officer, stocked, to_hospital, n95
):
    batch = dispatched_batch(office, leader, stocked, to_hospital, [(n95, 10)])

    response = login(client, officer).get(url("batch_receive", batch.number))

    assert response.status_code == 404


def test_an_officer_sees_no_office_buttons(
    in_english, office, leader, officer, stocked, to_lanzhou, n95
):
    batch = dispatched_batch(office, leader, stocked, to_lanzhou, [(n95, 10)])

    page = login(in_english, officer).get(url("batch_detail", batch.number)).text

    assert url("batch_receive", batch.number) in page
    assert url("batch_action", batch.number, "close") not in page
    response = in_english.post(
        url("batch_action", batch.number, "close"),
        {"expected_version": batch.version, "note": "x"},
    )
    assert response.status_code == 403


def test_the_dispatch_note_shows_the_number_and_signature_block(
    in_english, office, leader, stocked, to_lanzhou, n95
):
    batch = dispatched_batch(
        office, leader, stocked, to_lanzhou, [(n95, 1000)], carrier="省物流", vehicle="甘A1"
    )

    page = login(in_english, office).get(url("batch_note", batch.number)).text

    assert "Dispatch note" in page and batch.number in page
    assert "甘A1" in page and "1,000" in page and n95.code in page
    for signer in ("Handled by", "Reviewed by", "Leader", "Shipped by", "Received by"):
        assert signer in page
    assert 'id="note-signatures"' in page


def test_the_dispatch_note_reads_in_chinese(client, office, leader, stocked, to_lanzhou, n95):
    batch = dispatched_batch(office, leader, stocked, to_lanzhou, [(n95, 1000)])
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"

    page = login(client, office).get(url("batch_note", batch.number)).text

    for words in ("调拨单", "经办人", "审核人", "发货人", "承运人", "收货人"):
        assert words in page


def _list_queries(client):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url("batch_list"))
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_the_list_runs_a_constant_number_of_queries(
    client, office, stocked, to_lanzhou, to_hospital, n95, masks
):
    login(client, office)
    make_batch(office, stocked, to_lanzhou, [(n95, 1)])
    small = _list_queries(client)
    for index in range(12):
        destination = to_lanzhou if index % 2 else to_hospital
        make_batch(office, stocked, destination, [(n95, 1), (masks, 2)])

    assert _list_queries(client) == small


def test_every_transition_is_in_the_timeline(office, leader, stocked, to_lanzhou, n95):
    batch = dispatched_batch(office, leader, stocked, to_lanzhou, [(n95, 10)])

    assert BatchTransition.objects.filter(batch=batch).count() == 3


def test_an_invalid_filter_is_shown_and_left_out(in_english, office, stocked, to_lanzhou, n95):
    batch = make_batch(office, stocked, to_lanzhou, [(n95, 10)])

    response = login(in_english, office).get(url("batch_list"), {"from": "garbage"})

    assert response.status_code == 200
    assert batch.number in response.text and "field-error" in response.text


def test_the_pages_render_in_chinese(client, office, leader, stocked, to_lanzhou, n95):
    batch = dispatched_batch(office, leader, stocked, to_lanzhou, [(n95, 10)])
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    login(client, office)

    assert "调拨批次" in client.get(url("batch_list")).text
    assert "签收" in client.get(url("batch_detail", batch.number)).text
    assert "本次签收" in client.get(url("batch_receive", batch.number)).text
    assert "可用库存" in client.get(url("batch_new")).text
