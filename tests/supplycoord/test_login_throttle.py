"""Login throttling: a username at an address, and an address across usernames (password
spraying), each with its own limit; the address is REMOTE_ADDR unless a proxy is declared."""

import pytest
from axes.models import AccessAttempt
from django.test import RequestFactory

from supplycoord.login_throttle import client_ip_address
from tests.conftest import PASSWORD

LOGIN_URL = "/accounts/login/"
ATTACKER = "203.0.113.9"
COLLEAGUE = "203.0.113.77"
PROXY = "10.0.0.2"


@pytest.fixture(autouse=True)
def _axes_on(settings):
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 5  # a username at an address
    settings.LOGIN_FAILURE_LIMIT_PER_IP = 10  # an address, whatever the usernames


def log_in(client, username, password="wrong-password", **meta):
    return client.post(LOGIN_URL, {"username": username, "password": password}, **meta)


def test_it_locks_out_an_address_that_tries_ten_usernames(client, officer):
    answers = [log_in(client, f"user{n}", REMOTE_ADDR=ATTACKER).status_code for n in range(10)]

    # The tenth failure reaches the address's limit and is answered with the lockout already.
    assert answers == [200] * 9 + [429]
    locked = log_in(client, "officer", PASSWORD, REMOTE_ADDR=ATTACKER)
    elsewhere = log_in(client, "officer", PASSWORD, REMOTE_ADDR=COLLEAGUE)

    assert locked.status_code == 429
    assert elsewhere.status_code == 302


def test_it_locks_a_username_at_an_address_before_the_address(client, officer, office):
    for _ in range(5):
        log_in(client, "officer", REMOTE_ADDR=ATTACKER)

    officer_again = log_in(client, "officer", PASSWORD, REMOTE_ADDR=ATTACKER)
    colleague = log_in(client, "office", PASSWORD, REMOTE_ADDR=ATTACKER)

    assert officer_again.status_code == 429
    # Five failures are the username's limit, not the address's: a colleague behind the same
    # office NAT still signs in.
    assert colleague.status_code == 302


def test_a_successful_login_does_not_clear_the_addresss_count(client, office):
    for n in range(9):
        log_in(client, f"user{n}", REMOTE_ADDR=ATTACKER)

    # The sprayer signs in with an account of its own, then tries one more username.
    assert log_in(client, "office", PASSWORD, REMOTE_ADDR=ATTACKER).status_code == 302
    client.logout()
    log_in(client, "user9", REMOTE_ADDR=ATTACKER)

    assert log_in(client, "office", PASSWORD, REMOTE_ADDR=ATTACKER).status_code == 429


def test_a_successful_login_clears_that_users_own_failures(client, officer):
    for _ in range(4):
        log_in(client, "officer", REMOTE_ADDR=ATTACKER)
    assert log_in(client, "officer", PASSWORD, REMOTE_ADDR=ATTACKER).status_code == 302
    client.logout()

    for _ in range(4):
        log_in(client, "officer", REMOTE_ADDR=ATTACKER)

    assert log_in(client, "officer", PASSWORD, REMOTE_ADDR=ATTACKER).status_code == 302


def test_it_ignores_a_forged_x_forwarded_for_without_a_trusted_proxy(client, officer):
    for n in range(10):
        log_in(client, f"user{n}", REMOTE_ADDR=ATTACKER, HTTP_X_FORWARDED_FOR=f"198.51.100.{n}")

    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {ATTACKER}
    assert log_in(client, "officer", PASSWORD, REMOTE_ADDR=ATTACKER).status_code == 429


def test_it_reads_the_address_from_the_trusted_proxy_header(client, settings, officer):
    settings.TRUSTED_PROXY_HEADER = "X-Forwarded-For"
    settings.TRUSTED_PROXY_COUNT = 1
    for n in range(10):
        log_in(client, f"user{n}", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=ATTACKER)

    locked = log_in(client, "officer", PASSWORD, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=ATTACKER)
    colleague = log_in(
        client, "officer", PASSWORD, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=COLLEAGUE
    )

    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {ATTACKER}
    assert locked.status_code == 429
    # Everyone comes through the same proxy: only the attacker's address is locked.
    assert colleague.status_code == 302


def test_it_counts_hops_from_the_right_so_a_forged_first_entry_does_not_help(
    client, settings, officer
):
    settings.TRUSTED_PROXY_HEADER = "X-Forwarded-For"
    settings.TRUSTED_PROXY_COUNT = 1
    for n in range(10):
        # The proxy appends the address it was reached from to whatever the client sent.
        forged = f"198.51.100.{n}, {ATTACKER}"
        log_in(client, f"user{n}", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forged)

    locked = log_in(
        client, "officer", PASSWORD, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=f"1.2.3.4, {ATTACKER}"
    )

    assert locked.status_code == 429


@pytest.mark.parametrize(
    ("header_value", "count", "expected"),
    [
        ("198.51.100.1, 192.0.2.10", 2, "198.51.100.1"),  # two proxies: second from the right
        ("6.6.6.6, 198.51.100.1, 192.0.2.10", 2, "198.51.100.1"),  # forged first entry
        ("192.0.2.10", 2, PROXY),  # fewer entries than proxies: not through them all
        ("", 1, PROXY),  # no header at all
        ("not-an-address", 1, PROXY),
        ("2001:db8::1", 1, "2001:db8::1"),
    ],
)
def test_it_picks_the_client_address_among_the_hops(settings, header_value, count, expected):
    settings.TRUSTED_PROXY_HEADER = "X-Forwarded-For"
    settings.TRUSTED_PROXY_COUNT = count
    request = RequestFactory().get("/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=header_value)

    assert client_ip_address(request) == expected


def test_it_accepts_another_header_name(settings):
    settings.TRUSTED_PROXY_HEADER = "X-Real-IP"
    settings.TRUSTED_PROXY_COUNT = 1
    request = RequestFactory().get("/", REMOTE_ADDR=PROXY, HTTP_X_REAL_IP="198.51.100.1")

    assert client_ip_address(request) == "198.51.100.1"
