"""Leadership's overview lists drafts awaiting approval (oldest first, at most 10, a link to
all) and approves from there through the same service and rule as the batch page; the office
sees the list without the button and cannot approve by posting."""

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from allocation.models import BatchStatus
from allocation.services import batch_approve
from tests.allocation.conftest import make_batch
from tests.conftest import PASSWORD

pytestmark = pytest.mark.usefixtures("frozen_time")

OVERVIEW = reverse("reports:overview")


def login(client, user):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert client.login(username=user.username, password=PASSWORD)
    return client


def approve_url(batch):
    return reverse("allocation:batch_action", args=(batch.number, "approve"))


def test_leadership_sees_drafts_awaiting_approval_with_their_totals(
    client, office, leader, stocked, to_lanzhou, to_hospital, n95, masks
):
    first = make_batch(office, stocked, to_lanzhou, [(n95, 300), (masks, 200)])
    second = make_batch(office, stocked, to_hospital, [(n95, 1200)])
    approved = make_batch(office, stocked, to_hospital, [(n95, 10)])
    batch_approve(user=leader, batch=approved, expected_version=1)

    page = login(client, leader).get(OVERVIEW).text

    section = page.split('id="awaiting-approval"', 1)[1].split("</section>", 1)[0]
    assert first.number in section and second.number in section
    assert approved.number not in section
    # 300 + 200 = 500 over 2 lines; 1,200 over 1.
    assert '<td class="num">2</td>\n              <td class="num">500</td>' in section
    assert '<td class="num">1,200</td>' in section
    assert section.count('data-action="approve"') == 2
    assert 'href="/allocation/batches/?status=draft"' in section


def test_leadership_approves_from_the_overview_and_returns_there(
    client, office, leader, stocked, to_lanzhou, n95
):
    batch = make_batch(office, stocked, to_lanzhou, [(n95, 300)])

    response = login(client, leader).post(
        approve_url(batch), {"expected_version": batch.version, "next": OVERVIEW}
    )

    assert response.status_code == 302 and response.url == OVERVIEW
    batch.refresh_from_db()
    assert (batch.status, batch.approved_by) == (BatchStatus.APPROVED, leader)
    assert batch.transitions.order_by("at", "id").last().by == leader


def test_an_outside_next_is_ignored(client, office, leader, stocked, to_lanzhou, n95):
    batch = make_batch(office, stocked, to_lanzhou, [(n95, 300)])

    response = login(client, leader).post(
        approve_url(batch), {"expected_version": batch.version, "next": "https://evil.example/"}
    )

    assert response.url == reverse("allocation:batch_detail", args=[batch.number])


def test_the_office_sees_the_list_without_approve_and_cannot_approve(
    client, office, stocked, to_lanzhou, n95
):
    batch = make_batch(office, stocked, to_lanzhou, [(n95, 300)])
    client = login(client, office)

    section = client.get(OVERVIEW).text.split('id="awaiting-approval"', 1)[1]
    response = client.post(approve_url(batch), {"expected_version": 1, "next": OVERVIEW})

    assert batch.number in section.split("</section>", 1)[0]
    assert 'data-action="approve"' not in section.split("</section>", 1)[0]
    assert response.status_code == 403
    batch.refresh_from_db()
    assert batch.status == BatchStatus.DRAFT


def test_an_officer_cannot_approve_from_the_overview(
    client, office, officer, stocked, to_lanzhou, n95
):
    batch = make_batch(office, stocked, to_lanzhou, [(n95, 300)])

    response = login(client, officer).post(
        approve_url(batch), {"expected_version": 1, "next": OVERVIEW}
    )

    assert response.status_code == 403
    batch.refresh_from_db()
    assert batch.status == BatchStatus.DRAFT


def test_the_list_is_bounded_to_ten_oldest_and_its_queries_do_not_grow(
    client, office, leader, stocked, to_lanzhou, n95
):
    client = login(client, leader)
    make_batch(office, stocked, to_lanzhou, [(n95, 1)])
    with CaptureQueriesContext(connection) as one:
        client.get(OVERVIEW)
    batches = [make_batch(office, stocked, to_lanzhou, [(n95, 1)]) for _ in range(11)]
    with CaptureQueriesContext(connection) as twelve:
        page = client.get(OVERVIEW).text

    section = page.split('id="awaiting-approval"', 1)[1].split("</section>", 1)[0]
    # 12 drafts: the 10 oldest shown (the first made before the loop, then 10 of the 11).
    assert section.count("data-awaiting=") == 10
    assert batches[-1].number not in section and batches[8].number in section
    assert len(twelve) == len(one)
