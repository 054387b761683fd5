"""Requests at three levels (issue 15 §3): 榆中县's county officer asks (page and API) and
follows its request; Lanzhou's officer triages its counties' requests and answers them from
LZ01 (page and API); the office still triages everything; the nav badge counts, for each,
the requests it decides on; Tianshui's officer and another county's officer see nothing."""

import datetime as dt
import re
import uuid

import pytest
from django.conf import settings
from django.urls import reverse

from allocation.models import DispatchBatch, LineDecision, SupplyRequest
from allocation.requests import request_submit, request_triage
from allocation.templatetags.request_nav import requests_awaiting_triage
from tests.allocation.three_level import *  # noqa: F403
from tests.allocation.three_level import NOW

pytestmark = pytest.mark.usefixtures("clock_2026")

API = "/api/v1/requests/"
TODAY = NOW.date()


def detail(number):
    return reverse("allocation:request_detail", args=[number])


def submit(user, claimant, quantity, n95, urgency="urgent"):
    request, _created = request_submit(
        user=user,
        claimant=claimant,
        urgency=urgency,
        needed_by=TODAY + dt.timedelta(days=3),
        justification="发热门诊扩容",
        lines=[{"item": n95, "quantity": quantity}],
    )
    return request


@pytest.fixture
def yuzhong_asked(county_officer, to_yuzhong, n95):
    """榆中县 asks for 300 N95: XQ-2026-001."""
    return submit(county_officer, to_yuzhong, 300, n95)


@pytest.fixture
def qinzhou_officer(to_qinzhou):
    from supplycoord.models import Role
    from tests.factories import UserFactory

    return UserFactory(
        username="qinzhou_officer",
        role=Role.COUNTY_OFFICER,
        prefecture=to_qinzhou.prefecture,
        county=to_qinzhou.county,
    )


# --- A county asks ------------------------------------------------------------------------------


def test_the_county_officer_asks_for_its_county_on_the_page(
    client, county_officer, to_yuzhong, n95
):
    client.force_login(county_officer)
    form = client.get(reverse("allocation:request_new")).context["header"]
    # Its county is the only claimant: chosen already.
    assert list(form.fields["claimant"].queryset) == [to_yuzhong]

    response = client.post(
        reverse("allocation:request_new"),
        {
            "claimant": str(to_yuzhong.pk),
            "urgency": "urgent",
            "needed_by": (TODAY + dt.timedelta(days=3)).isoformat(),
            "justification": "发热门诊扩容",
            "client_uuid": str(uuid.uuid4()),
            "lines-TOTAL_FORMS": "1",
            "lines-INITIAL_FORMS": "0",
            "lines-0-item": n95.code,
            "lines-0-quantity": "300",
        },
    )

    made = SupplyRequest.objects.get()
    assert response.status_code == 302 and response["Location"] == detail(made.number)
    assert made.claimant == to_yuzhong and made.submitted_by == county_officer


def test_the_county_officer_asks_through_the_api_for_its_county_only(
    client_for, county_officer, to_yuzhong, to_gaolan, lanzhou_itself, n95
):
    client = client_for(county_officer)

    def ask(code):
        return client.post(
            API,
            {
                "claimant": code,
                "urgency": "urgent",
                "needed_by": (TODAY + dt.timedelta(days=3)).isoformat(),
                "justification": "发热门诊扩容",
                "lines": [{"item": "FH001", "quantity": 300}],
            },
            format="json",
        )

    answer = ask("620123")
    assert answer.status_code == 201, answer.json()
    assert answer.json()["claimant"]["code"] == "620123"
    # Another county of Lanzhou, or Lanzhou itself: not its to ask for.
    assert ask("620122").status_code == 403
    assert ask("620100").status_code == 403
    assert SupplyRequest.objects.count() == 1
    # The claimants it may ask for: its county.
    claimants = client.get("/api/v1/claimants/").json()["results"]
    assert [c["code"] for c in claimants] == ["620123"]


# --- Lanzhou's officer triages and answers from LZ01 --------------------------------------------


def test_lanzhous_officer_triages_its_countys_request_and_answers_it_from_lz01(
    client, officer, yuzhong_asked, lz01, sz01_2026, n95
):
    client.force_login(officer)
    page = client.get(detail(yuzhong_asked.number))
    assert page.context["triage_form"] is not None
    line = yuzhong_asked.lines.get()

    triaged = client.post(
        reverse("allocation:request_triage", args=[yuzhong_asked.number]),
        {
            "expected_version": yuzhong_asked.version,
            f"line-{line.pk}-decision": LineDecision.ACCEPTED_PART,
            f"line-{line.pk}-accepted_quantity": "250",
            f"line-{line.pk}-reason": "库存有限",
        },
    )
    assert triaged.status_code == 302
    line.refresh_from_db()
    assert (line.decision, line.accepted_quantity, line.decided_by) == (
        LineDecision.ACCEPTED_PART,
        250,
        officer,
    )

    yuzhong_asked.refresh_from_db()
    form = client.get(detail(yuzhong_asked.number)).context["batch_form"]
    # It ships from its own warehouse only, never the province's reserve.
    assert [w.code for w in form.fields["source_warehouse"].queryset] == ["LZ01"]
    batched = client.post(
        reverse("allocation:request_into_batches", args=[yuzhong_asked.number]),
        {
            "expected_version": yuzhong_asked.version,
            "source_warehouse": str(lz01.pk),
            "channel": "reserve",
            "lines": [str(line.pk)],
        },
    )

    batch = DispatchBatch.objects.get()
    assert batched.status_code == 302
    assert batched["Location"] == reverse("allocation:batch_detail", args=[batch.number])
    assert batch.number == "620100-2026-001" and batch.issuing_prefecture.code == "620100"
    assert batch.destination.name_zh == "榆中县"
    assert batch.lines.get().quantity == 250


def test_the_officer_may_not_ship_a_countys_request_from_the_provincial_reserve(
    client, officer, yuzhong_asked, sz01_2026, lz01
):
    line = yuzhong_asked.lines.get()
    request_triage(
        user=officer,
        request=yuzhong_asked,
        expected_version=yuzhong_asked.version,
        decisions=[{"line": line.pk, "decision": LineDecision.ACCEPTED}],
    )
    yuzhong_asked.refresh_from_db()
    client.force_login(officer)

    response = client.post(
        reverse("allocation:request_into_batches", args=[yuzhong_asked.number]),
        {
            "expected_version": yuzhong_asked.version,
            "source_warehouse": str(sz01_2026.pk),
            "channel": "reserve",
            "lines": [str(line.pk)],
        },
    )

    assert response.status_code == 400
    assert list(response.context["batch_form"].errors) == ["source_warehouse"]
    assert not DispatchBatch.objects.exists()


def test_the_officer_triages_and_batches_through_the_api(
    client_for, officer, yuzhong_asked, lz01, sz01_2026
):
    client = client_for(officer)
    line = yuzhong_asked.lines.get()

    triaged = client.post(
        f"{API}{yuzhong_asked.number}/triage/",
        {
            "expected_version": yuzhong_asked.version,
            "decisions": [{"item": "FH001", "decision": "accepted"}],
        },
        format="json",
    )
    assert triaged.status_code == 200, triaged.json()

    refused = client.post(
        f"{API}into-batches/", {"lines": [line.pk], "warehouse": "SZ01"}, format="json"
    )
    assert refused.status_code == 400
    assert [(e["row"], e["field"]) for e in refused.json()["errors"]] == [(None, "warehouse")]

    made = client.post(
        f"{API}into-batches/", {"lines": [line.pk], "warehouse": "LZ01"}, format="json"
    )
    assert made.status_code == 201, made.json()
    assert made.json() == [{"number": "620100-2026-001", "destination": "620123", "version": 1}]


def test_the_office_still_triages_a_countys_request(client_for, office, yuzhong_asked):
    answer = client_for(office).post(
        f"{API}{yuzhong_asked.number}/triage/",
        {
            "expected_version": yuzhong_asked.version,
            "decisions": [{"item": "FH001", "decision": "accepted"}],
        },
        format="json",
    )

    assert answer.status_code == 200, answer.json()


@pytest.fixture
def lanzhou_own_request(officer, lanzhou_itself, n95):
    """兰州市 asks the province itself: the office's to triage, not its own officer's."""
    return submit(officer, lanzhou_itself, 500, n95)


def test_the_officer_may_not_triage_its_own_prefectures_request(
    client, client_for, officer, lanzhou_own_request
):
    client.force_login(officer)
    assert client.get(detail(lanzhou_own_request.number)).context["triage_form"] is None
    response = client.post(
        reverse("allocation:request_triage", args=[lanzhou_own_request.number]),
        {"expected_version": lanzhou_own_request.version},
    )
    assert response.status_code == 403
    answer = client_for(officer).post(
        f"{API}{lanzhou_own_request.number}/triage/",
        {
            "expected_version": lanzhou_own_request.version,
            "decisions": [{"item": "FH001", "decision": "accepted"}],
        },
        format="json",
    )
    assert answer.status_code == 403


@pytest.mark.parametrize("who", ["lead", "county_officer"])
def test_the_lead_and_the_county_read_the_request_but_do_not_triage(
    client, request, who, yuzhong_asked
):
    client.force_login(request.getfixturevalue(who))

    page = client.get(detail(yuzhong_asked.number))

    assert page.status_code == 200
    assert page.context["triage_form"] is None and page.context["batch_form"] is None
    response = client.post(
        reverse("allocation:request_triage", args=[yuzhong_asked.number]),
        {"expected_version": yuzhong_asked.version},
    )
    assert response.status_code == 403


@pytest.mark.parametrize("who", ["outsider", "outsider_lead", "gaolan_officer"])
def test_outsiders_meet_yuzhongs_request_as_404(client, client_for, request, who, yuzhong_asked):
    user = request.getfixturevalue(who)
    client.force_login(user)

    assert client.get(detail(yuzhong_asked.number)).status_code == 404
    assert client_for(user).get(f"{API}{yuzhong_asked.number}/").status_code == 404
    assert client_for(user).get(API).json()["results"] == []


def test_the_county_follows_its_request_to_the_batch_that_answers_it(
    client, county_officer, officer, lead, yuzhong_asked, lz01
):
    from allocation.requests import requests_into_batches
    from allocation.services import batch_approve, batch_dispatch

    line = yuzhong_asked.lines.get()
    request_triage(
        user=officer,
        request=yuzhong_asked,
        expected_version=yuzhong_asked.version,
        decisions=[{"line": line.pk, "decision": LineDecision.ACCEPTED}],
    )
    (batch,) = requests_into_batches(
        user=officer, line_ids=[line.pk], source_warehouse=lz01, channel="reserve"
    )
    batch = batch_approve(user=lead, batch=batch, expected_version=batch.version)
    batch_dispatch(user=officer, batch=batch, expected_version=batch.version)
    client.force_login(county_officer)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    html = client.get(detail(yuzhong_asked.number)).text

    batch_url = reverse("allocation:batch_detail", args=["620100-2026-001"])
    assert f'<a href="{batch_url}">620100-2026-001</a>' in html
    assert client.get(batch_url).status_code == 200


# --- The nav badge: what each decides on, in one query ---------------------------------------


def test_the_badge_counts_for_each_the_requests_it_triages_in_one_query(
    client,
    office,
    officer,
    outsider,
    lead,
    county_officer,
    qinzhou_officer,
    to_yuzhong,
    to_gaolan,
    lanzhou_itself,
    to_qinzhou,
    n95,
    django_assert_num_queries,
):
    submit(county_officer, to_yuzhong, 100, n95)
    submit(officer, to_gaolan, 50, n95)
    submit(officer, lanzhou_itself, 500, n95)  # Lanzhou's own: the office decides
    submit(qinzhou_officer, to_qinzhou, 70, n95)
    decided = submit(county_officer, to_yuzhong, 10, n95)
    request_triage(
        user=officer,
        request=decided,
        expected_version=decided.version,
        decisions=[
            {"line": decided.lines.get().pk, "decision": LineDecision.REFUSED, "reason": "够用"}
        ],
    )

    expected = {office: 4, officer: 2, outsider: 1}
    for user, count in expected.items():
        with django_assert_num_queries(1):
            assert requests_awaiting_triage({"user": user}) == count
    for user in (lead, county_officer):  # they decide on nothing: no query
        with django_assert_num_queries(0):
            assert requests_awaiting_triage({"user": user}) == 0
    client.force_login(officer)
    nav = client.get(reverse("allocation:request_list")).text
    assert re.search(r'id="nav-awaiting-triage"[^>]*>2</span>', nav)
