"""The daily digest and the preferences: each user chooses per kind of event the channels that
carry it (the bell, e-mail, the messaging gateway, the daily digest) and the hour of the
digest; a digest goes out once a day, in the chosen hour, with what waited for it."""

import datetime as dt

import pytest
import time_machine
from django.core import mail

from supplycoord.notifications import recipients as to
from supplycoord.notifications.models import (
    Digest,
    Notification,
    NotificationDelivery,
    NotificationPreference,
    NotificationProfile,
    WebhookEndpoint,
)
from supplycoord.notifications.services import notify, notify_now, preferences_save
from supplycoord.notifications.tasks import notification_digests_send
from tests.supplycoord.notify_world import *  # noqa: F403 (fixtures)
from tests.supplycoord.notify_world import TZ

DAY = dt.date(2026, 3, 10)


def at(day, hour, minute=0):
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=TZ)


def alerts_notice(count=1):
    notify(
        event="alerts_opened",
        recipients=[to.office()],
        params={"date": DAY.isoformat(), "count": count, "kinds": []},
        url="/reports/alerts/",
    )


@pytest.fixture
def digest_reader(office):
    """The office member reads new alerts in the morning digest at 08:00, by e-mail."""
    office.email = "office@example.gov.cn"
    office.language = "en"
    office.save()
    preferences_save(
        user=office, choices={"alerts_opened": {"digest"}}, digest_hour=8, language="en"
    )
    return office


def test_the_digest_goes_once_a_day_in_the_chosen_hour(committed, digest_reader):
    with time_machine.travel(at(DAY, 15), tick=False) as clock:
        with committed():
            alerts_notice(2)
            alerts_notice(5)
        # Waiting for the digest, not in the bell, nothing sent yet.
        assert Notification.objects.filter(in_digest=True, in_app=False).count() == 2
        assert mail.outbox == []

        with committed():
            assert notification_digests_send() == 0  # 15:00 is not the chosen hour
        clock.move_to(at(DAY + dt.timedelta(days=1), 7, 45))
        with committed():
            assert notification_digests_send() == 0
        clock.move_to(at(DAY + dt.timedelta(days=1), 8, 0))
        with committed():
            assert notification_digests_send() == 1

        (message,) = mail.outbox
        assert message.subject == "SupplyCoord daily digest of 2026-03-11: 2 notifications"
        assert message.body.count("• New alerts:") == 2
        assert "• New alerts: 2" in message.body and "• New alerts: 5" in message.body

        # Later in the hour the beat runs again, with a new notice waiting: nothing more today.
        clock.move_to(at(DAY + dt.timedelta(days=1), 8, 10))
        with committed():
            alerts_notice(7)
        for minute in (15, 30, 45):
            clock.move_to(at(DAY + dt.timedelta(days=1), 8, minute))
            with committed():
                assert notification_digests_send() == 0
        assert len(mail.outbox) == 1

        # The next morning it carries the one that waited.
        clock.move_to(at(DAY + dt.timedelta(days=2), 8, 0))
        with committed():
            assert notification_digests_send() == 1
    assert len(mail.outbox) == 2
    assert "• New alerts: 7" in mail.outbox[1].body
    assert list(Digest.objects.order_by("date").values_list("date", "count")) == [
        (DAY + dt.timedelta(days=1), 2),
        (DAY + dt.timedelta(days=2), 1),
    ]


def test_without_a_chosen_hour_the_default_hour_applies(committed, office, settings):
    settings.SUPPLYCOORD = {**settings.SUPPLYCOORD, "NOTIFY_DIGEST_DEFAULT_HOUR": 9}
    office.email = "office@example.gov.cn"
    office.save()
    NotificationPreference.objects.create(
        user=office, kind="alerts_opened", in_app=False, digest=True
    )
    with time_machine.travel(at(DAY, 8, 30), tick=False) as clock:
        with committed():
            alerts_notice()
        with committed():
            assert notification_digests_send() == 0
        clock.move_to(at(DAY, 9, 0))
        with committed():
            assert notification_digests_send() == 1
    assert len(mail.outbox) == 1


def test_a_user_without_an_address_gets_the_digest_row_and_no_mail(committed, office):
    NotificationPreference.objects.create(
        user=office, kind="alerts_opened", in_app=False, digest=True
    )
    NotificationProfile.objects.create(user=office, digest_hour=8)
    with time_machine.travel(at(DAY, 8), tick=False):
        with committed():
            alerts_notice()
        with committed():
            assert notification_digests_send() == 1
    assert mail.outbox == [] and NotificationDelivery.objects.count() == 0
    assert Digest.objects.get().count == 1


# --- Preferences respected ------------------------------------------------------------------


def test_by_default_a_notification_goes_to_the_bell_only(clock, committed, office):
    office.email = "office@example.gov.cn"
    office.save()
    WebhookEndpoint.objects.create(name="gw", url="http://127.0.0.1:9/", secret="x" * 16)
    with committed():
        alerts_notice()
    notification = Notification.objects.get()
    assert (notification.in_app, notification.in_digest) == (True, False)
    assert NotificationDelivery.objects.count() == 0 and mail.outbox == []


def test_a_kind_with_every_channel_off_tells_the_user_nothing(clock, committed, office, leader):
    preferences_save(user=office, choices={"alerts_opened": set()}, digest_hour=8, language="")
    with committed():
        notify(
            event="alerts_opened",
            recipients=[to.office(), to.leadership()],
            params={"count": 1},
        )
    assert list(Notification.objects.values_list("recipient__username", flat=True)) == ["leader"]


def test_e_mail_only_keeps_the_bell_quiet(clock, committed, office):
    office.email = "office@example.gov.cn"
    office.save()
    preferences_save(user=office, choices={"alerts_opened": {"email"}}, digest_hour=8, language="")
    with committed():
        alerts_notice()
    assert Notification.objects.get().in_app is False
    assert len(mail.outbox) == 1


def test_the_defaults_are_a_setting(clock, committed, office, settings):
    settings.SUPPLYCOORD = {**settings.SUPPLYCOORD, "NOTIFY_DEFAULT_CHANNELS": ["in_app", "digest"]}
    with committed():
        alerts_notice()
    notification = Notification.objects.get()
    assert (notification.in_app, notification.in_digest) == (True, True)


def test_preferences_are_saved_with_their_history(office):
    preferences_save(
        user=office, choices={"alerts_opened": {"in_app", "email"}}, digest_hour=7, language="en"
    )
    preferences_save(
        user=office, choices={"alerts_opened": {"email"}}, digest_hour=7, language="en"
    )
    pref = NotificationPreference.objects.get(user=office)
    assert pref.channels() == {"email"}
    assert pref.history.count() == 2
    assert NotificationProfile.objects.get(user=office).digest_hour == 7
    office.refresh_from_db()
    assert office.language == "en"
    with pytest.raises(ValueError):
        preferences_save(user=office, choices={"no_such_kind": set()}, digest_hour=7, language="")


def test_an_officer_of_another_prefecture_is_left_out_whoever_the_event_names(
    clock, lanzhou, tianshui, officer, outsider, lead, county_officer, office
):
    """The scope is the core's last word: an event of Lanzhou that names Tianshui's officers
    (a mistake at a call site) still reaches none of them; nor a county officer an event of
    the prefecture as a whole."""
    told = notify_now(
        event="figures_missing",
        recipients=[
            to.prefecture_officers(lanzhou.pk),
            to.prefecture_officers(tianshui.pk),
            to.county_officers(county_officer.county_id),
            to.office(),
        ],
        params={},
        prefecture_id=lanzhou.pk,
    )
    assert sorted(n.recipient.username for n in told) == ["office", "officer"]
    told = notify_now(
        event="figures_missing",
        recipients=[to.county_officers(county_officer.county_id)],
        params={},
        prefecture_id=lanzhou.pk,
        county_id=county_officer.county_id,
    )
    assert [n.recipient.username for n in told] == ["county_officer"]


def test_an_inactive_user_is_told_nothing(clock, office):
    office.is_active = False
    office.save()
    assert notify_now(event="alerts_opened", recipients=[to.office()], params={}) == []


def test_an_unknown_kind_is_a_programming_error(office):
    with pytest.raises(ValueError):
        notify(event="no_such_kind", recipients=[to.office()])
