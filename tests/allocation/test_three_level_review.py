"""A hostile review of three-level dispatch (issue 15 §3): what a prefecture's officer could
read of the province's donations through the batch form and the batch API, and what the paper
ledger migration recorded in the office's name on a prefecture's batch.

The world is tests/allocation/three_level.py: Lanzhou's officer issues from its own warehouse
LZ01 (1,000 N95) to its county 榆中县; the province's reserve SZ01 holds 5,000 N95. The office
has recorded a donation of 100 N95 from 某秘密基金会 into SZ01, restricted to Tianshui, not
public: nobody below the province sees who gave it.
"""

import datetime as dt

import pytest
from django.urls import reverse

from allocation.models import BatchStatus, DispatchBatch, DonationRestriction
from allocation.services import AllocationInvalid, batches_import_history, donation_receive
from tests.allocation.three_level import *  # noqa: F403
from tests.allocation.three_level import NOW

pytestmark = pytest.mark.usefixtures("clock_2026")

DONOR = "某秘密基金会"


@pytest.fixture
def province_donation(office, sz01_2026, tianshui, n95):
    """100 N95 given to the province for Tianshui, held in SZ01."""
    return donation_receive(
        user=office,
        warehouse=sz01_2026,
        donor_name=DONOR,
        donor_kind="organisation",
        lines=[(n95, 100)],
        restriction=DonationRestriction.NAMED_PREFECTURE,
        restricted_prefecture=tianshui,
    )


@pytest.fixture
def lz01_donation(office, lz01, n95):
    """50 N95 given to Lanzhou, received by the office into Lanzhou's own warehouse LZ01."""
    return donation_receive(
        user=office,
        warehouse=lz01,
        donor_name="兰州某企业",
        donor_kind="organisation",
        lines=[(n95, 50)],
    )


# --- The donation picker of the batch form -----------------------------------------------------


def test_lanzhous_officer_is_offered_only_the_donations_held_in_its_own_warehouse(
    client, officer, province_donation, lz01_donation
):
    client.force_login(officer)

    html = client.get(reverse("allocation:batch_new")).text

    # Lanzhou issues from LZ01 only: the donation held there is its to draw on; the province's
    # donation in SZ01 (and its donor) is none of its business.
    assert f'<option value="{lz01_donation.pk}">兰州某企业' in html
    assert DONOR not in html


def test_the_office_is_still_offered_the_donations_of_the_provinces_warehouses(
    client, office, province_donation, lz01_donation
):
    client.force_login(office)

    html = client.get(reverse("allocation:batch_new")).text

    assert f'<option value="{province_donation.pk}">{DONOR}' in html
    # The office does not issue from LZ01: Lanzhou's donation is not offered to it.
    assert "兰州某企业" not in html


def test_lanzhous_officer_drafts_a_line_from_the_donation_in_lz01(
    client, officer, lz01, to_yuzhong, n95, lz01_donation
):
    client.force_login(officer)

    response = client.post(
        reverse("allocation:batch_new"),
        {
            "source_warehouse": lz01.code,
            "destination": to_yuzhong.pk,
            "priority": "other",
            "lines-TOTAL_FORMS": "1",
            "lines-INITIAL_FORMS": "0",
            "lines-0-item": n95.code,
            "lines-0-quantity": "30",
            "lines-0-channel": "donation",
            "lines-0-donation": str(lz01_donation.pk),
        },
    )

    assert response.status_code == 302
    line = DispatchBatch.objects.get(issuing_prefecture=lz01.prefecture).lines.get()
    assert (line.donation, line.quantity) == (lz01_donation, 30)


# --- The batch API does not name another warehouse's donor -----------------------------------


def test_a_line_drawing_on_the_provinces_donation_is_refused_without_naming_its_donor(
    client_for, officer, lz01, to_yuzhong, province_donation
):
    response = client_for(officer).post(
        "/api/v1/batches/",
        {
            "source_warehouse": lz01.code,
            "destination": to_yuzhong.pk,
            "lines": [
                {
                    "item": "FH001",
                    "quantity": 10,
                    "channel": "donation",
                    "donation": province_donation.pk,
                }
            ],
        },
        format="json",
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert response.status_code == 400
    assert DONOR not in response.content.decode()
    assert response.json()["errors"] == [
        {
            "line": 0,
            "field": "lines",
            "message": "The donated goods are in another warehouse: dispatch them from there.",
        }
    ]
    assert not DispatchBatch.objects.exists()


# --- The paper-ledger migration of a prefecture's batch ----------------------------------------


def lanzhou_paper_row(lz01, to_yuzhong, n95, **people):
    """Lanzhou's 620100-2026-001 on paper: 300 N95 from LZ01 to 榆中县, dispatched a day ago."""
    dispatched = NOW - dt.timedelta(days=1)
    return {
        "number": "620100-2026-001",
        "source_warehouse": lz01,
        "destination": to_yuzhong,
        "lines": [{"item": n95, "quantity": 300, "channel": "reserve"}],
        "created_at": dispatched - dt.timedelta(hours=20),
        "approved_at": dispatched - dt.timedelta(hours=4),
        "dispatched_at": dispatched,
        **people,
    }


@pytest.mark.parametrize("missing", ["created_by", "dispatched_by"])
def test_a_prefectures_paper_batch_must_name_its_officer_not_default_to_the_office(
    office, officer, lead, lz01, to_yuzhong, n95, missing
):
    people = {"created_by": officer, "approved_by": lead, "dispatched_by": officer}
    del people[missing]

    # The office types the batch in; left unnamed, the drafter or dispatcher would be the office,
    # which acts on none of Lanzhou's batches.
    with pytest.raises(AllocationInvalid):
        batches_import_history(
            user=office, batches=[lanzhou_paper_row(lz01, to_yuzhong, n95, **people)]
        )

    assert not DispatchBatch.objects.exists()
    assert lz01.balances.get(item=n95).quantity == 1000


def test_a_prefectures_paper_batch_is_closed_by_its_officer_not_by_the_office(
    office, officer, lead, county_officer, lz01, to_yuzhong, n95
):
    people = {"created_by": officer, "approved_by": lead, "dispatched_by": officer}
    received = {"at": NOW - dt.timedelta(hours=10), "by": county_officer, "quantities": [290]}
    raw = lanzhou_paper_row(
        lz01,
        to_yuzhong,
        n95,
        receipts=[received],
        closed_at=NOW - dt.timedelta(hours=2),
        close_note="10只未到，已核销",
        **people,
    )

    with pytest.raises(AllocationInvalid):
        batches_import_history(user=office, batches=[raw])
    assert not DispatchBatch.objects.exists()

    (batch,) = batches_import_history(user=office, batches=[{**raw, "closed_by": officer}])

    batch.refresh_from_db()
    assert batch.status == BatchStatus.CLOSED
    closing = batch.transitions.get(to_status=BatchStatus.CLOSED)
    assert (closing.by, closing.note) == (officer, "10只未到，已核销")


def test_a_paper_batch_number_too_long_to_store_is_refused_not_a_database_error(
    office, officer, lead, lz01, to_yuzhong, n95
):
    people = {"created_by": officer, "approved_by": lead, "dispatched_by": officer}
    raw = {
        **lanzhou_paper_row(lz01, to_yuzhong, n95, **people),
        # Lanzhou's code, a year and a sequence of 13 digits: 25 characters (a number holds 16).
        "number": "620100-2026-0000000000001",
    }

    with pytest.raises(AllocationInvalid):
        batches_import_history(user=office, batches=[raw])

    assert not DispatchBatch.objects.exists()


# --- A draft's shortfall says its warehouse's balance: only to who reads that warehouse --------


def shortfall_shown(client, user, batch) -> bool:
    client.force_login(user)
    page = client.get(reverse("allocation:batch_detail", args=[batch.number]))
    assert page.status_code == 200
    return 'id="draft-shortfalls"' in page.text


def test_a_lanzhou_drafts_shortfall_is_not_shown_to_the_county_it_goes_to(
    client, officer, lead, county_officer, lz01, to_yuzhong, n95
):
    """1,500 N95 asked of LZ01, which holds 1,000: the flag tells LZ01's balance, Lanzhou's
    to read (its officer drafts, its lead approves), not 榆中县's."""
    from tests.allocation.three_level import lanzhou_batch

    draft = lanzhou_batch(officer, lz01, to_yuzhong, 1500, n95)

    assert shortfall_shown(client, officer, draft)
    assert shortfall_shown(client, lead, draft)
    assert not shortfall_shown(client, county_officer, draft)


def test_a_province_drafts_shortfall_is_not_shown_below_the_province(
    client, office, leader, officer, county_officer, sz01_2026, to_yuzhong, n95
):
    """6,000 N95 asked of the province's SZ01, which holds 5,000: leadership approves with the
    flag; Lanzhou's officer and 榆中县's read the draft, not the provincial reserve's balance."""
    from allocation.services import batch_create

    draft = batch_create(
        user=office,
        source_warehouse=sz01_2026,
        destination=to_yuzhong,
        lines=[{"item": n95, "quantity": 6000, "channel": "reserve"}],
    )

    assert shortfall_shown(client, office, draft)
    assert shortfall_shown(client, leader, draft)
    assert not shortfall_shown(client, officer, draft)
    assert not shortfall_shown(client, county_officer, draft)
