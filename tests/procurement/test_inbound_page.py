"""The inbound calendar page: office and leadership read it, officers and reporters get 403;
its totals equal inbound_3d / inbound_14d; the producers' trend is shown but not counted; bad
input is a 400 naming the field; the page costs a bounded number of queries."""

import datetime as dt
import re

import pytest
from django.urls import reverse

from production.models import Producer, ProductionReport
from tests.factories import ItemFactory
from tests.procurement.conftest import NOW, TODAY, credit_code

URL = reverse("reports:inbound")


@pytest.fixture
def key_n95(n95):
    n95.is_key = True
    n95.save(update_fields=["is_key"])
    return n95


@pytest.fixture
def orders(frozen_time, key_n95, make_order):
    # 1,000 expected on d+2 and 300 on d+5 (d = TODAY); 200 expected d-1 would be overdue, but
    # an order cannot be placed expecting the past: see test_inbound_figures for that case.
    make_order([(key_n95, 1000, "1.00", TODAY + dt.timedelta(days=2))])
    return make_order([(key_n95, 300, "1.00", TODAY + dt.timedelta(days=5))])


@pytest.fixture
def client_for(client):
    """A browser session of `user` (the page is not part of the API)."""

    def login(user):
        client.force_login(user)
        return client

    return login


def cells(html, channel):
    row = re.search(rf'<tr data-channel="{channel}"[^>]*>(.*?)</tr>', html, flags=re.S).group(1)
    return [re.sub(r"\s+", "", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)]


def test_the_office_sees_the_calendar_with_totals_equal_to_the_figures(client_for, office, orders):
    html = client_for(office).get(URL).content.decode()
    total = cells(html, "total")
    # 15 day columns, then no date, 3 days, 14 days: 1,000 on d+2, 300 on d+5.
    assert total[2] == "1,000" and total[5] == "300"
    assert total[15:] == ["0", "1,000", "1,300"]
    assert 'id="inbound-3d"' in html and "1,300" in html


def test_the_producers_trend_is_shown_but_not_counted(client_for, office, key_n95, orders, lanzhou):
    producer = Producer.objects.create(
        name="兰州防护用品厂", credit_code=credit_code(88), prefecture=lanzhou
    )
    # Reports on 8 days: only the last 7 (d-6 .. d) count: 100 × 6 + 800 = 1,400 / 7 = 200 a
    # day (the 9,999 of d-7 is left out).
    for back, to_reserve in [(7, 9999), *((b, 100) for b in range(1, 7)), (0, 800)]:
        ProductionReport.objects.create(
            producer=producer,
            item=key_n95,
            date=TODAY - dt.timedelta(days=back),
            output=to_reserve,
            to_reserve=to_reserve,
            factory_stock=0,
            submitted_by=office,
            first_submitted_at=NOW,
            submitted_at=NOW,
        )
    html = client_for(office).get(URL).content.decode()
    producers = cells(html, "producers")
    # Nothing on d (its delivery is in the ledger already), 200 on each of d+1 .. d+14.
    assert producers[0] == "" and producers[1:15] == ["200"] * 14
    # Its own sums: 3 × 200 = 600 and 14 × 200 = 2,800; the totals stay 1,000 and 1,300.
    assert producers[16:] == ["600", "2,800"]
    assert cells(html, "total")[16:] == ["1,000", "1,300"]


def test_leadership_reads_it_and_officers_and_reporters_get_403(
    client_for, leader, officer, reporter, orders
):
    assert client_for(leader).get(URL).status_code == 200
    assert client_for(officer).get(URL).status_code == 403
    assert client_for(reporter).get(URL).status_code == 403


@pytest.mark.parametrize(
    "query, field",
    [
        ({"date": "2020-02-31"}, "Date"),
        ({"date": "2020-02-20\x00"}, None),  # refused by the middleware before the view
        ({"date": "99999999999999999999"}, "Date"),
        ({"date": "9999-12-31"}, "Date"),  # after today: not known yet (and d+14 overflows)
        ({"item": "NOPE"}, "Item"),
        ({"item": "FH001\x00"}, None),
    ],
)
def test_bad_input_is_a_400_naming_the_field(client_for, office, orders, query, field):
    client = client_for(office)
    client.cookies["django_language"] = "en"
    response = client.get(URL, query)
    assert response.status_code == 400
    assert (f"{field}:" if field else "The request was refused") in response.content.decode()


def test_a_past_date_and_another_item(client_for, office, orders):
    other = ItemFactory(code="FH009", is_key=True)
    response = client_for(office).get(URL, {"item": other.code, "date": "2020-02-19"})
    assert response.status_code == 200
    assert cells(response.content.decode(), "total")[15:] == ["0", "0", "0"]


def test_the_page_costs_a_bounded_number_of_queries(
    client_for, office, orders, key_n95, django_assert_max_num_queries
):
    client = client_for(office)
    client.get(URL)
    # Session and user (2), key items (1), the calendar (5), the producers (1), the menu's
    # rules: a bound that does not grow with orders, lines or days.
    with django_assert_max_num_queries(14):
        assert client.get(URL).status_code == 200
