"""The reserve ledger pages: warehouses, balances, stock cards, event forms, reversals, vouchers.

Who may do what: the office posts anywhere; leadership reads everything but posts nothing;
an officer reads and posts to their own prefecture's warehouses; an outsider officer meets
another prefecture's warehouse as a 404. Forms save every line or none; stock cards and their
exports show the running balance the services keep.
"""

import csv
import datetime as dt
import io
import uuid
from zoneinfo import ZoneInfo

import openpyxl
import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from inventory import services
from inventory.models import (
    IssueKind,
    ReceiptSource,
    StockBalance,
    StockEvent,
    StockEventKind,
    WarehouseKind,
)
from supplycoord.exports import TITLE_ROWS
from tests.factories import ItemFactory, WarehouseFactory

TZ = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2020, 2, 10, 18, 0, tzinfo=TZ)


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def in_english(client):
    """Assertions on wording read the English UI; the Chinese one is the translators' job."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


@pytest.fixture
def suits(db):
    return ItemFactory(code="FH002", name_zh="医用防护服", name_en="Medical protective suit")


@pytest.fixture
def reserve(db):
    return WarehouseFactory(
        code="SZ01",
        name_zh="省级储备一库",
        name_en="Provincial reserve no. 1",
        kind=WarehouseKind.PROVINCIAL_RESERVE,
        manager="王明",
    )


@pytest.fixture
def lanzhou_store(lanzhou):
    return WarehouseFactory(
        code="LZ01",
        name_zh="兰州市物资库",
        name_en="Lanzhou store",
        kind=WarehouseKind.PREFECTURE,
        prefecture=lanzhou,
    )


def receive(warehouse, lines, *, user, when=None, source=ReceiptSource.PURCHASE):
    return services.stock_receive(
        user=user, warehouse=warehouse, lines=lines, source=source, occurred_at=when
    )


def balance(warehouse, item):
    row = StockBalance.objects.filter(warehouse=warehouse, item=item).first()
    return row.quantity if row else 0


def event_form(kind, lines, *, client_uuid=None, occurred_on="2020-02-10", rows=10, **header):
    """The POST of a new-event form: header fields, then `rows` line rows (the rest blank)."""
    data = {
        "client_uuid": str(client_uuid or uuid.uuid4()),
        "occurred_on": occurred_on,
        "note": "",
        "form-TOTAL_FORMS": str(rows),
        "form-INITIAL_FORMS": "0",
        "form-MIN_NUM_FORMS": "0",
        "form-MAX_NUM_FORMS": "100",
        **header,
    }
    for index, (item_code, quantity) in enumerate(lines):
        data[f"form-{index}-item"] = item_code
        data[f"form-{index}-quantity"] = str(quantity)
    return data


def new_url(warehouse, kind):
    return reverse("inventory:stock_event_new", args=[warehouse.code, kind])


# --- Who sees which warehouse --------------------------------------------------------------


def test_it_lists_every_warehouse_to_the_office_with_items_in_stock(
    client, office, reserve, lanzhou_store, n95, suits
):
    receive(reserve, [(n95, 100), (suits, 5)], user=office)
    client.force_login(office)
    response = client.get(reverse("inventory:warehouse_list"))
    assert response.status_code == 200
    rows = {w.code: w for w in response.context["warehouses"]}
    assert list(rows) == ["LZ01", "SZ01"]
    assert rows["SZ01"].items_in_stock == 2
    assert rows["LZ01"].items_in_stock == 0
    content = response.content.decode()
    assert reverse("inventory:warehouse_detail", args=["SZ01"]) in content
    assert "王明" in content


def test_it_lists_only_their_prefectures_warehouses_to_an_officer(
    client, officer, reserve, lanzhou_store
):
    client.force_login(officer)
    response = client.get(reverse("inventory:warehouse_list"))
    assert [w.code for w in response.context["warehouses"]] == ["LZ01"]


def test_it_hides_another_prefectures_warehouse_from_an_outsider(
    client, outsider, officer, lanzhou_store, n95
):
    event = receive(lanzhou_store, [(n95, 10)], user=officer)
    client.force_login(outsider)
    assert client.get(reverse("inventory:warehouse_list")).context["warehouses"].count() == 0
    for url in (
        reverse("inventory:warehouse_detail", args=["LZ01"]),
        reverse("inventory:stock_card", args=["LZ01", "FH001"]),
        reverse("inventory:stock_card_export", args=["LZ01", "FH001", "csv"]),
        new_url(lanzhou_store, "receipt"),
        reverse("inventory:stock_event_detail", args=[event.document_number]),
        reverse("inventory:stock_event_reverse", args=[event.document_number]),
        reverse("inventory:stock_event_voucher", args=[event.document_number]),
    ):
        assert client.get(url).status_code == 404, url
    response = client.post(new_url(lanzhou_store, "receipt"), event_form("receipt", [("FH001", 5)]))
    assert response.status_code == 404
    assert StockEvent.objects.count() == 1


def test_it_forbids_the_ledger_to_producer_reporters(client, reporter, reserve):
    client.force_login(reporter)
    assert client.get(reverse("inventory:warehouse_list")).status_code == 403
    assert client.get(reverse("inventory:warehouse_detail", args=["SZ01"])).status_code == 403


def test_it_sends_an_anonymous_visitor_to_the_login_page(client, reserve):
    response = client.get(reverse("inventory:warehouse_list"))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


# --- Balances and who may post ------------------------------------------------------------


def test_it_shows_the_balances_and_the_posting_buttons_to_the_office(
    client, office, reserve, n95, suits
):
    receive(reserve, [(n95, 1200), (suits, 30)], user=office)
    client.force_login(office)
    response = client.get(reverse("inventory:warehouse_detail", args=["SZ01"]))
    assert response.status_code == 200
    content = response.content.decode()
    assert [(b.item.code, b.quantity) for b in response.context["balances"]] == [
        ("FH001", 1200),
        ("FH002", 30),
    ]
    assert "1,200" in content
    assert reverse("inventory:stock_card", args=["SZ01", "FH001"]) in content
    for kind in ("receipt", "issue", "adjustment", "count"):
        assert new_url(reserve, kind) in content


def test_it_lets_leadership_read_but_not_post(client, leader, office, reserve, n95):
    event = receive(reserve, [(n95, 100)], user=office)
    client.force_login(leader)
    response = client.get(reverse("inventory:warehouse_detail", args=["SZ01"]))
    assert response.status_code == 200
    assert new_url(reserve, "receipt") not in response.content.decode()
    assert client.get(reverse("inventory:stock_card", args=["SZ01", "FH001"])).status_code == 200
    detail = client.get(reverse("inventory:stock_event_detail", args=[event.document_number]))
    assert detail.status_code == 200
    assert detail.context["can_reverse"] is False
    for kind in ("receipt", "issue", "adjustment", "count"):
        assert client.get(new_url(reserve, kind)).status_code == 403
    response = client.post(new_url(reserve, "receipt"), event_form("receipt", [("FH001", 5)]))
    assert response.status_code == 403
    reverse_url = reverse("inventory:stock_event_reverse", args=[event.document_number])
    assert client.get(reverse_url).status_code == 403
    assert client.post(reverse_url, {"reason": "mistake"}).status_code == 403
    assert StockEvent.objects.count() == 1
    assert balance(reserve, n95) == 100


def test_it_lets_an_officer_post_to_their_prefecture_warehouse(client, officer, lanzhou_store, n95):
    client.force_login(officer)
    assert client.get(new_url(lanzhou_store, "receipt")).status_code == 200
    response = client.post(
        new_url(lanzhou_store, "receipt"),
        event_form("receipt", [("FH001", 40)], source=ReceiptSource.DONATION),
    )
    assert response.status_code == 302
    assert balance(lanzhou_store, n95) == 40


def test_it_refuses_an_officer_the_forms_of_the_provincial_reserve(
    client, officer, reserve, lanzhou
):
    # A provincial reserve kept in the officer's prefecture is still the office's to post to.
    reserve.prefecture = lanzhou
    reserve.save()
    client.force_login(officer)
    assert client.get(reverse("inventory:warehouse_detail", args=["SZ01"])).status_code == 200
    assert client.get(new_url(reserve, "receipt")).status_code == 403


def test_it_answers_404_for_an_unknown_kind_of_event(client, office, reserve):
    client.force_login(office)
    assert client.get(new_url(reserve, "reversal")).status_code == 404
    assert client.get(new_url(reserve, "gift")).status_code == 404


# --- The event forms -----------------------------------------------------------------------


def test_the_receipt_form_offers_ten_blank_rows_and_a_fresh_client_uuid(client, office, reserve):
    client.force_login(office)
    first = client.get(new_url(reserve, "receipt"))
    second = client.get(new_url(reserve, "receipt"))
    assert first.status_code == 200
    assert first.context["formset"].total_form_count() == 10
    uuids = {r.context["header"]["client_uuid"].value() for r in (first, second)}
    assert len(uuids) == 2
    more = client.get(new_url(reserve, "receipt"), {"rows": "30"})
    assert more.context["formset"].total_form_count() == 30


def test_the_receipt_form_saves_several_lines_in_one_event(
    client, in_english, office, reserve, n95, suits
):
    client.force_login(office)
    response = client.post(
        new_url(reserve, "receipt"),
        event_form(
            "receipt",
            [("FH001", "1,200"), ("FH002", "３０")],
            source=ReceiptSource.NATIONAL_ALLOCATION,
            source_document="国家调拨通知 2020-12",
            counterparty="国家卫健委",
            note="第一批",
        ),
    )
    event = StockEvent.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "inventory:stock_event_detail", args=[event.document_number]
    )
    assert event.document_number == "SZ01-202002-0001"
    assert event.kind == StockEventKind.RECEIPT
    assert event.receipt_source == ReceiptSource.NATIONAL_ALLOCATION
    assert event.counterparty == "国家卫健委"
    assert event.recorded_by == office
    assert sorted(event.lines.values_list("item__code", "quantity")) == [
        ("FH001", 1200),
        ("FH002", 30),
    ]
    assert balance(reserve, n95) == 1200 and balance(reserve, suits) == 30
    page = client.get(response["Location"])
    assert "SZ01-202002-0001" in page.content.decode()
    assert any("SZ01-202002-0001" in str(m) for m in page.context["messages"])


def test_a_form_submitted_twice_records_one_event(client, in_english, office, reserve, n95):
    client.force_login(office)
    data = event_form("receipt", [("FH001", 10)], source=ReceiptSource.PURCHASE)
    first = client.post(new_url(reserve, "receipt"), data)
    second = client.post(new_url(reserve, "receipt"), data)
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert StockEvent.objects.count() == 1
    assert balance(reserve, n95) == 10
    messages = [str(m) for m in client.get(second["Location"]).context["messages"]]
    assert any("already saved" in m for m in messages)


def test_an_issue_above_the_balance_names_the_shortfall_and_saves_nothing(
    client, in_english, office, reserve, n95, suits
):
    receive(reserve, [(n95, 200), (suits, 50)], user=office)
    client.force_login(office)
    response = client.post(
        new_url(reserve, "issue"),
        event_form(
            "issue",
            [("FH002", 20), ("FH001", 500)],
            issue_kind=IssueKind.DISPATCH,
            counterparty="兰州市",
        ),
    )
    assert response.status_code == 200
    content = response.content.decode()
    assert "Not enough stock" in content
    shortages = response.context["shortages"]
    assert [(s.item.code, s.requested, s.available) for s in shortages] == [("FH001", 500, 200)]
    assert "FH001" in content and "500" in content and "200" in content
    # The message sits on the short line (the second row), not on the first.
    rows = response.context["formset"].forms
    assert rows[1].errors["quantity"] and not rows[0].errors
    assert StockEvent.objects.filter(kind=StockEventKind.ISSUE).count() == 0
    assert balance(reserve, n95) == 200 and balance(reserve, suits) == 50
    # What was typed stays in the form.
    assert 'value="500"' in content


def test_an_issue_within_the_balance_lowers_it(client, office, reserve, n95):
    receive(reserve, [(n95, 200)], user=office)
    client.force_login(office)
    response = client.post(
        new_url(reserve, "issue"),
        event_form("issue", [("FH001", 150)], issue_kind=IssueKind.DISPATCH, counterparty="天水市"),
    )
    assert response.status_code == 302
    assert balance(reserve, n95) == 50
    issue = StockEvent.objects.get(kind=StockEventKind.ISSUE)
    assert issue.lines.get().quantity == -150


def test_it_shows_each_error_at_its_line_and_field_and_saves_nothing(
    client, in_english, office, reserve, n95, suits
):
    client.force_login(office)
    data = event_form("receipt", [("FH001", 10), ("FH002", "abc"), ("", "5")], source="")
    data["form-3-item"] = "FH001"
    data["form-3-quantity"] = "-3"
    response = client.post(new_url(reserve, "receipt"), data)
    assert response.status_code == 200
    rows = response.context["formset"].forms
    assert not rows[0].errors
    assert "item" in rows[2].errors  # a figure without an item
    assert response.context["header"].errors["source"]
    assert StockEvent.objects.count() == 0

    # With the header and the incomplete row fixed, the service reports the numbers.
    data["source"] = ReceiptSource.PURCHASE
    data["form-2-quantity"] = ""
    response = client.post(new_url(reserve, "receipt"), data)
    rows = response.context["formset"].forms
    assert rows[1].errors["quantity"] == ["Enter a whole number."]
    assert "quantity" in rows[3].errors  # a negative receipt
    assert not rows[0].errors
    assert 'aria-invalid="true"' in response.content.decode() or "field-error" in (
        response.content.decode()
    )
    assert StockEvent.objects.count() == 0
    assert balance(reserve, n95) == 0


def test_it_asks_for_at_least_one_line(client, in_english, office, reserve):
    client.force_login(office)
    response = client.post(
        new_url(reserve, "receipt"), event_form("receipt", [], source=ReceiptSource.PURCHASE)
    )
    assert response.status_code == 200
    assert response.context["page_errors"]
    assert StockEvent.objects.count() == 0


def test_a_count_sets_the_balance_and_records_the_difference(client, office, reserve, n95, suits):
    receive(reserve, [(n95, 100), (suits, 10)], user=office)
    client.force_login(office)
    response = client.post(
        new_url(reserve, "count"), event_form("count", [("FH001", 96), ("FH002", 10)])
    )
    assert response.status_code == 302
    count = StockEvent.objects.get(kind=StockEventKind.COUNT)
    lines = {line.item.code: (line.counted, line.quantity) for line in count.lines.all()}
    assert lines == {"FH001": (96, -4), "FH002": (10, 0)}
    assert balance(reserve, n95) == 96 and balance(reserve, suits) == 10


def test_an_adjustment_takes_signed_changes_and_needs_a_note_for_other(
    client, in_english, office, reserve, n95, suits
):
    receive(reserve, [(n95, 100), (suits, 10)], user=office)
    client.force_login(office)
    response = client.post(
        new_url(reserve, "adjustment"),
        event_form("adjustment", [("FH001", -7), ("FH002", "+2")], reason="other"),
    )
    assert response.status_code == 200
    assert response.context["header"].errors["note"]
    assert StockEvent.objects.count() == 1

    response = client.post(
        new_url(reserve, "adjustment"),
        event_form("adjustment", [("FH001", -7), ("FH002", 2)], reason="damaged"),
    )
    assert response.status_code == 302
    assert balance(reserve, n95) == 93 and balance(reserve, suits) == 12


def test_it_back_dates_within_the_window_and_refuses_older_dates(
    client, in_english, office, reserve, n95
):
    client.force_login(office)
    response = client.post(
        new_url(reserve, "receipt"),
        event_form("receipt", [("FH001", 5)], source="purchase", occurred_on="2020-02-03"),
    )
    assert response.status_code == 302
    event = StockEvent.objects.get()
    assert timezone.localtime(event.occurred_at).date() == dt.date(2020, 2, 3)

    response = client.post(
        new_url(reserve, "receipt"),
        event_form("receipt", [("FH001", 5)], source="purchase", occurred_on="2020-02-02"),
    )
    assert response.status_code == 200
    assert response.context["header"].errors["occurred_on"]
    future = client.post(
        new_url(reserve, "receipt"),
        event_form("receipt", [("FH001", 5)], source="purchase", occurred_on="2020-02-11"),
    )
    assert future.context["header"].errors["occurred_on"]
    assert StockEvent.objects.count() == 1
    # The form says how far back it goes.
    form = client.get(new_url(reserve, "receipt")).content.decode()
    assert 'min="2020-02-03"' in form and 'max="2020-02-10"' in form


# --- Reversal ------------------------------------------------------------------------------


def test_a_reversal_needs_a_reason_and_restores_the_balance(
    client, in_english, office, reserve, n95
):
    receive(reserve, [(n95, 100)], user=office)
    mistake = receive(reserve, [(n95, 50)], user=office)
    client.force_login(office)
    url = reverse("inventory:stock_event_reverse", args=[mistake.document_number])
    confirm = client.get(url)
    assert confirm.status_code == 200
    assert mistake.document_number in confirm.content.decode()

    response = client.post(url, {"reason": "   "})
    assert response.status_code == 200
    assert response.context["form"].errors["reason"]
    assert balance(reserve, n95) == 150

    response = client.post(url, {"reason": "Entered twice by mistake"})
    reversal = StockEvent.objects.get(kind=StockEventKind.REVERSAL)
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "inventory:stock_event_detail", args=[reversal.document_number]
    )
    assert reversal.reverses == mistake
    assert reversal.note == "Entered twice by mistake"
    assert balance(reserve, n95) == 100

    detail = client.get(reverse("inventory:stock_event_detail", args=[mistake.document_number]))
    assert detail.context["reversal"] == reversal
    assert detail.context["can_reverse"] is False
    content = detail.content.decode()
    assert reversal.document_number in content and "Entered twice by mistake" in content
    # A second reversal is refused and changes nothing.
    again = client.post(url, {"reason": "again"})
    assert again.status_code == 302
    assert StockEvent.objects.filter(kind=StockEventKind.REVERSAL).count() == 1
    assert balance(reserve, n95) == 100


def test_a_reversal_that_would_go_negative_is_refused_with_a_message(
    client, in_english, office, reserve, n95
):
    receipt = receive(reserve, [(n95, 100)], user=office)
    services.stock_issue(
        user=office, warehouse=reserve, lines=[(n95, 80)], issue_kind=IssueKind.DISPATCH
    )
    client.force_login(office)
    url = reverse("inventory:stock_event_reverse", args=[receipt.document_number])
    response = client.post(url, {"reason": "wrong warehouse"})
    assert response.status_code == 200
    assert "Not enough stock" in response.content.decode()
    assert balance(reserve, n95) == 20


# --- Voucher -------------------------------------------------------------------------------


def test_the_voucher_shows_the_number_lines_total_and_signature_block(
    client, in_english, office, reserve, n95, suits, lanzhou
):
    receive(reserve, [(n95, 1000), (suits, 100)], user=office)
    issue = services.stock_issue(
        user=office,
        warehouse=reserve,
        lines=[(n95, 600), (suits, 40)],
        issue_kind=IssueKind.DISPATCH,
        counterparty="兰州市卫健委",
        source_document="甘调〔2020〕7号",
    )
    client.force_login(office)
    response = client.get(reverse("inventory:stock_event_voucher", args=[issue.document_number]))
    assert response.status_code == 200
    content = response.content.decode()
    assert issue.document_number in content
    assert "Issue voucher" in content
    assert "兰州市卫健委" in content and "甘调〔2020〕7号" in content
    assert "600" in content and "640" in content  # a line and the total
    for signer in ("Handled by", "Storekeeper", "Reviewed by", "Approved by"):
        assert signer in content
    assert 'id="voucher-signatures"' in content
    assert 'id="print-voucher"' in content
    assert "Gansu medical supply coordination office" in content


def test_the_voucher_title_follows_the_kind(client, in_english, office, reserve, n95):
    receipt = receive(reserve, [(n95, 10)], user=office)
    client.force_login(office)
    response = client.get(reverse("inventory:stock_event_voucher", args=[receipt.document_number]))
    assert response.context["voucher_title"] == "Receipt voucher"


# --- Stock card ----------------------------------------------------------------------------


@pytest.fixture
def history(office, reserve, n95):
    """Five days of N95 in SZ01: +1000 (02-06), −300 (02-07), +200 (02-08), −450 (02-09),
    count 440 (02-10, −10)."""

    def at(day):
        return dt.datetime(2020, 2, day, 10, 0, tzinfo=TZ)

    receive(reserve, [(n95, 1000)], user=office, when=at(6))
    services.stock_issue(
        user=office,
        warehouse=reserve,
        lines=[(n95, 300)],
        issue_kind=IssueKind.DISPATCH,
        counterparty="兰州市",
        occurred_at=at(7),
    )
    receive(reserve, [(n95, 200)], user=office, when=at(8), source=ReceiptSource.DONATION)
    services.stock_issue(
        user=office,
        warehouse=reserve,
        lines=[(n95, 450)],
        issue_kind=IssueKind.TRANSFER_OUT,
        counterparty="天水市",
        occurred_at=at(9),
    )
    services.stock_count(user=office, warehouse=reserve, counts=[(n95, 440)])
    return reserve


def test_the_stock_card_lists_every_event_with_its_running_balance(
    client, in_english, leader, history
):
    client.force_login(leader)
    response = client.get(reverse("inventory:stock_card", args=["SZ01", "FH001"]))
    assert response.status_code == 200
    rows = response.context["rows"]
    assert [line.balance_after for line in rows] == [1000, 700, 900, 450, 440]
    assert response.context["card"].opening == 0
    assert response.context["card"].closing == 440
    content = response.content.decode()
    assert "SZ01-202002-0001" in content and "天水市" in content
    assert reverse("inventory:stock_event_detail", args=["SZ01-202002-0003"]) in content


def test_the_stock_card_filters_by_date_and_kind_keeping_true_balances(client, leader, history):
    client.force_login(leader)
    url = reverse("inventory:stock_card", args=["SZ01", "FH001"])
    response = client.get(url, {"from": "2020-02-07", "to": "2020-02-09"})
    card = response.context["card"]
    assert (card.opening, card.closing) == (1000, 450)
    assert [line.balance_after for line in response.context["rows"]] == [700, 900, 450]

    response = client.get(url, {"kind": "issue"})
    rows = response.context["rows"]
    assert [(line.quantity, line.balance_after) for line in rows] == [(-300, 700), (-450, 450)]
    # The export links keep the filters.
    assert "export/xlsx/?kind=issue" in response.content.decode()

    response = client.get(url, {"from": "2020-02-09", "to": "2020-02-01"})
    assert response.status_code == 200
    assert response.context["filters"].errors


def test_the_stock_card_marks_reversed_events(client, in_english, office, history):
    mistake = StockEvent.objects.get(document_number="SZ01-202002-0003")
    reversal = services.stock_reverse(user=office, event=mistake, reason="duplicate")
    client.force_login(office)
    response = client.get(reverse("inventory:stock_card", args=["SZ01", "FH001"]))
    content = response.content.decode()
    assert f'data-document="{mistake.document_number}" class="reversed"' in content
    assert reversal.document_number in content
    assert response.context["card"].closing == 240


def test_the_stock_card_pages_by_100_lines_with_carried_balances(client, office, reserve, n95):
    for _ in range(130):
        receive(reserve, [(n95, 2)], user=office)
    client.force_login(office)
    url = reverse("inventory:stock_card", args=["SZ01", "FH001"])
    first = client.get(url)
    assert len(first.context["rows"]) == 100
    assert first.context["brought_forward"] == 0
    assert first.context["carried_forward"] == 200
    second = client.get(url, {"page": "2"})
    assert len(second.context["rows"]) == 30
    assert second.context["brought_forward"] == 200
    assert second.context["carried_forward"] == 260


def test_the_stock_card_exports_to_excel_with_the_running_balances(client, leader, history):
    client.force_login(leader)
    response = client.get(reverse("inventory:stock_card_export", args=["SZ01", "FH001", "xlsx"]))
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    rows = list(sheet.iter_rows(values_only=True))[TITLE_ROWS:]
    header, opening, body, closing = rows[0], rows[1], rows[2:-1], rows[-1]
    assert sheet.freeze_panes == f"A{TITLE_ROWS + 2}"
    balance_col = header.index(next(h for h in header if h in ("Balance", "结存", "余额")))
    assert opening[balance_col] == 0
    assert [row[balance_col] for row in body] == [1000, 700, 900, 450, 440]
    assert closing[balance_col] == 440
    documents = [row[1] for row in body]
    assert documents[0] == "SZ01-202002-0001"
    assert isinstance(body[0][0], dt.datetime)
    assert "attachment" in response["Content-Disposition"]


def test_the_stock_card_exports_a_streamed_csv_with_the_page_filters(client, leader, history):
    client.force_login(leader)
    response = client.get(
        reverse("inventory:stock_card", args=["SZ01", "FH001"]),
        {"format": "csv", "from": "2020-02-08"},
    )
    assert response.status_code == 200
    assert response.streaming
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert len(rows) == 1 + 1 + 3 + 1  # header, opening, 3 lines, closing
    assert rows[1][-3] == "700"  # opening balance on 02-08
    assert [row[-3] for row in rows[2:-1]] == ["900", "450", "440"]


# --- Query counts --------------------------------------------------------------------------


def _ledger_of(office, n_warehouses, n_items, n_events):
    """n warehouses holding n items; the first has n_events receipts (the others one)."""
    items = [ItemFactory(code=f"Q{n:03d}") for n in range(n_items)]
    warehouses = [WarehouseFactory(code=f"Q{n:02d}") for n in range(n_warehouses)]
    for index, warehouse in enumerate(warehouses):
        for _ in range(n_events if index == 0 else 1):
            receive(warehouse, [(item, 3) for item in items], user=office)
    return warehouses[0], items[0]


PAGES = [
    ("inventory:warehouse_list", lambda w, i, e: [], {}),
    ("inventory:warehouse_detail", lambda w, i, e: [w.code], {}),
    ("inventory:stock_card", lambda w, i, e: [w.code, i.code], {}),
    ("inventory:stock_card", lambda w, i, e: [w.code, i.code], {"kind": "receipt", "page": "2"}),
    ("inventory:stock_card", lambda w, i, e: [w.code, i.code], {"from": "2020-02-09"}),
    ("inventory:stock_event_detail", lambda w, i, e: [e.document_number], {}),
    ("inventory:stock_event_reverse", lambda w, i, e: [e.document_number], {}),
    ("inventory:stock_event_voucher", lambda w, i, e: [e.document_number], {}),
]


@pytest.mark.parametrize(("url_name", "args", "query"), PAGES)
def test_its_pages_run_the_same_queries_for_a_small_and_a_large_ledger(
    client, office, url_name, args, query
):
    """2 warehouses × 2 items × 2 events, then 6 × 8 with 120 events (two stock card pages)."""
    client.force_login(office)
    warehouse, item = _ledger_of(office, 2, 2, 2)
    event = StockEvent.objects.filter(warehouse=warehouse).order_by("id").last()
    url = reverse(url_name, args=args(warehouse, item, event))
    with CaptureQueriesContext(connection) as small:
        assert client.get(url, query).status_code == 200
    _ledger_of(office, 6, 8, 120)
    event = StockEvent.objects.filter(warehouse=warehouse).order_by("id").last()
    url = reverse(url_name, args=args(warehouse, item, event))
    with CaptureQueriesContext(connection) as large:
        assert client.get(url, query).status_code == 200
    assert len(large) == len(small)
    assert len(small) <= 10


def test_the_receipt_form_runs_the_same_queries_for_a_short_and_a_long_catalogue(
    client, office, reserve
):
    client.force_login(office)
    ItemFactory(code="C001")
    with CaptureQueriesContext(connection) as small:
        assert client.get(new_url(reserve, "receipt")).status_code == 200
    for n in range(2, 40):
        ItemFactory(code=f"C{n:03d}")
    with CaptureQueriesContext(connection) as large:
        assert client.get(new_url(reserve, "receipt")).status_code == 200
    assert len(large) == len(small)


def test_an_adjustment_voucher_shows_signed_changes(
    client, in_english, office, reserve, n95, suits
):
    receive(reserve, [(n95, 100), (suits, 10)], user=office)
    adjustment = services.stock_adjust(
        user=office, warehouse=reserve, lines=[(n95, -7), (suits, 2)], reason="damaged"
    )
    client.force_login(office)
    response = client.get(
        reverse("inventory:stock_event_voucher", args=[adjustment.document_number])
    )
    assert response.context["voucher_title"] == "Adjustment voucher"
    assert [line.shown_quantity for line in response.context["lines"]] == ["−7", "+2"]
    assert response.context["total"] == "−5"
    assert "Damaged" in response.content.decode()


@pytest.mark.parametrize(
    "query",
    [
        {"to": "9999-12-31"},
        {"from": "0001-01-01"},
        {"from": "garbage", "kind": "nope", "to": "9999-12-31"},
    ],
)
def test_it_drops_an_unusable_date_filter_instead_of_failing(client, office, query):
    """Dates at the edge of the calendar are refused as filters, never a 500."""
    from tests.factories import ItemFactory, WarehouseFactory

    WarehouseFactory(code="SZ77")
    ItemFactory(code="FH077")
    client.force_login(office)
    base = "/inventory/warehouses/SZ77/items/FH077/"
    assert client.get(base, query).status_code == 200
    assert client.get(base + "export/csv/", query).status_code == 200
