"""A page shows an action's button exactly when the action would succeed.

For each app, one page with buttons, every role (with an outsider officer of another
prefecture): the button is on the page if and only if doing what it does succeeds. Both
sides ask the same rule of supplycoord.permissions, so they cannot drift apart.
"""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from allocation.models import BatchStatus, Destination, DestinationKind
from allocation.services import batch_approve, batch_create, batch_dispatch
from inventory.models import ReceiptSource, StockEvent, StockEventKind, WarehouseKind
from inventory.services import stock_receive
from production.models import Problem, ProblemCategory, ProblemStatus, Producer
from tests.conftest import PASSWORD
from tests.factories import WarehouseFactory

NOW = dt.datetime(2020, 2, 20, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
ROLES = ("office", "leader", "officer", "outsider", "reporter")


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def users(office, leader, officer, outsider, reporter):
    return {
        "office": office,
        "leader": leader,
        "officer": officer,
        "outsider": outsider,
        "reporter": reporter,
    }


def as_user(client, user):
    client.logout()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def shown_to(client, user, page_url, action_url) -> bool:
    response = as_user(client, user).get(page_url)
    return response.status_code == 200 and action_url in response.text


# --- allocation: the batch page's approve, dispatch and receive ----------------------------


@pytest.fixture
def reserve(office, n95):
    warehouse = WarehouseFactory(code="SZ01")
    stock_receive(
        user=office,
        warehouse=warehouse,
        lines=[(n95, 1000)],
        source=ReceiptSource.PURCHASE,
        occurred_at=NOW - dt.timedelta(days=1),
    )
    return warehouse


@pytest.fixture
def to_lanzhou(lanzhou):
    return Destination.objects.create(
        kind=DestinationKind.PREFECTURE, name_zh="兰州市", prefecture=lanzhou
    )


def draft(office, reserve, to_lanzhou, n95):
    return batch_create(
        user=office,
        source_warehouse=reserve,
        destination=to_lanzhou,
        lines=[{"item": n95, "quantity": 100, "channel": "reserve"}],
    )


def approved(office, leader, reserve, to_lanzhou, n95):
    batch = draft(office, reserve, to_lanzhou, n95)
    return batch_approve(user=leader, batch=batch, expected_version=batch.version)


@pytest.mark.parametrize(
    ("action", "make", "moved_to", "allowed"),
    [
        (
            "approve",
            lambda office, _leader, *rows: draft(office, *rows),
            BatchStatus.APPROVED,
            "leader",
        ),
        ("dispatch", approved, BatchStatus.DISPATCHED, "office"),
    ],
)
def test_a_transition_button_shows_exactly_to_those_whose_transition_succeeds(
    client, users, office, leader, reserve, to_lanzhou, n95, action, make, moved_to, allowed
):
    for role in ROLES:
        batch = make(office, leader, reserve, to_lanzhou, n95)
        action_url = reverse("allocation:batch_action", args=[batch.number, action])
        shown = shown_to(
            client, users[role], reverse("allocation:batch_detail", args=[batch.number]), action_url
        )

        client.post(action_url, {"expected_version": batch.version})
        batch.refresh_from_db()

        assert shown == (batch.status == moved_to), role
        assert shown == (role == allowed), role


def test_the_receive_button_shows_exactly_to_those_whose_receipt_succeeds(
    client, users, office, leader, reserve, to_lanzhou, n95
):
    for role in ROLES:
        batch = draft(office, reserve, to_lanzhou, n95)
        batch = batch_approve(user=leader, batch=batch, expected_version=batch.version)
        batch = batch_dispatch(user=office, batch=batch, expected_version=batch.version)
        line = batch.lines.get()
        action = reverse("allocation:batch_receive", args=[batch.number])
        shown = shown_to(
            client, users[role], reverse("allocation:batch_detail", args=[batch.number]), action
        )

        client.post(
            action,
            {"expected_version": batch.version, f"line-{line.pk}": "100", "note": ""},
        )
        batch.refresh_from_db()

        assert shown == (batch.status == BatchStatus.RECEIVED), role
        assert shown == (role in ("office", "officer")), role


# --- inventory: a stock event's reverse button ------------------------------------------------


def test_the_reverse_button_shows_exactly_to_those_whose_reversal_succeeds(
    client, users, office, lanzhou, n95
):
    lz01 = WarehouseFactory(code="LZ01", kind=WarehouseKind.PREFECTURE, prefecture=lanzhou)
    for role in ROLES:
        receipt = stock_receive(
            user=office,
            warehouse=lz01,
            lines=[(n95, 10)],
            source=ReceiptSource.PURCHASE,
            occurred_at=NOW - dt.timedelta(hours=1),
        )
        action = reverse("inventory:stock_event_reverse", args=[receipt.document_number])
        shown = shown_to(
            client,
            users[role],
            reverse("inventory:stock_event_detail", args=[receipt.document_number]),
            action,
        )

        client.post(action, {"reason": "录入错误"})
        reversed_ = StockEvent.objects.filter(
            kind=StockEventKind.REVERSAL, reverses=receipt
        ).exists()

        assert shown == reversed_, role
        assert shown == (role in ("office", "officer")), role


# --- production: taking a producer's problem in hand ---------------------------------------


def test_the_take_button_shows_exactly_to_those_whose_taking_succeeds(
    client, users, office, lanzhou, reporter
):
    producer = Producer.objects.create(
        name="兰州防护用品厂", credit_code="91350100M000100Y43", prefecture=lanzhou
    )
    producer.reporters.add(reporter)
    for role in ROLES:
        problem = Problem.objects.create(
            producer=producer,
            category=ProblemCategory.LOGISTICS,
            description="运输车辆不足",
            reported_by=office,
            reported_at=NOW,
        )
        page = reverse("production:problem_detail", args=[problem.pk])
        response = as_user(client, users[role]).get(page)
        shown = response.status_code == 200 and 'id="take-form"' in response.text

        client.post(page, {"action": "take"})
        problem.refresh_from_db()

        assert shown == (problem.status == ProblemStatus.IN_PROGRESS), role
        assert shown == (role in ("office", "reporter")), role


# --- reports: the snapshot build button of the province overview ----------------------------


def test_the_build_button_shows_exactly_to_those_whose_build_is_accepted(client, users):
    for role in ROLES:
        response = as_user(client, users[role]).get(reverse("reports:overview"), follow=True)
        shown = response.status_code == 200 and 'id="build-snapshot"' in response.text

        built = client.post(reverse("reports:build"), {"date": "2020-02-20"})

        assert shown == (built.status_code == 302), role
        assert shown == (role == "office"), role
