"""Every field of every write endpoint, read from the OpenAPI schema, refuses bad input.

For each operation with a request body and each field in it (also inside `rows` and `lines`),
the field gets a NUL, an impossible time (12:99), a date before SUPPLYCOORD_EARLIEST_DATE
and 10^20 in an otherwise valid body. The answer is never a 5xx and always JSON. NUL and
10^20 are always a 400 that names the field, and nothing is saved; the time and the early
date are a 400 wherever the field is typed (a number, date, moment, choice, UUID, boolean).
A new endpoint is tested as soon as it is in the schema.
"""

import json

import pytest
from django.db import transaction
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from allocation.models import DispatchBatch, RequestEvent, SupplyRequest
from inventory.models import CountyDailyFigure, DailyFigure, StockEvent
from procurement.models import DistributionReport, OrderPayment, PurchaseOrder, ReserveUnit
from production.models import Problem, ProductionReport
from supplycoord.lib.api_input import json_path
from tests.api.write_world import build_world, request_for

SCHEMA = SchemaGenerator().get_schema(request=None, public=True)


def _resolve(schema):
    """Follow $ref, and the allOf/oneOf drf-spectacular wraps enums and nullables in."""
    while True:
        if "$ref" in schema:
            schema = SCHEMA["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
        elif "allOf" in schema:
            schema = schema["allOf"][0]
        elif "oneOf" in schema:
            schema = next(s for s in schema["oneOf"] if "$ref" in s or "enum" in s)
        else:
            return schema


def _fields(schema, prefix=()):
    """(path, schema) of every leaf field; an array contributes its first item."""
    schema = _resolve(schema)
    if schema.get("type") == "array" and "items" in schema:
        items = _resolve(schema["items"])
        if items.get("type") == "object" or "properties" in items or items.get("type") == "array":
            yield from _fields(items, (*prefix, 0))
        else:
            yield (*prefix, 0), items
    elif "properties" in schema:
        for name, field in schema["properties"].items():
            if _resolve(field).get("readOnly"):
                continue
            yield from _fields(field, (*prefix, name))
    else:
        yield prefix, schema


def _typed(schema) -> bool:
    """Whether a value must have a shape (so 12:99 or an early date is wrong whatever it means)."""
    return (
        schema.get("type") in ("integer", "number", "boolean")
        or schema.get("format") in ("date", "date-time", "time", "uuid")
        or "enum" in schema
    )


def _bad_values(schema):
    """(name, value, must_be_400) for one field."""
    fmt = schema.get("format")
    impossible = {"date": "2026-02-30", "date-time": "2026-02-10T12:99"}.get(fmt, "12:99")
    yield "nul", "a\x00b", True
    yield "huge", 10**20, True
    yield "time_12_99", impossible, _typed(schema)
    if fmt in ("date", "date-time"):
        early = "1999-12-31" if fmt == "date" else "1999-12-31T10:00"
        yield "before_earliest", early, True


def _operations():
    for path, methods in SCHEMA["paths"].items():
        for method, operation in methods.items():
            body = operation.get("requestBody")
            if not body:
                continue
            content = body["content"]
            media = "application/json" if "application/json" in content else next(iter(content))
            yield path, method, operation["operationId"], content[media]["schema"]


CASES = [
    pytest.param(
        path,
        method,
        op,
        field_path,
        value,
        must_be_400,
        id=f"{op}-{json_path(field_path) or 'body'}-{kind}",
    )
    for path, method, op, body_schema in _operations()
    for field_path, field_schema in _fields(body_schema)
    for kind, value, must_be_400 in _bad_values(field_schema)
]


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """Set up once for the module, rolled back at its end; each test runs in a savepoint."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield build_world()
        transaction.set_rollback(True)


# Some fields only count for one kind of stock event: give them a body of that kind.
KIND_FOR_FIELD = {
    ("lines", 0, "counted"): "count",
    ("issue_kind",): "issue",
    ("reason",): "adjustment",
}


def _body_for_field(op, body, field_path):
    kind = KIND_FOR_FIELD.get(field_path) if op == "stock_events_create" else None
    if kind == "count":
        body.update(kind="count", lines=[{"item": "FH001", "counted": 5}])
    elif kind == "issue":
        body.update(kind="issue", issue_kind="allocation", lines=[{"item": "FH001", "quantity": 1}])
    elif kind == "adjustment":
        body.update(
            kind="adjustment",
            reason="damaged",
            note="wet",
            lines=[{"item": "FH001", "quantity": -1}],
        )
    return body


def _put(body, field_path, value):
    """`body` with `value` at `field_path` (an index past the end appends an object)."""
    if not field_path:
        return value
    node = body
    for step, next_step in zip(field_path, field_path[1:], strict=False):
        if isinstance(step, int):
            while len(node) <= step:
                node.append({} if not isinstance(next_step, int) else [])
        elif step not in node or not isinstance(node[step], dict | list):
            node[step] = [] if isinstance(next_step, int) else {}
        node = node[step]
    last = field_path[-1]
    if isinstance(last, int):
        while len(node) <= last:
            node.append(None)
    node[last] = value
    return body


def _saved_state():
    return (
        DailyFigure.objects.count(),
        CountyDailyFigure.objects.count(),
        StockEvent.objects.count(),
        DispatchBatch.objects.count(),
        sum(DispatchBatch.objects.values_list("version", flat=True)),
        ProductionReport.objects.count(),
        DistributionReport.objects.count(),
        PurchaseOrder.objects.count(),
        sum(PurchaseOrder.objects.values_list("version", flat=True)),
        OrderPayment.objects.count(),
        ReserveUnit.objects.count(),
        Problem.objects.count(),
        sorted(Problem.objects.values_list("status", flat=True)),
        SupplyRequest.objects.count(),
        sum(SupplyRequest.objects.values_list("version", flat=True)),
        RequestEvent.objects.count(),
    )


@pytest.mark.parametrize(("path", "method", "op", "field_path", "value", "must_be_400"), CASES)
def test_every_write_field_refuses_bad_input(
    world, db, path, method, op, field_path, value, must_be_400
):
    username, arguments, body = request_for(world, op)
    body = _put(_body_for_field(op, body, field_path), field_path, value)
    client = APIClient()
    if op != "auth_token_obtain":
        client.credentials(HTTP_AUTHORIZATION=f"Token {world['tokens'][username]}")
    before = _saved_state()

    response = client.generic(
        method.upper(),
        path.format(**arguments),
        json.dumps(body),
        content_type="application/json",
    )

    assert response.status_code < 500, response.content[:500]
    assert response["Content-Type"].startswith("application/json"), response.content[:200]
    answer = response.json()
    if must_be_400:
        assert response.status_code == 400, answer
        assert _saved_state() == before
        if isinstance(value, int) or "\x00" in str(value):
            # The refusal names the field where the value was put.
            errors = answer["errors"] if isinstance(answer, dict) and "errors" in answer else []
            assert any(e.get("path") == json_path(field_path) for e in errors), answer


def test_it_covers_the_write_endpoints():
    """The schema drives the test: every body-taking operation is in it."""
    operations = {op for _path, _method, op, _schema in _operations()}
    assert {
        "daily_figures_submit",
        "county_figures_submit",
        "stock_events_create",
        "batches_create",
        "batches_receive",
        "production_reports_submit",
        "production_problems_report",
        "requests_create",
        "requests_triage",
        "requests_withdraw",
        "requests_into_batches",
    } <= operations
    assert len(CASES) > 150
