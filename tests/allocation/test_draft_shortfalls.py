"""A draft asking more than is on hand in its source warehouse — net of other approved, not yet
dispatched batches from it — is saved and flagged on its page (item, asked, on hand), not
refused. SZ01 holds 5,000 N95 and 1,000 masks (tests/allocation/conftest.py `stocked`)."""

import pytest
from django.conf import settings
from django.urls import reverse

from allocation.models import BatchStatus
from allocation.selectors import draft_shortfalls
from allocation.services import batch_approve
from tests.allocation.conftest import make_batch
from tests.conftest import PASSWORD

pytestmark = pytest.mark.usefixtures("frozen_time")


def test_a_draft_above_what_is_left_after_approved_batches_is_flagged(
    office, leader, stocked, to_lanzhou, to_hospital, n95
):
    approved = make_batch(office, stocked, to_hospital, [(n95, 3000)])
    batch_approve(user=leader, batch=approved, expected_version=1)
    other_draft = make_batch(office, stocked, to_hospital, [(n95, 4000)])  # not committed
    draft = make_batch(office, stocked, to_lanzhou, [(n95, 1500), (n95, 600)])

    flagged = draft_shortfalls(draft)

    # Asked 1,500 + 600 = 2,100; 5,000 on hand − 3,000 approved = 2,000 available.
    assert [
        (f["item"].code, f["asked"], f["on_hand"], f["committed"], f["available"]) for f in flagged
    ] == [("FH001", 2100, 5000, 3000, 2000)]
    # The other draft alone: 4,000 > 2,000 as well; the approved batch itself is not flagged.
    assert draft_shortfalls(other_draft)[0]["available"] == 2000
    approved.refresh_from_db()
    assert draft_shortfalls(approved) == []


def test_a_draft_within_stock_is_not_flagged(office, stocked, to_lanzhou, n95):
    assert draft_shortfalls(make_batch(office, stocked, to_lanzhou, [(n95, 5000)])) == []


def test_the_page_shows_the_flag_and_the_draft_is_kept(
    client, office, stocked, to_lanzhou, n95, masks
):
    draft = make_batch(office, stocked, to_lanzhou, [(n95, 6000), (masks, 10)])
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert client.login(username=office.username, password=PASSWORD)

    page = client.get(reverse("allocation:batch_detail", args=[draft.number])).text

    assert draft.status == BatchStatus.DRAFT
    assert 'id="draft-shortfalls"' in page
    assert (
        "6,000 piece asked, 5,000 piece on hand, of which 0 piece are for other approved batches"
        in page
    )
    # Masks (10 of 1,000) are not listed.
    assert page.split('id="draft-shortfalls"', 1)[1].split("</div>", 1)[0].count("<li") == 1
