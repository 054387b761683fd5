"""The messaging gateway (outbound webhook) and e-mail: a JSON POST signed with HMAC-SHA256
over the exact body with the endpoint's secret; a failing endpoint retried with exponential
back-off (60, 120, 240 s…) by the Celery task and marked failed after the last attempt; a
delivery whose message was lost queued again by the sweep. The gateway here is a real HTTP
server on 127.0.0.1, answering what each test tells it to."""

import datetime as dt
import hashlib
import hmac
import http.server
import json
import threading

import pytest
import time_machine
from django.core import mail

from supplycoord.notifications import recipients as to
from supplycoord.notifications.models import (
    DeliveryStatus,
    NotificationDelivery,
    NotificationPreference,
    WebhookEndpoint,
)
from supplycoord.notifications.services import notify
from supplycoord.notifications.tasks import (
    notification_deliveries_sweep,
    notification_delivery_send,
)
from tests.supplycoord.notify_world import *  # noqa: F403 (fixtures)
from tests.supplycoord.notify_world import NOW

SECRET = "s3cret-shared-with-the-gateway"


class Gateway:
    """A local HTTP server recording each POST; answers the statuses in `answers` in turn,
    then 200."""

    def __init__(self):
        self.received = []
        self.answers = []
        gateway = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                gateway.received.append((self.headers, body))  # case-insensitive, as HTTP
                status = gateway.answers.pop(0) if gateway.answers else 200
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", "http://127.0.0.1:9/elsewhere")
                self.end_headers()
                self.wfile.write(b"ok" if status < 300 else b"gateway down")

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def gateway():
    server = Gateway()
    yield server
    server.close()


@pytest.fixture
def endpoint(gateway, office):
    return WebhookEndpoint.objects.create(
        name="短信网关", url=gateway.url, secret=SECRET, created_by=office
    )


@pytest.fixture
def office_on_the_gateway(office):
    """The office member chose the gateway (and the bell) for new alerts, in English."""
    office.language = "en"
    office.email = "office@example.gov.cn"
    office.save()
    NotificationPreference.objects.create(
        user=office, kind="alerts_opened", in_app=True, webhook=True
    )
    return office


def alerts_notice():
    notify(
        event="alerts_opened",
        recipients=[to.office()],
        params={"date": "2026-03-10", "count": 3, "kinds": []},
        url="/reports/alerts/",
    )


@pytest.fixture
def traveller():
    with time_machine.travel(NOW, tick=False) as moving:
        yield moving


def test_it_posts_the_notification_signed_with_hmac_sha256_over_the_exact_body(
    traveller, committed, gateway, endpoint, office_on_the_gateway, settings
):
    settings.SUPPLYCOORD = {**settings.SUPPLYCOORD, "SITE_URL": "https://wz.example.gov.cn"}
    with committed():
        alerts_notice()

    ((headers, body),) = gateway.received
    # The gateway checks the signature with the secret it shares, over the bytes it got.
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-SupplyCoord-Signature"] == expected
    assert headers["X-SupplyCoord-Event"] == "alerts_opened"
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    payload = json.loads(body)
    delivery = NotificationDelivery.objects.get()
    assert headers["X-SupplyCoord-Delivery"] == str(delivery.pk) == str(payload["delivery"])
    assert payload["event"] == "alerts_opened"
    assert payload["attempt"] == 1
    assert payload["recipient"]["username"] == "office"
    assert payload["recipient"]["language"] == "en"
    # Worded in the recipient's language, with a link the gateway can send on.
    assert payload["notification"]["title"] == "New alerts: 3"
    assert payload["notification"]["url"] == "https://wz.example.gov.cn/reports/alerts/"
    # A body changed by one byte no longer matches: the signature covers every byte.
    tampered = body.replace(b'"count":3', b'"count":4')
    assert tampered != body
    assert "sha256=" + hmac.new(SECRET.encode(), tampered, hashlib.sha256).hexdigest() != expected

    assert (delivery.status, delivery.attempts, delivery.response_status) == (
        DeliveryStatus.SENT,
        1,
        200,
    )


def test_a_failing_endpoint_is_retried_with_back_off_then_marked_failed(
    traveller, committed, gateway, endpoint, office_on_the_gateway, settings
):
    """Four attempts allowed: failures at T, T+60, T+180 (60 + 120), T+420 (180 + 240); the
    fourth marks it failed. Between them the delivery is not sent again, whoever asks."""
    settings.SUPPLYCOORD = {**settings.SUPPLYCOORD, "NOTIFY_MAX_ATTEMPTS": 4}
    gateway.answers = [500] * 10
    with committed():
        alerts_notice()
    delivery = NotificationDelivery.objects.get()

    waits = []
    for attempt in (1, 2, 3):
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, attempt)
        assert delivery.last_error == "HTTP 500 gateway down"
        wait = delivery.next_attempt_at - delivery.last_attempt_at
        waits.append(int(wait.total_seconds()))
        # Asked again before its time (a duplicate message, an early sweep): nothing is sent.
        notification_delivery_send(delivery.pk)
        assert len(gateway.received) == attempt
        # At its time, the retry queued with the countdown runs.
        traveller.move_to(delivery.next_attempt_at)
        notification_delivery_send(delivery.pk)

    assert waits == [60, 120, 240]
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 4)
    assert len(gateway.received) == 4
    # Failed for good: neither the task nor the sweep sends it again.
    traveller.shift(dt.timedelta(hours=1))
    notification_delivery_send(delivery.pk)
    assert notification_deliveries_sweep() == 0
    assert len(gateway.received) == 4
    # Every retry carries the same delivery id (the gateway can drop a duplicate), its own
    # attempt number, and a signature of its own body.
    for number, (headers, body) in enumerate(gateway.received, start=1):
        assert headers["X-SupplyCoord-Delivery"] == str(delivery.pk)
        assert json.loads(body)["attempt"] == number
        assert headers["X-SupplyCoord-Signature"] == (
            "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        )


def test_an_endpoint_that_recovers_gets_the_message_once(
    traveller, committed, gateway, endpoint, office_on_the_gateway
):
    gateway.answers = [503, 302]  # down, then a redirect (not followed: a failure too)
    with committed():
        alerts_notice()
    delivery = NotificationDelivery.objects.get()
    traveller.shift(dt.timedelta(seconds=60))
    notification_delivery_send(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.last_error.startswith("HTTP 302")
    traveller.shift(dt.timedelta(seconds=120))
    notification_delivery_send(delivery.pk)

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_error) == (
        DeliveryStatus.SENT,
        3,
        "",
    )
    assert len(gateway.received) == 3  # the redirect's target was never asked


def test_an_endpoint_that_does_not_answer_is_retried(
    traveller, committed, office_on_the_gateway, office
):
    # Port 9 (discard) on the loopback: nothing listens, the connection is refused.
    WebhookEndpoint.objects.create(name="down", url="http://127.0.0.1:9/hook", secret=SECRET)
    with committed():
        alerts_notice()
    delivery = NotificationDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 1)
    assert "URLError" in delivery.last_error or "Connection" in delivery.last_error


def test_the_sweep_sends_what_a_lost_message_left_pending(
    traveller,
    committed,
    gateway,
    endpoint,
    office_on_the_gateway,
    django_capture_on_commit_callbacks,
):
    """The notification and its delivery were committed, but the message queueing it was
    lost (a worker died, Redis restarted): the sweep, every 2 minutes, queues deliveries due
    for longer than the grace (60 s) and they go out."""
    # The notification and its delivery are written with the change; the queueing of the
    # delivery (after commit) is dropped.
    with django_capture_on_commit_callbacks(execute=False):
        alerts_notice()
    assert NotificationDelivery.objects.get().status == DeliveryStatus.PENDING
    assert gateway.received == []

    traveller.shift(dt.timedelta(seconds=30))
    assert notification_deliveries_sweep() == 0  # within the grace: left to its message
    traveller.shift(dt.timedelta(seconds=31))
    with committed():
        assert notification_deliveries_sweep() == 1

    assert len(gateway.received) == 1
    assert NotificationDelivery.objects.get().status == DeliveryStatus.SENT


def test_an_endpoint_gets_only_its_kinds_and_an_inactive_one_nothing(
    traveller, committed, gateway, office_on_the_gateway, office
):
    WebhookEndpoint.objects.create(
        name="requests only", url=gateway.url, secret=SECRET, kinds=["request_emergency"]
    )
    WebhookEndpoint.objects.create(name="off", url=gateway.url, secret=SECRET, active=False)
    with committed():
        alerts_notice()
    assert NotificationDelivery.objects.count() == 0
    assert gateway.received == []


def test_e_mail_goes_through_djangos_backend_in_the_recipients_language(
    traveller, committed, office_on_the_gateway, settings
):
    settings.SUPPLYCOORD = {**settings.SUPPLYCOORD, "SITE_URL": "https://wz.example.gov.cn"}
    NotificationPreference.objects.filter(user=office_on_the_gateway).update(
        email=True, webhook=False
    )
    with committed():
        alerts_notice()

    (message,) = mail.outbox
    assert message.to == ["office@example.gov.cn"]
    assert message.subject == "SupplyCoord: New alerts: 3"
    assert "https://wz.example.gov.cn/reports/alerts/" in message.body
    assert "https://wz.example.gov.cn/notifications/preferences/" in message.body
    delivery = NotificationDelivery.objects.get()
    assert (delivery.channel, delivery.status) == ("email", DeliveryStatus.SENT)


def test_a_failing_mail_server_is_retried(traveller, committed, office_on_the_gateway, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    NotificationPreference.objects.filter(user=office_on_the_gateway).update(
        email=True, webhook=False
    )
    with committed():
        alerts_notice()
    delivery = NotificationDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 1)
    assert delivery.last_error.startswith("ConnectionRefusedError")
    assert delivery.next_attempt_at == NOW + dt.timedelta(seconds=60)


def test_a_name_with_a_line_break_still_makes_a_one_line_subject(
    traveller, committed, office_on_the_gateway
):
    """A title is made of names from the data (here a producer's, as an import may bring it,
    with a line break): the e-mail's subject is one line (a header may not break; Django
    refuses such a message, which then failed six times for nothing) and adds no header."""
    NotificationPreference.objects.create(
        user=office_on_the_gateway, kind="production_report_missing", email=True
    )
    with committed():
        notify(
            event="production_report_missing",
            recipients=[to.office()],
            params={
                "producer": "Acme\r\nBcc: spy@example.com",
                "date": "2026-03-10",
                "missing": 1,
                "expected": 2,
                "items": [],
            },
        )
    (message,) = mail.outbox
    assert message.subject == (
        "SupplyCoord: Acme Bcc: spy@example.com: production report for 2026-03-10 missing"
    )
    assert message.bcc == [] and message.message()["Bcc"] is None
    delivery = NotificationDelivery.objects.get()
    assert (delivery.channel, delivery.status) == ("email", DeliveryStatus.SENT)


def test_an_endpoint_switched_off_gets_no_more_retries(
    traveller, committed, gateway, endpoint, office_on_the_gateway
):
    """The office unticks "Active" on a gateway that fails (or that must stop: a wrong
    address, a leaked secret): its pending retries are not posted any more, each is marked
    failed saying why, and the sweep leaves them."""
    gateway.answers = [500]
    with committed():
        alerts_notice()
    delivery = NotificationDelivery.objects.get()
    assert (delivery.status, len(gateway.received)) == (DeliveryStatus.PENDING, 1)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(active=False)

    traveller.move_to(delivery.next_attempt_at)
    notification_delivery_send(delivery.pk)
    assert len(gateway.received) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 1)
    assert delivery.last_error == "endpoint switched off"
    traveller.shift(dt.timedelta(hours=1))
    assert notification_deliveries_sweep() == 0
    assert len(gateway.received) == 1
