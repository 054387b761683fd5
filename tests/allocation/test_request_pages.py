"""The request pages (issue 15 section 1): the list, a new request, a request's page and its
forms (triage, into a draft batch, withdraw, attachments), for every role."""

import datetime as dt
import uuid

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from allocation.models import (
    BatchStatus,
    DestinationKind,
    DispatchBatch,
    LineDecision,
    RequestAttachment,
    SupplyRequest,
)
from allocation.requests import request_submit, request_triage
from supplycoord.models import Role
from tests.allocation.conftest import NOW
from tests.factories import ItemFactory, UserFactory

pytestmark = pytest.mark.usefixtures("frozen_time")
TODAY = NOW.date()
LIST = reverse("allocation:request_list")
NEW = reverse("allocation:request_new")


@pytest.fixture
def requester(db):
    return UserFactory(username="hospital", role=Role.UNIT_REQUESTER)


@pytest.fixture
def hospital(to_hospital, requester):
    to_hospital.code = "SRMYY"
    to_hospital.save()
    to_hospital.requesters.add(requester)
    return to_hospital


def submit(user, claimant, lines, **kwargs):
    request, _created = request_submit(
        user=user,
        claimant=claimant,
        urgency=kwargs.pop("urgency", "emergency"),
        needed_by=kwargs.pop("needed_by", TODAY + dt.timedelta(days=4)),
        justification=kwargs.pop("justification", "ICU expansion: 40 beds"),
        lines=[{"item": item, "quantity": q} for item, q in lines],
        **kwargs,
    )
    return request


@pytest.fixture
def asked(hospital, requester, n95, masks):
    """The hospital asks for 1,000 N95 and 2,000 masks (an emergency)."""
    return submit(requester, hospital, [(n95, 1000), (masks, 2000)])


@pytest.fixture
def lanzhou_asked(to_lanzhou, officer, n95):
    return submit(officer, to_lanzhou, [(n95, 300)], urgency="routine")


def detail(number):
    return reverse("allocation:request_detail", args=[number])


def new_request_data(claimant, lines, **overrides):
    data = {
        "claimant": str(claimant.pk),
        "urgency": "emergency",
        "needed_by": (TODAY + dt.timedelta(days=3)).isoformat(),
        "justification": "ICU expansion",
        "client_uuid": str(uuid.uuid4()),
        "lines-TOTAL_FORMS": "3",
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "50",
    }
    for index, (code, quantity) in enumerate(lines):
        data[f"lines-{index}-item"] = code
        data[f"lines-{index}-quantity"] = quantity
    data.update(overrides)
    return data


# --- Who sees what ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "who, sees",
    [
        ("office", {"hospital", "lanzhou"}),
        ("leader", {"hospital", "lanzhou"}),
        ("officer", {"lanzhou"}),
        ("requester", {"hospital"}),
        ("outsider", set()),
    ],
)
def test_the_list_shows_the_requests_in_the_users_scope(
    client, request, who, sees, asked, lanzhou_asked
):
    client.force_login(request.getfixturevalue(who))
    response = client.get(LIST)
    assert response.status_code == 200
    numbers = {row.request.number for row in response.context["rows"]}
    expected = {"hospital": asked.number, "lanzhou": lanzhou_asked.number}
    assert numbers == {expected[name] for name in sees}


def test_a_producer_reporter_may_not_open_the_request_pages(client, reporter, asked):
    client.force_login(reporter)
    assert client.get(LIST).status_code == 403
    assert client.get(NEW).status_code == 403
    assert client.get(detail(asked.number)).status_code == 403


@pytest.mark.parametrize("who, status", [("office", 200), ("leader", 200), ("requester", 200)])
def test_the_request_page_opens_for_those_in_scope(client, request, who, status, asked):
    client.force_login(request.getfixturevalue(who))
    response = client.get(detail(asked.number))
    assert response.status_code == status
    html = response.content.decode()
    assert asked.number in html and "甘肃省人民医院" in html


@pytest.mark.parametrize("who", ["officer", "outsider"])
def test_another_claimants_request_does_not_exist_for_an_officer(client, request, who, asked):
    client.force_login(request.getfixturevalue(who))
    assert client.get(detail(asked.number)).status_code == 404
    url = reverse("allocation:request_withdraw", args=[asked.number])
    assert client.post(url, {"expected_version": 1, "reason": "x"}).status_code == 404


def test_leadership_reads_but_may_not_submit_or_triage(client, leader, asked):
    client.force_login(leader)
    assert client.get(NEW).status_code == 403
    response = client.get(detail(asked.number))
    assert response.context["triage_form"] is None
    assert response.context["withdraw_form"] is None
    url = reverse("allocation:request_triage", args=[asked.number])
    assert client.post(url, {"expected_version": asked.version}).status_code == 403
    assert "new-request" not in client.get(LIST).content.decode()


# --- The list ---------------------------------------------------------------------------------


def test_the_list_marks_emergencies_and_overdue_requests(client, office, hospital, requester, n95):
    late = submit(requester, hospital, [(n95, 10)], needed_by=TODAY)
    client.force_login(office)
    html = client.get(LIST).content.decode()
    assert 'data-urgency="emergency"' in html
    assert 'data-overdue="1"' not in html  # needed today: not yet overdue
    # Needed yesterday: open past its date as of the page's date.
    late.needed_by = TODAY - dt.timedelta(days=1)
    late.save()
    html = client.get(LIST).content.decode()
    row = html[html.index(f'data-request="{late.number}"') :]
    assert 'data-overdue="1"' in row[: row.index("</tr>")]


def test_the_list_filters_by_state_urgency_claimant_item_and_dates(
    client, office, asked, lanzhou_asked, to_lanzhou, masks
):
    request_triage(
        user=office,
        request=lanzhou_asked,
        expected_version=lanzhou_asked.version,
        decisions=[
            {"line": lanzhou_asked.lines.get().pk, "decision": "refused", "reason": "no stock"}
        ],
    )
    client.force_login(office)

    def numbers(**query):
        response = client.get(LIST, query)
        assert response.status_code == 200, response.context["filters"].errors
        return {row.request.number for row in response.context["rows"]}

    assert numbers(state="awaiting_triage") == {asked.number}
    assert numbers(state="closed") == {lanzhou_asked.number}
    assert numbers(state="open") == {asked.number}
    assert numbers(urgency="routine") == {lanzhou_asked.number}
    assert numbers(claimant=to_lanzhou.pk) == {lanzhou_asked.number}
    assert numbers(item=masks.code) == {asked.number}
    assert numbers(submitted_from=TODAY.isoformat(), submitted_to=TODAY.isoformat()) == {
        asked.number,
        lanzhou_asked.number,
    }
    assert numbers(submitted_from=(TODAY + dt.timedelta(days=1)).isoformat()) == set()


@pytest.mark.parametrize(
    "query",
    [
        {"state": "lost"},
        {"urgency": "panic"},
        {"item": "NOPE"},
        {"submitted_from": "2020-02-31"},
        {"submitted_from": "2020-02-20", "submitted_to": "2020-02-01"},
        {"submitted_to": "9999-01-01"},
    ],
)
def test_a_bad_filter_is_a_400_with_a_translated_message(client, office, asked, query):
    client.force_login(office)
    response = client.get(LIST, query)
    assert response.status_code == 400
    assert 'id="filter-errors"' in response.content.decode()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert "A filter is not valid" in client.get(LIST, query).content.decode()


def test_an_officer_may_not_filter_by_a_claimant_outside_its_scope(
    client, officer, hospital, lanzhou_asked
):
    client.force_login(officer)
    assert client.get(LIST, {"claimant": hospital.pk}).status_code == 400


def _many(requester, hospital, count):
    items = [ItemFactory(code=f"FX{n:03d}") for n in range(3)]
    for n in range(count):
        submit(requester, hospital, [(item, 10 + n) for item in items])


@pytest.mark.parametrize("who", ["office", "requester"])
def test_the_list_reads_a_flat_number_of_queries(
    client, request, who, hospital, requester, django_assert_max_num_queries
):
    user = request.getfixturevalue(who)
    client.force_login(user)
    _many(requester, hospital, 3)
    with django_assert_max_num_queries(14) as few:
        assert client.get(LIST).status_code == 200
    _many(requester, hospital, 27)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(LIST)
    assert len(response.context["rows"]) == 30


def test_the_list_pages_by_fifty(client, office, hospital, requester, n95):
    for n in range(51):
        submit(requester, hospital, [(n95, n + 1)])
    client.force_login(office)
    assert len(client.get(LIST).context["rows"]) == 50
    assert len(client.get(LIST, {"page": 2}).context["rows"]) == 1


def test_the_list_links_to_a_new_request_and_the_emergency_demand_list(client, requester, hospital):
    client.force_login(requester)
    html = client.get(LIST).content.decode()
    assert NEW in html
    assert reverse("allocation:request_emergency_list", args=["xlsx"]) in html


def test_the_list_in_english(client, office, asked):
    client.force_login(office)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = client.get(LIST).content.decode()
    for words in ("Supply requests", "New request", "Needed by", "Emergency", "Awaiting triage"):
        assert words in html
    assert "Provincial medical institution" in html


# --- A new request ----------------------------------------------------------------------------


def test_a_unit_requester_with_one_unit_has_it_chosen(client, requester, hospital):
    client.force_login(requester)
    response = client.get(NEW)
    assert response.status_code == 200
    form = response.context["header"]
    assert form.fields["claimant"].initial == hospital.pk
    assert list(form.fields["claimant"].queryset) == [hospital]
    html = response.content.decode()
    assert 'inputmode="numeric"' in html and 'type="date"' in html
    assert 'name="client_uuid"' in html


def test_an_officer_chooses_among_its_prefectures_claimants(client, officer, to_lanzhou, hospital):
    client.force_login(officer)
    form = client.get(NEW).context["header"]
    assert list(form.fields["claimant"].queryset) == [to_lanzhou]


def test_a_requester_submits_a_request_with_an_attachment(client, requester, hospital, n95, masks):
    client.force_login(requester)
    data = new_request_data(hospital, [("FH001", "1,000"), ("FH002", "2000")])
    data["attachment"] = SimpleUploadedFile("list.pdf", b"%PDF-1.4 signed", "application/pdf")
    response = client.post(NEW, data)
    saved = SupplyRequest.objects.get()
    assert response.status_code == 302
    assert response["Location"] == detail(saved.number)
    assert [(line.item.code, line.quantity) for line in saved.lines.order_by("pk")] == [
        ("FH001", 1000),
        ("FH002", 2000),
    ]
    assert saved.attachments.get().original_name == "list.pdf"
    # The same form sent again (a double click) makes no second request.
    data["attachment"] = SimpleUploadedFile("list.pdf", b"%PDF-1.4 signed", "application/pdf")
    again = client.post(NEW, data)
    assert again["Location"] == detail(saved.number)
    assert SupplyRequest.objects.count() == 1 and RequestAttachment.objects.count() == 1


def test_bad_input_is_shown_by_line_and_field_and_nothing_is_saved(
    client, requester, hospital, n95
):
    client.force_login(requester)
    data = new_request_data(
        hospital,
        [("FH001", "abc"), ("NOPE", "5"), ("FH001", "3")],
        needed_by=(TODAY - dt.timedelta(days=1)).isoformat(),
        justification="",
    )
    response = client.post(NEW, data)
    assert response.status_code == 400
    rows = response.context["formset"].forms
    assert rows[0].errors["quantity"]
    assert rows[1].errors["item"]
    assert rows[2].errors["item"]  # the same item twice
    header = response.context["header"]
    assert header.errors["justification"] and header.errors["needed_by"]
    assert SupplyRequest.objects.count() == 0


def test_a_request_without_lines_says_so(client, requester, hospital):
    client.force_login(requester)
    response = client.post(NEW, new_request_data(hospital, []))
    assert response.status_code == 400
    assert response.context["page_errors"]
    assert SupplyRequest.objects.count() == 0


def test_a_bad_attachment_saves_nothing(client, requester, hospital, n95):
    client.force_login(requester)
    data = new_request_data(hospital, [("FH001", "10")])
    data["attachment"] = SimpleUploadedFile("run.exe", b"MZ", "application/octet-stream")
    response = client.post(NEW, data)
    assert response.status_code == 400
    assert response.context["header"].errors["attachment"]
    assert SupplyRequest.objects.count() == 0


def test_a_requester_may_not_submit_for_another_unit(client, requester, hospital, to_tianjin, n95):
    client.force_login(requester)
    response = client.post(NEW, new_request_data(to_tianjin, [("FH001", "10")]))
    assert response.status_code == 400
    assert response.context["header"].errors["claimant"]
    assert SupplyRequest.objects.count() == 0


def test_add_a_line_gives_one_more_row_and_saves_nothing(client, requester, hospital, n95):
    client.force_login(requester)
    data = new_request_data(hospital, [("FH001", "10")], add_line="1")
    response = client.post(NEW, data)
    assert response.status_code == 200
    assert len(response.context["formset"].forms) == 4
    assert response.context["formset"].forms[0]["quantity"].value() == "10"
    assert SupplyRequest.objects.count() == 0


# --- A request's page: triage, into batches, withdraw -----------------------------------------


def triage_data(request, entries):
    data = {"expected_version": request.version}
    lines = {line.item.code: line for line in request.lines.all()}
    for code, decision, quantity, reason in entries:
        pk = lines[code].pk
        data[f"line-{pk}-decision"] = decision
        data[f"line-{pk}-accepted_quantity"] = quantity
        data[f"line-{pk}-reason"] = reason
    return data


def test_the_office_triages_then_puts_the_lines_into_a_draft_batch(client, office, asked, stocked):
    client.force_login(office)
    url = reverse("allocation:request_triage", args=[asked.number])
    response = client.post(
        url,
        triage_data(
            asked,
            [("FH001", "accepted", "", ""), ("FH002", "accepted_part", "1,500", "stock is short")],
        ),
    )
    assert response.status_code == 302
    lines = {line.item.code: line for line in asked.lines.all()}
    assert lines["FH001"].decision == LineDecision.ACCEPTED
    assert (lines["FH002"].accepted_quantity, lines["FH002"].decision_reason) == (
        1500,
        "stock is short",
    )
    asked.refresh_from_db()
    page = client.get(detail(asked.number))
    form = page.context["batch_form"]
    assert {pk for pk, _label in form.fields["lines"].choices} == {
        lines["FH001"].pk,
        lines["FH002"].pk,
    }
    response = client.post(
        reverse("allocation:request_into_batches", args=[asked.number]),
        {
            "expected_version": asked.version,
            "source_warehouse": stocked.pk,
            "channel": "reserve",
            "lines": [lines["FH001"].pk, lines["FH002"].pk],
        },
    )
    batch = DispatchBatch.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("allocation:batch_detail", args=[batch.number])
    assert batch.status == BatchStatus.DRAFT and batch.destination_id == asked.claimant_id
    html = client.get(detail(asked.number)).content.decode()
    assert batch.number in html
    assert reverse("allocation:batch_detail", args=[batch.number]) in html


def test_a_triage_by_line_and_field_errors(client, office, asked):
    client.force_login(office)
    url = reverse("allocation:request_triage", args=[asked.number])
    response = client.post(
        url,
        triage_data(
            asked,
            [("FH001", "accepted_part", "5000", "x"), ("FH002", "refused", "", "")],
        ),
    )
    assert response.status_code == 400
    form = response.context["triage_form"]
    lines = {line.item.code: line.pk for line in asked.lines.all()}
    assert form.errors[f"line-{lines['FH001']}-accepted_quantity"]
    assert form.errors[f"line-{lines['FH002']}-reason"]
    assert not asked.lines.exclude(decision=LineDecision.PENDING).exists()


def test_a_stale_version_is_a_conflict_message(client, office, asked):
    client.force_login(office)
    data = triage_data(asked, [("FH001", "accepted", "", "")])
    data["expected_version"] = asked.version + 5
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.post(
        reverse("allocation:request_triage", args=[asked.number]), data, follow=True
    )
    assert "Someone else changed this request" in response.content.decode()
    assert not asked.lines.exclude(decision=LineDecision.PENDING).exists()


@pytest.mark.parametrize("who", ["officer", "requester", "leader"])
def test_only_the_office_triages_and_batches(client, request, who, asked, lanzhou_asked):
    user = request.getfixturevalue(who)
    mine = lanzhou_asked if who == "officer" else asked
    client.force_login(user)
    for name in ("request_triage", "request_into_batches"):
        url = reverse(f"allocation:{name}", args=[mine.number])
        assert client.post(url, {"expected_version": mine.version}).status_code == 403


def test_the_requester_withdraws_with_a_reason(client, requester, asked):
    client.force_login(requester)
    url = reverse("allocation:request_withdraw", args=[asked.number])
    refused = client.post(url, {"expected_version": asked.version, "reason": ""})
    assert refused.status_code == 400
    assert refused.context["withdraw_form"].errors["reason"]
    response = client.post(url, {"expected_version": asked.version, "reason": "Got them"})
    assert response.status_code == 302
    assert set(asked.lines.values_list("decision", flat=True)) == {LineDecision.WITHDRAWN}
    html = client.get(detail(asked.number)).content.decode()
    assert "Got them" in html


def test_attachments_are_uploaded_and_served_only_in_scope(
    client, requester, officer, office, asked
):
    client.force_login(requester)
    upload = reverse("allocation:request_attachment_upload", args=[asked.number])
    file = SimpleUploadedFile("letter.pdf", b"%PDF-1.4 letter", "application/pdf")
    assert client.post(upload, {"file": file, "description": "letter"}).status_code == 302
    attachment = asked.attachments.get()
    download = reverse("allocation:request_attachment_download", args=[asked.number, attachment.pk])
    assert client.get(download).status_code == 200
    bad = SimpleUploadedFile("x.exe", b"MZ", "application/octet-stream")
    assert client.post(upload, {"file": bad}).status_code == 400
    client.force_login(office)
    assert client.get(download).status_code == 200
    client.force_login(officer)
    assert client.get(download).status_code == 404


def test_the_request_page_reads_a_flat_number_of_queries(
    client, office, hospital, requester, stocked, django_assert_max_num_queries
):
    items = [ItemFactory(code=f"FY{n:03d}") for n in range(12)]
    request = submit(requester, hospital, [(item, 5) for item in items[:2]])
    client.force_login(office)
    with django_assert_max_num_queries(30) as few:
        client.get(detail(request.number))
    many = submit(requester, hospital, [(item, 5) for item in items])
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(detail(many.number)).status_code == 200


def test_the_request_page_in_english(client, requester, office, asked):
    request_triage(
        user=office,
        request=asked,
        expected_version=asked.version,
        decisions=[
            {
                "line": asked.lines.get(item__code="FH002").pk,
                "decision": "accepted_part",
                "accepted_quantity": 500,
                "reason": "short",
            }
        ],
    )
    client.force_login(requester)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = client.get(detail(asked.number)).content.decode()
    for words in ("Supply request", "Accepted in part", "Triaged", "Submitted", "Withdraw"):
        assert words in html
    assert asked.claimant.kind == DestinationKind.PROVINCIAL_INSTITUTION
