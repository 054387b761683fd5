"""Helpers of the notification tests (tests/supplycoord/test_notif*.py): the clock, who was
told what, and the after-commit work run as a commit would run it.

Import with `from tests.supplycoord.notify_world import *` (pytest finds the fixtures where a
test module imports them)."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from supplycoord.notifications.kinds import render
from supplycoord.notifications.models import Notification

__all__ = ["NOW", "TODAY", "clock", "committed", "said", "told"]

TZ = ZoneInfo("Asia/Shanghai")
# A Tuesday, 15:00 in the office: one hour before the 16:00 cut-off.
NOW = dt.datetime(2026, 3, 10, 15, 0, tzinfo=TZ)
TODAY = NOW.date()


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """`with committed():` runs what the block queued for after its commit (the notifications
    and their deliveries), as a real commit would; tests run in a rolled-back transaction."""

    def run():
        return django_capture_on_commit_callbacks(execute=True)

    return run


def told(kind: str) -> dict[str, list[Notification]]:
    """{username: [their notifications of `kind`]}, for every user told of it."""
    found: dict[str, list[Notification]] = {}
    for notification in Notification.objects.filter(kind=kind).select_related("recipient"):
        found.setdefault(notification.recipient.username, []).append(notification)
    return found


def said(notification, language="en") -> tuple[str, str]:
    return render(notification.kind, notification.params, language=language)
