"""The batch page's buttons: the next step is the one prominent (primary) button; cancelling is
secondary, behind a confirmation that asks for the reason, and the reason is audited.

Leadership approves but cannot cancel; the office cancels but cannot approve.
"""

import re

import pytest
from django.conf import settings
from django.urls import reverse

from allocation.models import BatchStatus
from allocation.services import batch_approve
from tests.allocation.conftest import make_batch
from tests.conftest import PASSWORD

pytestmark = pytest.mark.usefixtures("frozen_time")


@pytest.fixture
def in_english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


def action_url(batch, action):
    return reverse("allocation:batch_action", args=(batch.number, action))


def primary_buttons(page):
    """Every primary button and link inside the page's transitions card."""
    card = page.split('id="batch-transitions"', 1)[1].split("</section>", 1)[0]
    return re.findall(r'<button type="submit" class="primary"[^>]*>([^<]+)</button>', card)


def test_an_approved_batch_shows_dispatch_as_the_one_primary_button(
    in_english, office, leader, stocked, to_lanzhou, n95
):
    batch = make_batch(office, stocked, to_lanzhou, [(n95, 300)])
    batch = batch_approve(user=leader, batch=batch, expected_version=batch.version)

    page = login(in_english, office).get(reverse("allocation:batch_detail", args=[batch.number]))

    text = page.text
    assert primary_buttons(text) == ["Dispatch"]
    # Cancel is there, secondary, behind a disclosure with a required reason.
    assert '<details id="batch-cancel"' in text and "Cancel batch…" in text
    assert '<textarea name="note" rows="2" maxlength="2000" required>' in text
    assert '<button type="submit" class="danger">Confirm cancellation</button>' in text


def test_leadership_sees_approve_as_the_only_primary_button_and_no_cancel(
    in_english, office, leader, stocked, to_lanzhou, n95
):
    batch = make_batch(office, stocked, to_lanzhou, [(n95, 300)])

    text = (
        login(in_english, leader).get(reverse("allocation:batch_detail", args=[batch.number])).text
    )

    assert primary_buttons(text) == ["Approve"]
    assert "batch-cancel" not in text and action_url(batch, "cancel") not in text


def test_a_cancel_without_a_reason_is_a_translated_400_and_changes_nothing(
    in_english, office, stocked, to_lanzhou, n95
):
    batch = make_batch(office, stocked, to_lanzhou, [(n95, 300)])

    response = login(in_english, office).post(
        action_url(batch, "cancel"), {"expected_version": batch.version, "note": "  "}
    )

    assert response.status_code == 400
    assert "Give the reason for cancelling this batch." in response.text
    # The disclosure stays open so the person can type the reason.
    assert '<details id="batch-cancel" class="cancel-batch" open>' in response.text
    batch.refresh_from_db()
    assert (batch.status, batch.version) == (BatchStatus.DRAFT, 1)


def test_a_cancel_without_a_reason_is_refused_in_chinese_too(
    client, office, stocked, to_lanzhou, n95
):
    batch = make_batch(office, stocked, to_lanzhou, [(n95, 300)])

    response = login(client, office).post(
        action_url(batch, "cancel"), {"expected_version": batch.version}
    )

    assert response.status_code == 400
    assert 'id="batch-error"' in response.text
    batch.refresh_from_db()
    assert batch.status == BatchStatus.DRAFT


def test_the_office_cancels_with_a_reason_and_the_timeline_shows_it(
    in_english, office, stocked, to_lanzhou, n95
):
    batch = make_batch(office, stocked, to_lanzhou, [(n95, 300)])
    client = login(in_english, office)

    response = client.post(
        action_url(batch, "cancel"), {"expected_version": batch.version, "note": "与第12批重复"}
    )

    assert response.status_code == 302
    batch.refresh_from_db()
    assert batch.status == BatchStatus.CANCELLED
    last = batch.transitions.order_by("at", "id").last()
    assert (last.to_status, last.by, last.note) == ("cancelled", office, "与第12批重复")
    page = client.get(reverse("allocation:batch_detail", args=[batch.number])).text
    assert "与第12批重复" in page and "batch-transitions" not in page


def test_leadership_cannot_cancel_even_with_a_reason(
    in_english, office, leader, stocked, to_lanzhou, n95
):
    batch = make_batch(office, stocked, to_lanzhou, [(n95, 300)])

    response = login(in_english, leader).post(
        action_url(batch, "cancel"), {"expected_version": batch.version, "note": "不需要"}
    )

    assert response.status_code == 403
    batch.refresh_from_db()
    assert batch.status == BatchStatus.DRAFT


def test_an_officer_sees_confirm_receipt_as_the_primary_link(
    in_english, office, leader, officer, stocked, to_lanzhou, n95
):
    from tests.allocation.conftest import dispatched_batch

    batch = dispatched_batch(office, leader, stocked, to_lanzhou, [(n95, 10)])

    text = (
        login(in_english, officer).get(reverse("allocation:batch_detail", args=[batch.number])).text
    )

    receive = reverse("allocation:batch_receive", args=[batch.number])
    assert f'<a class="button primary" href="{receive}">Confirm receipt</a>' in text
    assert "batch-transitions" not in text
