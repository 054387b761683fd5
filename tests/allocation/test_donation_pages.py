"""Donation pages: the ledger (office and leadership), a donation's trace worked by hand, the
certificate of receipt, the Excel export, the receipt form and the public summary's privacy."""

import io

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from allocation.models import Donation
from allocation.selectors import donation_trace
from allocation.services import batch_cancel, batch_receive, donation_receive
from inventory.models import StockBalance
from supplycoord.exports import TITLE_ROWS
from tests.allocation.conftest import dispatched_batch, make_batch
from tests.conftest import PASSWORD

pytestmark = pytest.mark.usefixtures("frozen_time")


@pytest.fixture
def in_english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


def url(name, *args):
    return reverse(f"allocation:{name}", args=args)


def donate(office, warehouse, lines, donor="某慈善基金会", kind="organisation", **kwargs):
    return donation_receive(
        user=office,
        warehouse=warehouse,
        donor_name=donor,
        donor_kind=kind,
        lines=lines,
        **kwargs,
    )


def gift(donation, item, quantity):
    return {"item": item, "quantity": quantity, "channel": "donation", "donation": donation}


@pytest.fixture
def traced(office, leader, sz01, n95, masks, to_lanzhou, to_hospital, to_tianjin):
    """1,000 N95 and 500 masks donated. To Lanzhou: 300 N95 + 100 masks dispatched, 250 N95
    received there. To the hospital: 200 N95 in a draft. To Tianjin: 100 N95, cancelled."""
    donation = donate(office, sz01, [(n95, 1000), (masks, 500)], declared_value=56000, public=True)
    shipped = dispatched_batch(
        office, leader, sz01, to_lanzhou, [gift(donation, n95, 300), gift(donation, masks, 100)]
    )
    n95_line = shipped.lines.get(item=n95)
    shipped = batch_receive(
        user=office, batch=shipped, expected_version=shipped.version, received={n95_line.pk: 250}
    )
    draft = make_batch(office, sz01, to_hospital, [gift(donation, n95, 200)])
    cancelled = make_batch(office, sz01, to_tianjin, [gift(donation, n95, 100)])
    batch_cancel(user=office, batch=cancelled, expected_version=cancelled.version, note="duplicate")
    return {"donation": donation, "shipped": shipped, "draft": draft, "cancelled": cancelled}


def test_the_trace_is_worked_by_hand(traced, n95, masks, sz01):
    trace = donation_trace(traced["donation"])
    rows = {row["item"].code: row for row in trace["lines"]}
    # N95: 1000 received; 300 shipped + 200 in a draft = 500 allocated (the cancelled 100
    # counts nowhere); 250 arrived; 1000 − 300 = 700 still in the warehouse.
    assert {k: rows[n95.code][k] for k in ("received", "allocated", "shipped", "reserved")} == {
        "received": 1000,
        "allocated": 500,
        "shipped": 300,
        "reserved": 200,
    }
    assert rows[n95.code]["arrived"] == 250
    assert rows[n95.code]["remaining"] == 700
    assert [b["number"] for b in rows[n95.code]["batches"]] == [
        traced["shipped"].number,
        traced["draft"].number,
    ]
    shipped_row = rows[n95.code]["batches"][0]
    assert shipped_row["shipped"] == 300 and shipped_row["received"] == 250
    assert shipped_row["dispatched_at"] is not None and shipped_row["received_at"] is not None
    assert shipped_row["destination"].name_zh == "兰州市"
    draft_row = rows[n95.code]["batches"][1]
    assert draft_row["reserved"] == 200 and draft_row["dispatched_at"] is None
    # Masks: 100 shipped, none received yet, 400 remain.
    assert (rows[masks.code]["shipped"], rows[masks.code]["arrived"]) == (100, 0)
    assert rows[masks.code]["remaining"] == 400
    assert (trace["received"], trace["allocated"], trace["remaining"]) == (1500, 600, 1100)


def test_the_trace_takes_a_constant_number_of_queries(traced, office, sz01, n95, to_lanzhou):
    donation = traced["donation"]
    with CaptureQueriesContext(connection) as few:
        donation_trace(donation)
    for _ in range(3):
        batch = make_batch(office, sz01, to_lanzhou, [gift(donation, n95, 10)])
    assert batch
    with CaptureQueriesContext(connection) as more:
        donation_trace(donation)
    assert len(more) == len(few)


def test_the_ledger_takes_a_constant_number_of_queries(client, office, sz01, n95, masks):
    login(client, office)
    donate(office, sz01, [(n95, 10)])
    with CaptureQueriesContext(connection) as few:
        assert client.get(url("donation_list")).status_code == 200
    donate(office, sz01, [(n95, 10), (masks, 5)], donor="另一公司")
    donate(office, sz01, [(masks, 5)], donor="第三公司")
    with CaptureQueriesContext(connection) as more:
        assert client.get(url("donation_list")).status_code == 200
    assert len(more) == len(few)


@pytest.mark.parametrize("who", ["office", "leader"])
def test_office_and_leadership_see_the_ledger_and_detail(request, in_english, traced, who):
    user = request.getfixturevalue(who)
    login(in_english, user)
    page = in_english.get(url("donation_list"))
    assert page.status_code == 200
    assert "某慈善基金会" in page.content.decode()
    detail = in_english.get(url("donation_detail", traced["donation"].pk))
    assert detail.status_code == 200
    assert traced["shipped"].number in detail.content.decode()
    assert f'href="{url("donation_list")}"' in detail.content.decode()  # the nav link


@pytest.mark.parametrize(
    "name", ["donation_list", "donation_xlsx", "donation_detail", "donation_certificate"]
)
def test_officers_get_403(client, officer, traced, name):
    login(client, officer)
    args = (traced["donation"].pk,) if name in ("donation_detail", "donation_certificate") else ()
    assert client.get(url(name, *args)).status_code == 403


def test_the_ledger_filters(in_english, office, sz01, n95):
    donate(office, sz01, [(n95, 10)], donor="境外友好协会", foreign=True)
    donate(office, sz01, [(n95, 10)], donor="本地企业")
    login(in_english, office)
    page = in_english.get(url("donation_list"), {"origin": "foreign"}).content.decode()
    assert "境外友好协会" in page and "本地企业" not in page
    page = in_english.get(url("donation_list"), {"q": "本地"}).content.decode()
    assert "本地企业" in page and "境外友好协会" not in page


def test_the_certificate_names_donor_items_value_and_thanks(in_english, office, traced):
    login(in_english, office)
    donation = traced["donation"]
    page = in_english.get(url("donation_certificate", donation.pk)).content.decode()
    assert "Certificate of receipt of a donation" in page
    assert f"JZ2020-{donation.pk:05d}" in page
    assert "某慈善基金会" in page
    assert "56000" in page
    assert "1,000" in page and "500" in page
    assert "sincerely thank you" in page
    assert 'id="certificate-signatures"' in page and "Seal" in page


def test_the_certificate_is_in_chinese_by_default(client, office, traced):
    login(client, office)
    page = client.get(url("donation_certificate", traced["donation"].pk)).content.decode()
    assert "捐赠接收凭证" in page


def test_the_export_opens_with_chinese_headers(client, office, traced):
    login(client, office)
    response = client.get(url("donation_xlsx"))
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    rows = list(sheet.iter_rows(values_only=True))[TITLE_ROWS:]
    assert rows[0][:3] == ("凭证编号", "捐赠方", "捐赠方类型")
    assert rows[1][1] == "某慈善基金会"
    assert rows[1][-3:] == (1500, 600, 1100)


def test_the_office_records_a_donation_from_the_form(client, office, sz01, n95, masks):
    login(client, office)
    assert client.get(url("donation_new")).status_code == 200
    data = {
        "donor_name": "爱心企业",
        "donor_kind": "organisation",
        "received_on": "2020-02-20",
        "warehouse": sz01.pk,
        "restriction": "none",
        "lines-TOTAL_FORMS": "3",
        "lines-INITIAL_FORMS": "0",
        "lines-0-item": n95.code,
        "lines-0-quantity": "400",
        "lines-1-item": masks.code,
        "lines-1-quantity": "50",
    }
    response = client.post(url("donation_new"), data)
    donation = Donation.objects.get(donor_name="爱心企业")
    assert response.status_code == 302
    assert response["Location"] == url("donation_detail", donation.pk)
    assert dict(donation.lines.values_list("item__code", "quantity")) == {
        n95.code: 400,
        masks.code: 50,
    }
    assert StockBalance.objects.get(warehouse=sz01, item=n95).quantity == 400


def test_leadership_may_not_record_a_donation(client, leader):
    login(client, leader)
    assert client.get(url("donation_new")).status_code == 403


def test_the_public_page_works_anonymously_and_keeps_private_data_out(
    in_english, office, leader, sz01, n95, to_lanzhou, traced
):
    to_lanzhou.contact = "联系人王五"
    to_lanzhou.phone = "13800001111"
    to_lanzhou.save()
    person = donate(office, sz01, [(n95, 20)], donor="张三丰", kind="person", public=True)
    donate(office, sz01, [(n95, 30)], donor="不愿公开的公司", public=False)
    dispatched_batch(office, leader, sz01, to_lanzhou, [gift(person, n95, 20)])
    response = in_english.get(url("public_donations"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "某慈善基金会" in page
    assert "Individual donor" in page
    assert "张三丰" not in page
    assert "不愿公开的公司" not in page
    assert "13800001111" not in page and "联系人王五" not in page
    for user in (office, leader):
        assert not user.get_full_name() or user.get_full_name() not in page
    assert "Lanzhou" in page and "2020-02-20" in page


def test_the_login_page_links_to_the_public_page(client):
    page = client.get(reverse("login")).content.decode()
    assert url("public_donations") in page
