"""The bulk-rows pipeline itself (supplycoord.bulk, supplycoord.lib.xlsx_import.EntryImport).

A third entry kind, declared only here over an existing model, gets every door from its
declaration alone: validation, per-row errors, all-or-nothing save, the counts, the API's
error shape and the Excel template and import. The two real kinds answer the same mistake
the same way at every door. A bad row among many leaves nothing half saved.
"""

import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation
from django.utils.translation import gettext_lazy
from openpyxl import load_workbook
from rest_framework.test import APIRequestFactory, force_authenticate

from inventory.imports import DAILY_IMPORT
from inventory.models import DailyFigure
from production.imports import REPORT_IMPORT
from production.models import ProductionReport
from supplycoord.bulk import (
    BulkRowsView,
    EntryKind,
    Field,
    RowsInvalid,
    RowsOutOfScope,
    bulk_upsert,
    rows_submit,
    stored_row_serializer,
    stored_row_values,
)
from supplycoord.lib.xlsx_import import EntryImport, ImportInvalid
from supplycoord.models import Prefecture
from supplycoord.permissions import can_report_for_prefecture
from tests.factories import DailyFigureFactory, ItemFactory
from tests.production.conftest import (  # noqa: F401 (fixtures)
    VALID_CODES,
    held_warehouse,
    other_producer,
    other_reporting_producer,
    producer,
    reporting_producer,
)

NOW = dt.datetime(2020, 3, 10, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
TODAY = NOW.date()
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(autouse=True)
def _frozen_and_english():
    with time_machine.travel(NOW, tick=False), translation.override("en"):
        yield


# --- A third kind, declared here only -----------------------------------------------------


class StockCountsInvalid(RowsInvalid): ...


class StockCountsOutOfScope(RowsOutOfScope): ...


class StockCountsKind(EntryKind):
    """A prefecture's stock and demand only: two of the daily figures' five columns, the
    others left as they are (0 on a first count)."""

    model = DailyFigure
    owner, owner_model = "prefecture", Prefecture
    fields = (Field("stock", gettext_lazy("Stock")), Field("demand", gettext_lazy("Demand")))
    invalid, out_of_scope = StockCountsInvalid, StockCountsOutOfScope

    def messages(self):
        return {
            "unknown_owner": "Unknown prefecture.",
            "inactive_owner": "Inactive prefecture.",
            "duplicate": "Same as row %(row)s.",
            "api_out_of_scope": "Not your prefecture.",
        }

    def may_write(self, user, owner):
        return can_report_for_prefecture(user, owner)

    def new_row(self, **kwargs):
        row = super().new_row(**kwargs)
        row.received = row.consumption = row.expected_arrivals_3d = 0
        row.on_time = True
        return row

    def save(self, *, user, created, updated, now):
        bulk_upsert(self, user=user, created=created, updated=updated, now=now)
        return []


STOCK_COUNTS = StockCountsKind()


class StockCountsImport(EntryImport):
    kind = STOCK_COUNTS
    title = "Stock counts"
    owner_label = gettext_lazy("Prefecture code")


STOCK_COUNTS_IMPORT = StockCountsImport()


StockCountSerializer = stored_row_serializer(STOCK_COUNTS, "StockCount", doc="A stock count.")


class StockCountsView(BulkRowsView):
    kind = STOCK_COUNTS
    serializer_class = StockCountSerializer

    def get_queryset(self):
        return DailyFigure.objects.order_by("pk").values(*stored_row_values(StockCountSerializer))


def _api(user, body=None):
    factory = APIRequestFactory()
    if body is None:
        request = factory.get("/stock-counts/")
    else:
        request = factory.post("/stock-counts/", body, format="json")
    force_authenticate(request, user=user)
    return StockCountsView.as_view()(request)


def _count(item="FH001", **changes):
    return {"prefecture": "620100", "item": item, "date": "2020-03-10", **changes}


@pytest.fixture
def masks(db):
    return ItemFactory(code="FH002", name_en="Surgical mask", is_key=True)


@pytest.fixture
def key_n95(n95):
    n95.is_key = True
    n95.save()
    return n95


def test_a_third_kind_checks_every_row_and_saves_none_when_one_is_wrong(officer, n95, masks):
    rows = [
        _count(stock=10, demand=3),  # fine
        _count(item="FH002", stock="1.5", demand=-1),  # two errors
        _count(item="ZZ999", stock=1, demand=1),  # unknown item
        _count(stock=11, demand=3),  # the same key as row 0
    ]

    with pytest.raises(StockCountsInvalid) as caught:
        rows_submit(STOCK_COUNTS, user=officer, rows=rows)

    assert [e.as_dict() for e in caught.value.errors] == [
        {"row": 1, "field": "demand", "message": "Must be zero or more."},
        {"row": 1, "field": "stock", "message": "Enter a whole number."},
        {"row": 2, "field": "item", "message": "Unknown item code."},
        {"row": 3, "field": "item", "message": "Same as row 0."},
    ]
    assert not DailyFigure.objects.exists()


def test_a_third_kind_counts_created_updated_unchanged_and_keeps_the_other_columns(
    officer, lanzhou, n95, masks
):
    # The daily figures reported FH001 with 5 received; the stock count only corrects stock.
    DailyFigureFactory(prefecture=lanzhou, item=n95, date=TODAY, stock=100, received=5, demand=3)

    first = rows_submit(
        STOCK_COUNTS,
        user=officer,
        rows=[_count(stock=90, demand=3), _count(item="FH002", stock=7, demand=2)],
    )
    again = rows_submit(
        STOCK_COUNTS,
        user=officer,
        rows=[_count(stock=90, demand=3), _count(item="FH002", stock=8, demand=2)],
    )

    assert first.as_dict() == {"created": 1, "updated": 1, "unchanged": 0}
    assert again.as_dict() == {"created": 0, "updated": 1, "unchanged": 1}
    n95_row = DailyFigure.objects.get(item=n95)
    assert (n95_row.stock, n95_row.received, n95_row.demand) == (90, 5, 3)
    masks_row = DailyFigure.objects.get(item=masks)
    assert (masks_row.stock, masks_row.received, masks_row.submitted_by) == (8, 0, officer)
    assert masks_row.history.count() == 2  # created, then corrected: each audited


def test_a_third_kind_answers_the_api_in_the_one_error_shape(officer, n95, tianshui):
    ok = _api(officer, [_count(stock=1, demand=1)])
    wrong = _api(officer, {"rows": [_count(), _count(date="2020-03-09", stock="x", demand=2)]})
    control = _api(officer, {"rows": [_count(stock=1, demand=1)], "reason": "a\x07b"})
    other = _count(prefecture="620500", stock=1, demand=1)
    theirs = _api(officer, [_count(stock=1, demand=1), other])

    assert (ok.status_code, ok.data) == (200, {"created": 1, "updated": 0, "unchanged": 0})
    assert wrong.status_code == 400
    assert wrong.data == {
        "errors": [
            {"row": 0, "field": "demand", "message": "This field is required."},
            {"row": 0, "field": "stock", "message": "This field is required."},
            {"row": 1, "field": "stock", "message": "Enter a whole number."},
        ]
    }
    # The JSON parser's guard refuses the control character before the pipeline, with the
    # body's path beside the same row/field/message.
    assert control.status_code == 400
    assert control.data == {
        "errors": [
            {
                "row": None,
                "field": "reason",
                "path": "reason",
                "message": "The text holds an invisible control character (U+0007); remove it "
                "and try again.",
            }
        ]
    }
    assert (theirs.status_code, theirs.data) == (
        403,
        {"detail": "Not your prefecture.", "rows": [1]},
    )
    listed = _api(officer).data["results"]
    assert [(r["prefecture"], r["item"], r["stock"], r["demand"]) for r in listed] == [
        ("620100", "FH001", 1, 1)
    ]


def test_a_third_kind_has_an_excel_template_and_import_from_its_declaration(
    office, lanzhou, key_n95, masks
):
    DailyFigureFactory(prefecture=lanzhou, item=key_n95, date=TODAY, stock=40, demand=4)

    content = STOCK_COUNTS_IMPORT.template(user=office, date=TODAY, owner=lanzhou)

    workbook = load_workbook(io.BytesIO(content))
    ws = workbook.worksheets[0]
    assert ws.title == "Stock counts"
    # Row 1 heading, row 2 hint, row 3 the header: the kind's fields after the date column.
    assert [c.value for c in ws[3]] == [
        "Prefecture code",
        "Prefecture",
        "Item code",
        "Item",
        "Unit",
        "Date",
        "Stock",
        "Demand",
        "Reason for correction",
    ]
    # One line per key item of the prefecture, the day's stored figures filled in.
    lines = [[c.value for c in row] for row in ws.iter_rows(min_row=4)]
    assert [(line[0], line[2], line[5].date()) for line in lines] == [
        ("620100", "FH001", TODAY),
        ("620100", "FH002", TODAY),
    ]
    assert (ws["G4"].value, ws["H4"].value, ws["G5"].value) == (40, 4, None)
    assert str(ws.data_validations.dataValidation[0].sqref) == "G4:H5"
    assert STOCK_COUNTS_IMPORT.template_filename(date=TODAY, owner=lanzhou) == (
        f"stock-counts-{lanzhou.name}-2020-03-10.xlsx"
    )

    ws["G5"], ws["H5"] = 12, 2  # the masks, counted
    ws["G4"] = 41  # the N95s, recounted today: no reason needed
    buffer = io.BytesIO()
    workbook.save(buffer)
    result = STOCK_COUNTS_IMPORT.submit(
        SimpleUploadedFile("counts.xlsx", buffer.getvalue(), content_type=XLSX), user=office
    )

    assert (result.rows, result.skipped) == (2, 0)
    assert result.submitted.as_dict() == {"created": 1, "updated": 1, "unchanged": 0}
    assert DailyFigure.objects.get(item=masks).stock == 12
    assert DailyFigure.objects.get(item=key_n95).stock == 41

    ws["H5"] = -1
    ws["B4"] = "ignored: a reference cell"
    buffer = io.BytesIO()
    workbook.save(buffer)
    with pytest.raises(ImportInvalid) as caught:
        STOCK_COUNTS_IMPORT.submit(
            SimpleUploadedFile("counts.xlsx", buffer.getvalue(), content_type=XLSX), user=office
        )
    [problem] = caught.value.problems
    assert (problem.row, problem.column, problem.header, problem.message) == (
        5,
        "H",
        "Demand",
        "Must be zero or more.",
    )
    assert DailyFigure.objects.get(item=masks).demand == 2  # nothing of that file saved


def test_a_third_kinds_import_refuses_rows_of_another_owner_at_their_cell(
    officer, lanzhou, tianshui, key_n95
):
    content = STOCK_COUNTS_IMPORT.template(user=officer, date=TODAY, owner=lanzhou)
    workbook = load_workbook(io.BytesIO(content))
    ws = workbook.worksheets[0]
    ws["G4"], ws["H4"] = 1, 1
    ws.append(["620500", "", "FH001", "", "", TODAY, 1, 1])  # row 5: Tianshui's
    buffer = io.BytesIO()
    workbook.save(buffer)

    with pytest.raises(ImportInvalid) as caught:
        STOCK_COUNTS_IMPORT.submit(
            SimpleUploadedFile("counts.xlsx", buffer.getvalue(), content_type=XLSX), user=officer
        )

    [problem] = caught.value.problems
    assert (problem.row, problem.column, problem.message) == (
        5,
        "A",
        "You may not import rows for 620500.",
    )
    assert not DailyFigure.objects.exists()


# --- The two real kinds answer the same mistake the same way --------------------------------


def _daily(**changes):
    values = {
        "prefecture": "620100",
        "item": "FH001",
        "date": "2020-03-10",
        "stock": 10,
        "received": 0,
        "consumption": 0,
        "demand": 0,
        "expected_arrivals_3d": 0,
    }
    return {**values, **changes}


def _report(**changes):
    values = {
        "producer": VALID_CODES[0],
        "item": "FH001",
        "date": "2020-03-10",
        "output": 10,
        "factory_stock": 5,
    }
    return {**values, **changes}


REAL_KINDS = {
    # kind: (API URL, user fixture, a row maker, the figure to break, an owner not the user's)
    "daily": ("/api/v1/daily-figures/", "officer", _daily, "stock", "620500"),
    "reports": ("/api/v1/production-reports/", "reporter", _report, "output", VALID_CODES[1]),
}


@pytest.fixture(params=sorted(REAL_KINDS))
def real_kind(request, client_for, lanzhou, tianshui):
    url, role, make, figure, theirs = REAL_KINDS[request.param]
    request.getfixturevalue("other_producer")
    user = request.getfixturevalue(role)
    return {
        "name": request.param,
        "url": url,
        "client": client_for(user),
        "user": user,
        "row": make,
        "figure": figure,
        "owner": "prefecture" if request.param == "daily" else "producer",
        "theirs": theirs,
        "model": DailyFigure if request.param == "daily" else ProductionReport,
        "import": DAILY_IMPORT if request.param == "daily" else REPORT_IMPORT,
        "producer": request.getfixturevalue("reporting_producer"),
    }


def _post(kind, body):
    return kind["client"].post(kind["url"], body, format="json", HTTP_ACCEPT_LANGUAGE="en")


def test_both_kinds_refuse_a_bad_number_and_a_control_character_with_the_same_errors(
    real_kind,
):
    row = real_kind["row"]
    body = {
        "rows": [row(), row(item="FH001", date="2020-03-09", **{real_kind["figure"]: "12.5"})],
        "reason": "recount\x1b",
    }

    response = _post(real_kind, body)

    assert response.status_code == 400
    assert response.json() == {
        "errors": [
            {
                "row": None,
                "field": "reason",
                "path": "reason",
                "message": "The text holds an invisible control character (U+001B); remove it "
                "and try again.",
            }
        ]
    }
    body["reason"] = "recount"

    response = _post(real_kind, body)

    assert response.status_code == 400
    assert response.json() == {
        "errors": [{"row": 1, "field": real_kind["figure"], "message": "Enter a whole number."}]
    }
    assert not real_kind["model"].objects.exists()


def test_both_kinds_name_an_unknown_owner_at_its_field_and_refuse_another_owner_with_403(
    real_kind,
):
    row, owner = real_kind["row"], real_kind["owner"]

    unknown = _post(real_kind, [row(), row(**{owner: "X0"})])
    theirs = _post(real_kind, [row(), row(), row(**{owner: real_kind["theirs"]})])

    assert unknown.status_code == 400
    [error] = unknown.json()["errors"]
    assert (error["row"], error["field"]) == (1, owner)
    assert error["message"] == real_kind["import"].kind.messages()["unknown_owner"]
    assert theirs.status_code == 403
    assert theirs.json() == {
        "detail": real_kind["import"].kind.messages()["api_out_of_scope"],
        "rows": [2],
    }
    assert not real_kind["model"].objects.exists()


def _filled_template(kind):
    """The kind's template for the kind's user, its first line filled in."""
    entry = kind["import"]
    content = entry.template(user=kind["user"], date=TODAY, owner=kind["user"].prefecture)
    workbook = load_workbook(io.BytesIO(content))
    ws = workbook.worksheets[0]
    first = entry.header_row + 1
    columns = {key: index for index, (key, *_rest) in enumerate(entry.columns(), start=1)}
    for field in entry.kind.fields:
        if field.required:
            ws.cell(first, columns[field.name]).value = 3
    return workbook, ws, first, columns


def _import(kind, workbook, **kwargs):
    buffer = io.BytesIO()
    workbook.save(buffer)
    upload = SimpleUploadedFile("file.xlsx", buffer.getvalue(), content_type=XLSX)
    with pytest.raises(ImportInvalid) as caught:
        kind["import"].submit(upload, user=kind["user"], **kwargs)
    return caught.value.problems


def test_both_kinds_imports_say_what_their_apis_say_at_the_cell(real_kind, n95):
    n95.is_key = True
    n95.save()
    workbook, ws, first, columns = _filled_template(real_kind)
    figure, owner = real_kind["figure"], real_kind["owner"]
    ws.cell(first, columns[figure]).value = "12.5"

    [problem] = _import(real_kind, workbook)

    assert (problem.row, problem.column, problem.field, problem.message) == (
        first,
        "G",
        figure,
        "Enter a whole number.",
    )

    ws.cell(first, columns[figure]).value = 3
    ws.cell(first, columns[owner]).value = "X0"

    [problem] = _import(real_kind, workbook)

    assert (problem.row, problem.column, problem.message) == (
        first,
        "A",
        real_kind["import"].kind.messages()["unknown_owner"],
    )

    ws.cell(first, columns[owner]).value = real_kind["theirs"]

    [problem] = _import(real_kind, workbook)

    assert (problem.row, problem.column) == (first, "A")
    assert real_kind["theirs"] in problem.message

    ws.cell(first, columns[owner]).value = real_kind["row"]()[owner]  # the user's own again

    [problem] = _import(real_kind, workbook, reason="recount\x1b")

    assert (problem.row, problem.field, problem.message) == (
        None,
        "reason",
        "The text holds an invisible control character (U+001B); remove it and try again.",
    )
    assert not real_kind["model"].objects.exists()


# --- Nothing half saved -------------------------------------------------------------------


def test_a_bad_last_row_of_many_leaves_nothing_saved_in_the_database(real_kind):
    """300 good rows (300 items of the day), then one dated tomorrow: PostgreSQL holds none
    of them, nor a history row, and the same 300 sent again alone are all created, not
    corrections of a half-saved first try."""
    items = ItemFactory.create_batch(300)
    if real_kind["name"] == "reports":
        from production.models import ProductionLine

        ProductionLine.objects.bulk_create(
            ProductionLine(producer=real_kind["producer"], item=i, daily_capacity=1) for i in items
        )
    rows = [real_kind["row"](item=item.code) for item in items]

    response = _post(real_kind, [*rows, real_kind["row"](item="FH001", date="2020-03-11")])

    assert response.status_code == 400
    assert response.json()["errors"][0]["row"] == 300
    assert real_kind["model"].objects.count() == 0
    assert real_kind["model"].history.count() == 0

    response = _post(real_kind, rows)

    assert response.json() == {"created": 300, "updated": 0, "unchanged": 0}
    assert real_kind["model"].objects.count() == 300
