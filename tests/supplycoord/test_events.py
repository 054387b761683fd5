"""Apps tell the apps to their right about a change through supplycoord.events, explicitly.

No signals and no registered globals (style.md): the writer calls the event's function inside
its transaction, and the settings name the services that react.
"""

import ast
import datetime as dt
from pathlib import Path

import pytest
from django.test import override_settings
from django.urls import reverse

from supplycoord import events

ROOT = Path(__file__).resolve().parents[2]
APPS = ("supplycoord", "inventory", "production", "allocation", "reports")
handled: list = []


def record(*, dates):
    handled.append(sorted(dates))


@pytest.fixture(autouse=True)
def clear_calls():
    handled.clear()


HANDLERS = {"stock_changed": ["tests.supplycoord.test_events.record"]}


@override_settings(SUPPLYCOORD_EVENT_HANDLERS=HANDLERS)
def test_it_calls_the_handlers_the_settings_name_with_the_dates():
    events.stock_changed(dates={dt.date(2020, 2, 3), dt.date(2020, 2, 1)})
    events.batch_moved(dates={dt.date(2020, 2, 1)})  # nobody listens in these settings

    assert handled == [[dt.date(2020, 2, 1), dt.date(2020, 2, 3)]]


@override_settings(SUPPLYCOORD_EVENT_HANDLERS=HANDLERS)
def test_it_calls_nobody_when_no_date_changed():
    events.stock_changed(dates=set())

    assert handled == []


@override_settings(SUPPLYCOORD_EVENT_HANDLERS={"stock_changed": ["reports.handlers.nothing"]})
def test_a_handler_that_does_not_exist_fails_loudly():
    with pytest.raises(ImportError):
        events.stock_changed(dates={dt.date(2020, 2, 1)})


def test_every_handler_in_the_settings_can_be_imported():
    from django.conf import settings

    for event, paths in settings.SUPPLYCOORD_EVENT_HANDLERS.items():
        assert event in events.EVENTS
        assert events._imported(tuple(paths))


def _sources():
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" not in path.parts:
                yield path, path.read_text(encoding="utf-8")


def test_no_app_defines_or_connects_a_signal():
    """Reactions between apps are explicit calls; a Django signal would hide who reacts."""
    offenders = []
    for path, source in _sources():
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.ImportFrom) and node.module == "django.dispatch":
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} imports django.dispatch")
            if isinstance(node, ast.Attribute) and node.attr in {"connect", "send"}:
                owner = ast.unparse(node.value)
                if owner.endswith(("_changed", "_moved", "signal")):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} {owner}.{node.attr}")
    assert offenders == []


def test_no_app_keeps_a_registered_global():
    """`global` in app code is how a module kept a reader another app registered."""
    offenders = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path, source in _sources()
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Global)
    ]
    assert offenders == []


def test_the_production_dashboards_old_address_leads_to_the_report(client, leader):
    client.force_login(leader)

    response = client.get("/production/dashboard/?item=FH001&date=2020-02-10")

    assert response.status_code == 301
    assert response["Location"] == reverse("reports:production_dashboard") + (
        "?item=FH001&date=2020-02-10"
    )
