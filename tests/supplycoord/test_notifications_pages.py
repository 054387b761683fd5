"""The bell, the list, the preferences and the office's gateways, in Chinese and in English,
with their query counts; the API of the list. A user sees and marks only their own."""

import re

import pytest
from django.conf import settings
from django.urls import reverse

from supplycoord.notifications import recipients as to
from supplycoord.notifications.models import Notification, NotificationPreference, WebhookEndpoint
from supplycoord.notifications.services import notify_now
from tests.supplycoord.notify_world import *  # noqa: F403 (fixtures)


def tell(user_q, count=1, *, url="/reports/alerts/", **params):
    for n in range(count):
        notify_now(
            event="alerts_opened",
            recipients=[user_q],
            params={"date": "2026-03-10", "count": n + 1, "kinds": [], **params},
            url=url,
        )


def english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


# --- The bell ---------------------------------------------------------------------------------


def test_every_page_carries_the_bell_without_a_query_of_its_own(client, officer, lanzhou):
    """base.html includes the bell empty; htmx loads its count after the page."""
    client.force_login(officer)
    html = client.get(reverse("exports:list")).content.decode()
    bell = re.search(r'<a href="/notifications/"[^>]*id="bell"[^>]*>', html, flags=re.S)
    assert bell is not None
    assert 'hx-get="/notifications/bell/"' in bell.group(0)
    assert 'hx-trigger="load, every 60s"' in bell.group(0)
    assert "bell-count" not in html


def test_the_bell_counts_the_unread_in_three_queries(
    clock, client, office, officer, django_assert_num_queries
):
    tell(to.office(), 3)
    tell(to.prefecture_officers(officer.prefecture_id), 1)  # someone else's
    Notification.objects.filter(recipient=office).order_by("pk").first().read_at = None
    first = Notification.objects.filter(recipient=office).order_by("pk").first()
    client.force_login(office)
    client.post(reverse("notifications:read", args=[first.pk]))

    # The session, the user, the count.
    with django_assert_num_queries(3):
        response = client.get(reverse("notifications:bell"))
    assert 'data-unread="2"' in response.content.decode()
    assert 'hx-trigger="every 60s"' in response.content.decode()


def test_the_bell_shows_99_plus_beyond_99(clock, client, office):
    tell(to.office(), 100)
    client.force_login(office)
    assert ">99+</span>" in client.get(reverse("notifications:bell")).content.decode()


def test_signed_out_the_bell_stops_polling_and_swaps_nothing(client):
    """Signed out in another tab: htmx's "stop polling" status, with no sign-in page to swap
    into the header."""
    response = client.get(reverse("notifications:bell"))
    assert (response.status_code, response.content) == (286, b"")


# --- The list ---------------------------------------------------------------------------------


@pytest.mark.parametrize("many", [3, 40])
def test_the_list_reads_a_flat_number_of_queries(
    clock, client, office, many, django_assert_max_num_queries
):
    tell(to.office(), many)
    client.force_login(office)
    # Session, user, nav (requests awaiting triage), unread count, page count, page.
    with django_assert_max_num_queries(7):
        response = client.get(reverse("notifications:list"))
    shown = re.findall(r'data-notification="(\d+)"', response.content.decode())
    assert len(shown) == min(many, 30)  # 30 a page


def test_the_list_in_chinese_and_in_english(clock, client, office, lanzhou):
    notify_now(
        event="figures_missing",
        recipients=[to.office()],
        params={
            "place": {"_t": {"zh-hans": "兰州市", "en": "Lanzhou"}},
            "date": "2026-03-10",
            "missing": 1,
            "expected": 26,
            "items": [{"_t": {"zh-hans": "N95口罩", "en": "N95 respirator"}}],
            "cutoff": "16:00",
        },
        url="/inventory/daily/",
    )
    client.force_login(office)
    chinese = client.get(reverse("notifications:list")).content.decode()
    assert '<html lang="zh-hans">' in chinese
    assert "<h1>通知</h1>" in chinese
    assert "兰州市：2026-03-10 的日报未报齐" in chinese
    assert "尚未报送的重点物资（2026-03-10）：1 / 26（N95口罩）。截止时间 16:00。" in chinese
    assert "全部标为已读" in chinese

    english(client)
    text = client.get(reverse("notifications:list")).content.decode()
    assert "<h1>Notifications</h1>" in text
    assert "Lanzhou: figures for 2026-03-10 not complete" in text
    assert "Key items not reported yet for 2026-03-10: 1 of 26 (N95 respirator)." in text
    assert "1 unread" in text and "Mark all read" in text


def test_marking_one_read_and_then_all(clock, client, office):
    tell(to.office(), 3)
    first, second, third = Notification.objects.filter(recipient=office).order_by("pk")
    client.force_login(office)
    english(client)

    response = client.post(
        reverse("notifications:read", args=[second.pk]), {"next": "/notifications/?unread=1"}
    )
    assert response["Location"] == "/notifications/?unread=1"
    unread = client.get(reverse("notifications:list"), {"unread": "1"}).content.decode()
    assert re.findall(r'data-notification="(\d+)"', unread) == [str(third.pk), str(first.pk)]
    assert "2 unread" in unread

    response = client.post(reverse("notifications:read_all"), follow=True)
    assert "2 notifications marked read." in response.content.decode()
    assert not Notification.objects.filter(recipient=office, read_at__isnull=True).exists()
    assert "No unread notifications." in client.get("/notifications/?unread=1").content.decode()


def test_no_one_reads_or_marks_anothers_notifications(clock, client, office, officer):
    tell(to.office(), 1)
    theirs = Notification.objects.get()
    client.force_login(officer)
    assert client.post(reverse("notifications:read", args=[theirs.pk])).status_code == 404
    assert client.get(reverse("notifications:open", args=[theirs.pk])).status_code == 404
    client.post(reverse("notifications:read_all"))
    assert 'data-notification="' not in client.get(reverse("notifications:list")).content.decode()
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_opening_a_notification_marks_it_read_and_follows_its_link(clock, client, office):
    tell(to.office(), 1, url="/allocation/batches/2026-001/")
    tell(to.office(), 1, url="https://elsewhere.example.com/")
    inside, outside = Notification.objects.order_by("pk")
    client.force_login(office)
    response = client.get(reverse("notifications:open", args=[inside.pk]))
    assert response["Location"] == "/allocation/batches/2026-001/"
    inside.refresh_from_db()
    assert inside.read_at is not None
    # A link that leaves the site is not followed.
    response = client.get(reverse("notifications:open", args=[outside.pk]))
    assert response["Location"] == reverse("notifications:list")


# --- Preferences ------------------------------------------------------------------------------


def test_the_preferences_offer_the_kinds_of_the_users_role(client, officer, lanzhou):
    client.force_login(officer)
    english(client)
    html = client.get(reverse("notifications:preferences")).content.decode()
    kinds = re.findall(r'<tr data-kind="([a-z_]+)">', html)
    assert kinds == ["figures_missing", "request_emergency", "request_triaged"]
    assert "Your account has no e-mail address" in html
    # In Chinese, the same page.
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    chinese = client.get(reverse("notifications:preferences")).content.decode()
    assert "<h1>通知设置</h1>" in chinese
    assert "截止前日报未报齐" in chinese


def test_saving_the_preferences(client, officer, lanzhou):
    client.force_login(officer)
    english(client)
    response = client.post(
        reverse("notifications:preferences"),
        {
            "figures_missing__in_app": "on",
            "figures_missing__webhook": "on",
            "request_emergency__digest": "on",
            # request_triaged: nothing ticked, nothing heard.
            "digest_hour": "7",
            "language": "en",
        },
        follow=True,
    )
    assert "Your notification preferences were saved." in response.content.decode()
    saved = {p.kind: p.channels() for p in NotificationPreference.objects.filter(user=officer)}
    assert saved == {
        "figures_missing": {"in_app", "webhook"},
        "request_emergency": {"digest"},
        "request_triaged": set(),
    }
    officer.refresh_from_db()
    assert officer.language == "en" and officer.notification_profile.digest_hour == 7


def test_a_bad_digest_hour_is_refused_and_nothing_saved(client, officer, lanzhou):
    """The form offers 00:00-23:00: 24, -1 or a word is a 400 (as every refused form) with the
    error at the field, and neither the channels, the hour nor the language is saved."""
    client.force_login(officer)
    language = officer.language
    for hour in ("24", "-1", "eight"):
        response = client.post(
            reverse("notifications:preferences"), {"digest_hour": hour, "language": "en"}
        )
        assert response.status_code == 400, hour
        assert 'class="fielderror"' in response.content.decode()
    assert not NotificationPreference.objects.exists()
    officer.refresh_from_db()
    assert officer.language == language
    assert not hasattr(officer, "notification_profile")


# --- The office's gateways --------------------------------------------------------------------


def test_only_the_office_manages_gateways(client, officer, leader, lanzhou):
    for user in (officer, leader):
        client.force_login(user)
        assert client.get(reverse("notifications:webhooks")).status_code == 403


def test_the_office_connects_a_gateway_whose_secret_is_never_shown_again(
    client, office, django_assert_max_num_queries
):
    client.force_login(office)
    english(client)
    short = client.post(
        reverse("notifications:webhooks"),
        {"name": "SMS", "url": "https://sms.example.gov.cn/hook", "secret": "short"},
    )
    assert short.status_code == 400
    assert "at least 16 characters" in short.content.decode()
    no_scheme = client.post(
        reverse("notifications:webhooks"),
        {"name": "SMS", "url": "ftp://sms.example.gov.cn/", "secret": "x" * 20},
    )
    assert no_scheme.status_code == 400
    assert not WebhookEndpoint.objects.exists()

    secret = "a-long-shared-secret-1234"
    response = client.post(
        reverse("notifications:webhooks"),
        {
            "name": "SMS",
            "url": "https://sms.example.gov.cn/hook",
            "secret": secret,
            "kinds": ["request_emergency", "alerts_opened"],
            "active": "on",
        },
        follow=True,
    )
    endpoint = WebhookEndpoint.objects.get()
    assert (endpoint.secret, endpoint.kinds) == (secret, ["request_emergency", "alerts_opened"])
    html = response.content.decode()
    assert secret not in html
    assert "New emergency requests, New alerts" in html

    # Edited with an empty secret: the old one stays.
    edit = reverse("notifications:webhook_edit", args=[endpoint.pk])
    assert secret not in client.get(edit).content.decode()
    client.post(edit, {"name": "SMS 2", "url": "https://sms.example.gov.cn/hook", "secret": ""})
    endpoint.refresh_from_db()
    assert (endpoint.name, endpoint.secret, endpoint.active, endpoint.kinds) == (
        "SMS 2",
        secret,
        False,
        [],
    )
    assert endpoint.history.first().history_user == office

    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    with django_assert_max_num_queries(7):
        chinese = client.get(reverse("notifications:webhooks")).content.decode()
    assert "<h1>消息网关</h1>" in chinese


# --- The API ----------------------------------------------------------------------------------


def test_the_api_lists_marks_and_counts_the_users_own(
    clock, client_for, office, officer, django_assert_max_num_queries
):
    tell(to.office(), 3)
    tell(to.prefecture_officers(officer.prefecture_id), 2)
    api = client_for(office)
    first = Notification.objects.filter(recipient=office).order_by("pk").first()

    with django_assert_max_num_queries(4):
        listed = api.get("/api/v1/notifications/", HTTP_ACCEPT_LANGUAGE="en").json()
    assert listed["count"] == 3
    assert listed["results"][0]["title"] == "New alerts: 3"  # the newest first
    assert {row["read"] for row in listed["results"]} == {False}

    read = api.post(f"/api/v1/notifications/{first.pk}/read/").json()
    assert read["read"] is True
    assert api.get("/api/v1/notifications/unread-count/").json() == {"unread": 2}
    assert api.get("/api/v1/notifications/", {"unread": "true"}).json()["count"] == 2
    assert api.get("/api/v1/notifications/", {"unread": "maybe"}).status_code == 400
    assert api.post("/api/v1/notifications/read-all/").json() == {"marked": 2}

    theirs = Notification.objects.filter(recipient=officer).first()
    assert api.post(f"/api/v1/notifications/{theirs.pk}/read/").status_code == 404
    assert client_for(officer).get("/api/v1/notifications/").json()["count"] == 2
