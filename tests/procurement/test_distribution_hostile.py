"""A hostile review of the distribution enterprises (医药流通企业): one test per defect found
(each failed before its fix), then the attacks that were already refused, kept so they stay
refused: every door scoped, bad input a 400 by row and field, nothing half saved, two
simultaneous submissions of one key never a 500, the cut-off to the second (PostgreSQL).

Time is frozen at 2020-02-20 10:00 Shanghai (tests/procurement/conftest.py: NOW)."""

import datetime as dt
import io
import threading

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connections
from django.urls import reverse
from openpyxl import load_workbook

from procurement.distribution_selectors import (
    distribution_completeness,
    reported_item_ids,
)
from procurement.distribution_services import (
    distribution_enterprise_create,
    distribution_enterprise_update,
    distribution_report_submit,
)
from procurement.models import DistributionEnterprise, DistributionReport
from supplycoord.lib.xlsx_import import XLSX_CONTENT_TYPE
from tests.procurement.conftest import NOW, TODAY, TZ, credit_code
from tests.procurement.distribution_fixtures import *  # noqa: F403 (fixtures)
from tests.procurement.distribution_fixtures import figures

API = reverse("api:distribution-reports")
LIST = reverse("procurement:distribution_list")
REPORT = reverse("procurement:distribution_report")
IMPORT = reverse("procurement:distribution_import")
TEMPLATE = reverse("procurement:distribution_import_template")
YESTERDAY = TODAY - dt.timedelta(days=1)


def _row(owner, item="FH001", date=TODAY, **values):
    return {
        "enterprise": owner.credit_code,
        "item": item,
        "date": date.isoformat() if isinstance(date, dt.date) else date,
        **figures(1_000, 400, 2_000, 600),
        **values,
    }


def _detail(enterprise):
    return reverse("procurement:distribution_detail", args=[enterprise.pk])


# --- Defects found, each failed before its fix ----------------------------------------------


@pytest.mark.usefixtures("frozen_time")
def test_an_enterprise_whose_chosen_items_were_all_withdrawn_is_not_asked_for_every_key_item(
    office, lanzhou, dist_a, n95, masks
):
    """Finding 1. An enterprise chose masks only; masks are withdrawn. Before: its empty
    list of *active* chosen items fell back to "every active key item", so it was suddenly
    expected to report N95 (its form, its template and its completeness asked for N95).
    Now: it chose items, none is left, it has nothing to report. An enterprise that chose
    none still reports every active key item: of N95 and masks (both key), N95 only."""
    chose_masks = distribution_enterprise_create(
        user=office,
        name="只报口罩的企业",
        credit_code=credit_code(601),
        prefecture=lanzhou,
        items=[masks],
    )
    chose_none = distribution_enterprise_create(
        user=office, name="全部重点物资", credit_code=credit_code(602), prefecture=lanzhou
    )
    masks.active = False
    masks.save()
    expected = reported_item_ids([chose_masks.pk, chose_none.pk])
    assert expected == {chose_masks.pk: set(), chose_none.pk: {n95.pk}}
    # Its report form asks for nothing; N95 is refused as an item it does not report.
    result = distribution_report_submit(
        user=office,
        enterprise=chose_none,
        date=TODAY,
        rows=[{"item": n95, **figures(1, 1, 1, 1)}],
    )
    assert result.created == 1
    with pytest.raises(Exception, match="does not report|Invalid|invalid") as refused:
        distribution_report_submit(
            user=office,
            enterprise=chose_masks,
            date=TODAY,
            rows=[{"item": n95, **figures(1, 1, 1, 1)}],
        )
    assert [e.field for e in refused.value.errors] == ["item"]


@pytest.mark.usefixtures("frozen_time")
def test_a_reason_longer_than_its_column_is_refused_not_cut_short(client_for, dist_a, enterprise_a):
    """Finding 2. Before: a 5 MB (or a 501-character) reason was accepted with 200 and
    silently cut to its first 500 characters. Now: a 400 on the row's reason, nothing
    changed; exactly 500 characters pass."""
    api = client_for(dist_a)
    api.post(API, [_row(enterprise_a)], format="json")
    for reason in ("x" * 5_000_000, "修" * 501):
        response = api.post(
            API,
            {"rows": [_row(enterprise_a, stock=601)], "reason": reason},
            format="json",
            HTTP_ACCEPT_LANGUAGE="en",
        )
        assert response.status_code == 400
        assert response.json() == {
            "errors": [{"row": 0, "field": "reason", "message": "At most 500 characters, please."}]
        }
        assert DistributionReport.objects.get().stock == 600
    response = api.post(
        API, {"rows": [_row(enterprise_a, stock=601)], "reason": "y" * 500}, format="json"
    )
    assert response.json() == {"created": 0, "updated": 1, "unchanged": 0}
    assert DistributionReport.objects.get().correction_reason == "y" * 500


@pytest.mark.usefixtures("frozen_time")
def test_the_register_list_is_paginated_with_a_flat_query_count(
    client, office, lanzhou, n95, django_assert_max_num_queries
):
    """Finding 3. Before: the register listed every enterprise on one page (120 rows here).
    Now 50 a page (procurement's PAGE_SIZE): 120 = 50 + 50 + 20, page 3 holds E100…E119."""
    for n in range(120):
        distribution_enterprise_create(
            user=office, name=f"E{n:03}", credit_code=credit_code(700 + n), prefecture=lanzhou
        )
    client.force_login(office)
    with django_assert_max_num_queries(16):
        first = client.get(LIST)
    assert first.content.decode().count("data-enterprise=") == 50
    last = client.get(LIST, {"page": "3"}).content.decode()
    assert last.count("data-enterprise=") == 20
    assert "E100" in last and "E099" not in last
    # A search keeps its query in the pager's links.
    # "E1" matches the names E100…E119 (20) and no credit code (they hold no "E").
    searched = client.get(LIST, {"q": "E1"}).content.decode()
    assert searched.count("data-enterprise=") == 20


@pytest.mark.usefixtures("frozen_time")
def test_saving_an_unchanged_register_entry_writes_no_history_row(
    office, enterprise_a, dist_a, dist_b
):
    """Finding 4. Before: saving the register form unchanged wrote a history row (and
    changing only the reporters wrote two: the unchanged entry and the reporters). Now: one
    history row per real change, with who made it."""
    before = enterprise_a.history.count()
    distribution_enterprise_update(
        user=office, enterprise=enterprise_a, name=enterprise_a.name, reporters=[dist_a], items=[]
    )
    assert enterprise_a.history.count() == before
    distribution_enterprise_update(
        user=office, enterprise=enterprise_a, name=enterprise_a.name, reporters=[dist_a, dist_b]
    )
    assert enterprise_a.history.count() == before + 1
    assert enterprise_a.history.latest().history_user == office
    distribution_enterprise_update(user=office, enterprise=enterprise_a, phone="0931-1111111")
    assert enterprise_a.history.count() == before + 2


# --- Scoping: every door ----------------------------------------------------------------------


@pytest.mark.usefixtures("frozen_time")
def test_reporter_a_cannot_reach_enterprise_b_through_any_door(
    client, client_for, dist_a, dist_b, enterprise_a, enterprise_b, n95
):
    distribution_report_submit(
        user=dist_b,
        enterprise=enterprise_b,
        date=TODAY,
        rows=[{"item": n95, **figures(9, 9, 9, 9)}],
    )
    client.force_login(dist_a)
    assert client.get(_detail(enterprise_b)).status_code == 404
    assert client.get(_detail(enterprise_b), {"days": "30"}).status_code == 404
    assert client.get(REPORT, {"enterprise": enterprise_b.pk}).status_code == 404
    post = {"enterprise": enterprise_b.pk, "date": TODAY.isoformat(), "FH001-stock": "1"}
    assert client.post(REPORT, post).status_code == 404
    assert client.get(reverse("procurement:distribution_rollup")).status_code == 403
    assert enterprise_b.name not in client.get(LIST).content.decode()
    # The import template holds A's rows only; B's rows in an upload are refused.
    sheet = load_workbook(io.BytesIO(client.get(TEMPLATE).content)).active
    assert enterprise_b.credit_code not in {c.value for c in sheet["A"]}
    api = client_for(dist_a)
    listed = api.get(API, {"enterprise": enterprise_b.credit_code}).json()
    assert listed["count"] == 0
    assert api.get(reverse("api:distribution-enterprises")).json()["count"] == 1
    response = api.post(API, [_row(enterprise_a), _row(enterprise_b, stock=1)], format="json")
    assert response.status_code == 403
    assert DistributionReport.objects.get().stock == 9  # B's own row, untouched; A's not saved


@pytest.mark.usefixtures("frozen_time")
def test_officers_leadership_and_a_reporter_removed_from_the_enterprise(
    client, client_for, office, officer, outsider, leader, dist_a, enterprise_a, n95
):
    from procurement.distribution_services import distribution_enterprise_assign_reporters

    distribution_report_submit(
        user=dist_a,
        enterprise=enterprise_a,
        date=TODAY,
        rows=[{"item": n95, **figures(1, 1, 1, 1)}],
    )
    # The Tianshui officer: Lanzhou's enterprise is absent everywhere.
    client.force_login(outsider)
    assert client.get(_detail(enterprise_a)).status_code == 404
    assert client_for(outsider).get(API).json()["count"] == 0
    # Officers and leadership read but never write.
    for user in (officer, outsider, leader):
        client.force_login(user)
        assert client.get(REPORT).status_code == 403
        assert client.get(IMPORT).status_code == 403
        assert client.post(reverse("procurement:distribution_new"), {}).status_code == 403
        response = client_for(user).post(API, [_row(enterprise_a, stock=5)], format="json")
        assert response.status_code == 403
    assert DistributionReport.objects.get().stock == 1
    # A reporter removed from the enterprise after signing in loses it at the next request.
    client.force_login(dist_a)
    assert client.get(_detail(enterprise_a)).status_code == 200
    distribution_enterprise_assign_reporters(user=office, enterprise=enterprise_a, reporters=[])
    assert client.get(_detail(enterprise_a)).status_code == 404
    assert client.get(REPORT, {"enterprise": enterprise_a.pk}).status_code == 404
    assert client.get(REPORT).status_code == 200  # "no enterprise to report for"
    response = client_for(dist_a).post(API, [_row(enterprise_a, stock=5)], format="json")
    assert response.status_code == 403


@pytest.mark.usefixtures("frozen_time")
def test_an_inactive_enterprise_takes_no_reports_through_any_door(
    client, client_for, dist_a, enterprise_a
):
    DistributionEnterprise.objects.filter(pk=enterprise_a.pk).update(active=False)
    client.force_login(dist_a)
    assert client.get(_detail(enterprise_a)).status_code == 200  # its history stays readable
    assert client.get(REPORT, {"enterprise": enterprise_a.pk}).status_code == 403
    response = client_for(dist_a).post(API, [_row(enterprise_a)], format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "enterprise"
    assert not DistributionReport.objects.exists()


# --- Bad input --------------------------------------------------------------------------------


@pytest.mark.usefixtures("frozen_time")
@pytest.mark.parametrize(
    "value",
    ["\x00", "12\x00", "1\u202e2", 2**63, 2**70, -1, "1e3", "", None, 1.5, True, [1], {"a": 1}],
)
def test_a_bad_figure_is_a_400_on_its_field_and_nothing_is_saved(
    client_for, dist_a, enterprise_a, value
):
    # Row 0 is good, row 1 carries the bad stock: all or nothing.
    rows = [_row(enterprise_a, item="FH002"), _row(enterprise_a, stock=value)]
    response = client_for(dist_a).post(API, rows, format="json")
    assert response.status_code == 400
    assert [(e["row"], e["field"]) for e in response.json()["errors"]] == [(1, "stock")]
    assert not DistributionReport.objects.exists()


@pytest.mark.usefixtures("frozen_time")
@pytest.mark.parametrize(("value", "stored"), [(" 12 ", 12), ("１２", 12), ("1,200", 1200)])
def test_spaces_full_width_digits_and_commas_are_read_as_the_number(
    client_for, dist_a, enterprise_a, value, stored
):
    response = client_for(dist_a).post(API, [_row(enterprise_a, stock=value)], format="json")
    assert response.status_code == 200
    assert DistributionReport.objects.get().stock == stored


@pytest.mark.usefixtures("frozen_time")
@pytest.mark.parametrize(
    "date", ["2019-02-29", "2021-02-29", "0001-01-01", "1999-12-31", "2020-02-21", "9999-12-31"]
)
def test_impossible_far_past_and_future_dates_are_a_400_on_the_date(
    client_for, office, enterprise_a, date
):
    # 2019 and 2021 are not leap years; the earliest date is 2000-01-01; today 2020-02-20.
    response = client_for(office).post(API, [_row(enterprise_a, date=date)], format="json")
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["date"]


@pytest.mark.usefixtures("frozen_time")
@pytest.mark.parametrize(
    "row",
    [
        {"enterprise": 5, "item": 7, "date": 20200220},
        {"enterprise": ["x"], "item": ["FH001"], "date": ["2020-02-20"]},
        {"enterprise": {"a": 1}, "item": {"b": 2}},
        "a row",
        None,
    ],
)
def test_rows_of_the_wrong_shape_are_a_400_never_a_500(client_for, dist_a, enterprise_a, row):
    response = client_for(dist_a).post(API, [row], format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["row"] == 0


@pytest.mark.usefixtures("frozen_time")
def test_duplicate_rows_and_control_characters_in_a_reason_are_refused(
    client_for, dist_a, enterprise_a
):
    api = client_for(dist_a)
    response = api.post(API, [_row(enterprise_a), _row(enterprise_a, stock=1)], format="json")
    assert response.status_code == 400
    assert [(e["row"], e["field"]) for e in response.json()["errors"]] == [(1, "item")]
    api.post(API, [_row(enterprise_a)], format="json")
    for reason in ("a\x07b", "a\x00b"):
        body = {"rows": [_row(enterprise_a, stock=601)], "reason": reason}
        assert api.post(API, body, format="json").status_code == 400
    assert DistributionReport.objects.get().stock == 600


@pytest.mark.usefixtures("frozen_time")
def test_formula_looking_text_stays_text_in_the_import_template(
    client, office, lanzhou, dist_a, n95
):
    distribution_enterprise_create(
        user=office,
        name='=HYPERLINK("http://evil","x")',
        credit_code=credit_code(603),
        prefecture=lanzhou,
        reporters=[dist_a],
    )
    client.force_login(dist_a)
    sheet = load_workbook(io.BytesIO(client.get(TEMPLATE).content)).active
    cell = sheet.cell(4, 2)
    assert (cell.value, cell.data_type) == ('=HYPERLINK("http://evil","x")', "s")


@pytest.mark.usefixtures("frozen_time")
@pytest.mark.parametrize(
    "content",
    [b"", b"credit code,item\n", b"PK\x03\x04" + b"\x00" * 1024, b"PK" + b"\x00" * (30 << 20)],
    ids=["empty", "csv", "broken-zip", "30MB"],
)
def test_an_import_of_a_file_that_is_not_a_workbook_is_a_400(client, dist_a, enterprise_a, content):
    client.force_login(dist_a)
    upload = SimpleUploadedFile("reports.xlsx", content, content_type=XLSX_CONTENT_TYPE)
    assert client.post(IMPORT, {"file": upload}).status_code == 400
    assert not DistributionReport.objects.exists()


@pytest.mark.usefixtures("frozen_time")
def test_a_formula_cell_in_an_import_saves_nothing(client, dist_a, enterprise_a):
    client.force_login(dist_a)
    workbook = load_workbook(io.BytesIO(client.get(TEMPLATE).content))
    sheet = workbook.active
    for column, value in zip(range(7, 11), ("=1+1", 1, 1, 1), strict=True):
        sheet.cell(4, column).value = value
    for column, value in zip(range(7, 11), (1, 1, 1, 1), strict=True):
        sheet.cell(5, column).value = value
    buffer = io.BytesIO()
    workbook.save(buffer)
    upload = SimpleUploadedFile("r.xlsx", buffer.getvalue(), content_type=XLSX_CONTENT_TYPE)
    response = client.post(IMPORT, {"file": upload})
    assert response.status_code == 400
    assert not DistributionReport.objects.exists()


# --- Half-saved states and concurrency --------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_first_submissions_of_one_key_make_one_row_and_one_history_row(
    office, enterprise_a, dist_a, n95
):
    """Both threads find no row and insert; the loser hits the unique key, is rolled back and
    run once more, when the winner's row exists: its identical figures are `unchanged`."""
    barrier = threading.Barrier(2)
    results = []

    def submit():
        try:
            barrier.wait()
            result = distribution_report_submit(
                user=dist_a,
                enterprise=enterprise_a,
                date=TODAY,
                rows=[{"item": n95, **figures(1, 1, 1, 1)}],
                now=NOW,
            )
            results.append(result.as_dict())
        except Exception as exc:  # noqa: BLE001 (the assertion below shows it)
            results.append(repr(exc))
        finally:
            connections.close_all()

    with time_machine.travel(NOW, tick=False):
        threads = [threading.Thread(target=submit) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sorted(results, key=str) == [
        {"created": 0, "updated": 0, "unchanged": 1},
        {"created": 1, "updated": 0, "unchanged": 0},
    ]
    assert DistributionReport.objects.count() == 1
    assert DistributionReport.history.count() == 1


@pytest.mark.usefixtures("frozen_time")
def test_history_rows_are_written_once_per_real_change(dist_a, enterprise_a, n95):
    def submit(stock, reason=""):
        distribution_report_submit(
            user=dist_a,
            enterprise=enterprise_a,
            date=TODAY,
            rows=[{"item": n95, **figures(1, 1, 1, stock)}],
            reason=reason,
        )

    submit(1)
    submit(1)  # unchanged: nothing written
    submit(2, "盘点")
    submit(2, "盘点")  # unchanged again
    history = DistributionReport.history.order_by("history_id")
    assert list(history.values_list("history_type", "stock")) == [("+", 1), ("~", 2)]


# --- Figures: the cut-off, to the second, in Asia/Shanghai ----------------------------------


@pytest.mark.usefixtures("frozen_time")
def test_the_cutoff_is_16_00_shanghai_to_the_second_and_a_withdrawn_item_stops_counting(
    office, enterprise_a, n95, masks
):
    """Yesterday (19 Feb): N95 first submitted at 16:00:00 (on time: ≤ cut-off), masks at
    16:00:01 (after it) → late. Once masks are withdrawn, the one item left was on time."""
    cutoff = dt.datetime.combine(YESTERDAY, dt.time(16, 0), tzinfo=TZ)  # 08:00 UTC

    def submit(item, at):
        distribution_report_submit(
            user=office,
            enterprise=enterprise_a,
            date=YESTERDAY,
            rows=[{"item": item, **figures(1, 1, 1, 1)}],
            now=at,
        )

    submit(n95, cutoff)
    submit(masks, cutoff + dt.timedelta(seconds=1))
    [row] = distribution_completeness(YESTERDAY).rows
    assert (row.state, row.items_expected, row.items_reported) == ("late", 2, 2)
    masks.active = False
    masks.save()
    [row] = distribution_completeness(YESTERDAY).rows
    assert (row.state, row.items_expected, row.items_reported) == ("on_time", 1, 1)


@pytest.mark.usefixtures("frozen_time")
def test_a_too_long_reason_is_refused_on_the_form_and_at_its_cell_in_the_import(
    client, dist_a, enterprise_a, n95, masks
):
    """Finding 2, the other two doors: the form shows the refusal once, above the grid; the
    import names row 4, column K (the reason). Nothing changes: both items keep stock 1."""
    distribution_report_submit(
        user=dist_a,
        enterprise=enterprise_a,
        date=TODAY,
        rows=[{"item": n95, **figures(1, 1, 1, 1)}, {"item": masks, **figures(1, 1, 1, 1)}],
    )
    client.force_login(dist_a)
    data = {"enterprise": enterprise_a.pk, "date": TODAY.isoformat(), "reason": "r" * 501}
    for code in ("FH001", "FH002"):
        for name in figures(0, 0, 0, 0):
            data[f"{code}-{name}"] = "2"
    response = client.post(REPORT, data)  # pages speak Chinese first
    assert response.status_code == 400
    assert response.content.decode().count("最多500个字符") == 1
    workbook = load_workbook(io.BytesIO(client.get(TEMPLATE).content))
    sheet = workbook.active
    for row in (4, 5):
        for column in range(7, 11):
            sheet.cell(row, column).value = 3
        sheet.cell(row, 11).value = "z" * 600
    buffer = io.BytesIO()
    workbook.save(buffer)
    upload = SimpleUploadedFile("r.xlsx", buffer.getvalue(), content_type=XLSX_CONTENT_TYPE)
    response = client.post(IMPORT, {"file": upload})
    assert response.status_code == 400
    assert "最多500个字符" in response.content.decode()
    assert set(DistributionReport.objects.values_list("stock", flat=True)) == {1}


@pytest.mark.usefixtures("frozen_time")
def test_an_enterprise_page_costs_the_same_queries_with_1_or_60_reports_and_corrections(
    client, office, enterprise_a, n95, masks
):
    """30 days × 2 items = 60 reports, then 5 corrections, against a single report: the
    page's query count does not grow with the rows (each report's submitter is joined)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(office)
    url = f"{_detail(enterprise_a)}?days=30"

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries.captured_queries)

    distribution_report_submit(
        user=office,
        enterprise=enterprise_a,
        date=TODAY,
        rows=[{"item": n95, **figures(1, 1, 1, 1)}],
    )
    few = count()
    for back in range(30):
        day = TODAY - dt.timedelta(days=back)
        distribution_report_submit(
            user=office,
            enterprise=enterprise_a,
            date=day,
            rows=[{"item": item, **figures(2, 2, 2, 2)} for item in (n95, masks)],
            reason="重新盘点",
        )
    assert DistributionReport.objects.count() == 60
    for stock in range(3, 8):
        distribution_report_submit(
            user=office,
            enterprise=enterprise_a,
            date=TODAY,
            rows=[{"item": n95, **figures(2, 2, 2, stock)}],
            reason="再次更正",
        )
    assert count() == few


@pytest.mark.usefixtures("frozen_time")
def test_a_credit_code_taken_between_the_check_and_the_insert_is_a_field_error(
    client, office, lanzhou, enterprise_a, monkeypatch
):
    """Finding 5. Two offices registering the same code at once both pass full_clean's
    uniqueness check; the second's insert met the unique key and answered 500. Simulated by
    skipping the check (as if the other insert committed right after it): now a 400 with the
    error on the credit code, and still one enterprise with that code."""
    monkeypatch.setattr(DistributionEnterprise, "validate_unique", lambda self, exclude=None: None)
    client.force_login(office)
    response = client.post(
        reverse("procurement:distribution_new"),
        {
            "name": "另一家企业",
            "credit_code": enterprise_a.credit_code,
            "prefecture": lanzhou.pk,
            "active": "on",
        },
    )
    assert response.status_code == 400
    assert response.context["form"].errors["credit_code"]
    assert DistributionEnterprise.objects.filter(credit_code=enterprise_a.credit_code).count() == 1
