"""The national allocation pages: the office makes a request, records an announcement
answering it, and its arrival; lists and pages show status, granted and overdue."""

import datetime as dt

from django.urls import reverse

from procurement.models import NationalAllocation, NationalRequest
from procurement.services import national_allocation_announce
from tests.procurement.conftest import TODAY


def test_the_office_goes_from_request_to_arrival_on_the_pages(
    frozen_time, client, office, n95, sz01
):
    client.force_login(office)
    assert client.get(reverse("procurement:national_request_new")).status_code == 200
    made = client.post(
        reverse("procurement:national_request_new"),
        {
            "item": "FH001",
            "quantity": "50000",
            "net_requirement": "42000",
            "justification": "日消耗2万只",
            "sent_on": TODAY.isoformat(),
        },
    )
    assert made.status_code == 302
    request = NationalRequest.objects.get()
    assert made["Location"] == reverse("procurement:national_request_detail", args=["SQ-2020-001"])

    form = client.get(reverse("procurement:national_allocation_new") + "?request=SQ-2020-001")
    assert form.status_code == 200
    announced = client.post(
        reverse("procurement:national_allocation_new"),
        {
            "item": "FH001",
            "quantity": "20000",
            "expected_arrival": (TODAY + dt.timedelta(days=3)).isoformat(),
            "warehouse": "SZ01",
            "request": "SQ-2020-001",
            "reference": "国调〔2020〕5号",
        },
    )
    assert announced.status_code == 302
    allocation = NationalAllocation.objects.get()
    request.refresh_from_db()
    # 20,000 of 50,000 granted → partly granted.
    assert (request.status, request.granted_quantity) == ("partly_granted", 20_000)

    arrival_url = reverse("procurement:national_allocation_arrival", args=[allocation.pk])
    assert client.get(arrival_url).status_code == 200
    page = client.get(arrival_url)
    arrived = client.post(
        arrival_url,
        {"quantity": "20001", "client_uuid": page.context["form"].initial["client_uuid"]},
    )
    assert arrived.status_code == 400
    assert "quantity" in arrived.context["form"].errors
    arrived = client.post(
        arrival_url,
        {"quantity": "8000", "client_uuid": page.context["form"].initial["client_uuid"]},
    )
    assert arrived.status_code == 302
    allocation.refresh_from_db()
    assert allocation.arrived_quantity == 8_000

    detail = client.get(reverse("procurement:national_request_detail", args=["SQ-2020-001"]))
    assert detail.status_code == 200
    assert "国调〔2020〕5号" in detail.content.decode()
    listing = client.get(reverse("procurement:national_request_list"))
    assert "SQ-2020-001" in listing.content.decode()


def test_a_refusal_from_the_page(frozen_time, client, office, n95):
    client.force_login(office)
    client.post(
        reverse("procurement:national_request_new"),
        {"item": "FH001", "quantity": "10", "justification": "x"},
    )
    url = reverse("procurement:national_request_refuse", args=["SQ-2020-001"])
    assert client.post(url, {"expected_version": "1", "reason": ""}).status_code == 400
    assert client.post(url, {"expected_version": "1", "reason": "无库存"}).status_code == 302
    assert NationalRequest.objects.get().status == "refused"


def test_the_list_flags_overdue_announcements(frozen_time, client, office, n95, sz01):
    # Expected today: not overdue today; seen on the 25th (5 days later) it is.
    national_allocation_announce(
        user=office, item=n95, quantity=10, expected_arrival=TODAY, warehouse=sz01
    )
    client.force_login(office)
    page = client.get(reverse("procurement:national_allocation_list"))
    assert page.context["overdue_count"] == 0
    frozen_time.move_to(dt.datetime(2020, 2, 25, 10, 0))
    page = client.get(reverse("procurement:national_allocation_list"))
    assert page.context["overdue_count"] == 1
    assert 'class="badge s-red overdue"' in page.content.decode()


def test_the_lists_take_a_fixed_number_of_queries(
    frozen_time, client, office, n95, sz01, django_assert_max_num_queries
):
    for _ in range(5):
        national_allocation_announce(
            user=office, item=n95, quantity=10, expected_arrival=TODAY, warehouse=sz01
        )
    client.force_login(office)
    with django_assert_max_num_queries(12):
        assert client.get(reverse("procurement:national_allocation_list")).status_code == 200
    with django_assert_max_num_queries(12):
        assert client.get(reverse("procurement:national_request_list")).status_code == 200
