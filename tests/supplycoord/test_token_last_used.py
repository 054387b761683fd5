"""API tokens record when they were last used, writing at most once a minute per token."""

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from supplycoord.models import TokenUsage

API_URL = "/api/v1/reference/items/"
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def api_for():
    """An API client with a new token of the user's, never used yet."""

    def make(user):
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
        return api

    return make


def usage_writes(queries):
    return [
        q["sql"]
        for q in queries
        if "supplycoord_tokenusage" in q["sql"] and not q["sql"].lstrip().startswith("SELECT")
    ]


def test_it_records_the_first_use(officer, api_for):
    api = api_for(officer)

    with time_machine.travel(T0, tick=False):
        assert api.get(API_URL).status_code == 200

    token = Token.objects.get(user=officer)
    assert TokenUsage.objects.get(token=token).last_used_at == T0


def test_it_does_not_write_again_within_a_minute(officer, api_for):
    api = api_for(officer)
    with time_machine.travel(T0, tick=False):
        api.get(API_URL)

    with (
        time_machine.travel(T0 + dt.timedelta(seconds=59), tick=False),
        CaptureQueriesContext(connection) as queries,
    ):
        assert api.get(API_URL).status_code == 200

    assert usage_writes(queries.captured_queries) == []
    assert TokenUsage.objects.get().last_used_at == T0


def test_it_records_a_use_again_after_a_minute(officer, api_for):
    api = api_for(officer)
    with time_machine.travel(T0, tick=False):
        api.get(API_URL)

    later = T0 + dt.timedelta(minutes=1)
    with time_machine.travel(later, tick=False):
        assert api.get(API_URL).status_code == 200

    assert TokenUsage.objects.get().last_used_at == later


def test_it_keeps_one_row_per_token(officer, office, api_for):
    with time_machine.travel(T0, tick=False):
        api_for(officer).get(API_URL)
        api_for(office).get(API_URL)

    assert TokenUsage.objects.count() == 2


def test_it_records_nothing_for_a_session_or_a_refused_token(client, officer):
    client.force_login(officer)
    client.get(API_URL)
    api_client = APIClient()
    api_client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)

    assert api_client.get(API_URL).status_code == 401
    assert not TokenUsage.objects.exists()


def test_it_refuses_the_token_of_an_inactive_user(officer, api_for):
    api = api_for(officer)
    officer.is_active = False
    officer.save()

    assert api.get(API_URL).status_code == 401
    assert not TokenUsage.objects.exists()


def test_it_forgets_the_use_with_the_token(officer, api_for):
    api_for(officer).get(API_URL)

    Token.objects.filter(user=officer).delete()

    assert not TokenUsage.objects.exists()
