"""The batch pages at three levels (issue 15 §3): Lanzhou's officer drafts from its own
warehouse to its counties, its lead approves, Yuzhong's county officer receives; the province
reads every level and acts on none of Lanzhou's; Tianshui's people and another county's
officer meet Lanzhou's batch as a 404. Buttons shown are the actions the services accept."""

import re

import pytest
from django.conf import settings
from django.urls import reverse

from allocation.models import BatchStatus, DispatchBatch
from inventory.models import StockBalance
from tests.allocation.three_level import *  # noqa: F403
from tests.allocation.three_level import lanzhou_batch, lanzhou_dispatched
from tests.factories import WarehouseFactory

pytestmark = pytest.mark.usefixtures("clock_2026")


def url(name, *args):
    return reverse(f"allocation:{name}", args=args)


@pytest.fixture
def in_english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def as_user(client, user):
    client.force_login(user)
    return client


def numbers_listed(html: str) -> list[str]:
    return re.findall(r'<tr data-batch="([^"]+)"', html)


def draft_form(source, destination, n95, quantity=100, **extra):
    return {
        "source_warehouse": source.code,
        "destination": destination.pk,
        "priority": "other",
        "lines-TOTAL_FORMS": "1",
        "lines-INITIAL_FORMS": "0",
        "lines-0-item": n95.code,
        "lines-0-quantity": str(quantity),
        "lines-0-channel": "reserve",
        **extra,
    }


# --- The list and its level ---------------------------------------------------------------------


@pytest.fixture
def both_levels(office, officer, sz01_2026, lz01, to_yuzhong, to_gaolan, lanzhou_itself, n95):
    """The province's 2026-001 to 兰州市, Lanzhou's 620100-2026-001 to 榆中县 and
    620100-2026-002 to 皋兰县: three drafts."""
    from allocation.services import batch_create

    province = batch_create(
        user=office,
        source_warehouse=sz01_2026,
        destination=lanzhou_itself,
        lines=[{"item": n95, "quantity": 500, "channel": "reserve"}],
    )
    yuzhong_batch = lanzhou_batch(officer, lz01, to_yuzhong, 300, n95)
    gaolan_batch = lanzhou_batch(officer, lz01, to_gaolan, 40, n95)
    return province, yuzhong_batch, gaolan_batch


def test_the_office_lists_every_level_with_who_issued_each(in_english, office, both_levels):
    html = as_user(in_english, office).get(url("batch_list")).text

    assert numbers_listed(html) == ["620100-2026-002", "620100-2026-001", "2026-001"]
    assert "<th>Issued by</th>" in html
    assert html.count('data-level="620100"') == 2
    assert html.count('data-level="province"') == 1
    assert ">Province</span>" in html and ">Lanzhou</span>" in html


def test_the_level_filter_draws_the_list_at_either_level(in_english, office, both_levels):
    client = as_user(in_english, office)

    province = client.get(url("batch_list"), {"level": "province"}).text
    lanzhou = client.get(url("batch_list"), {"level": "620100"}).text

    assert numbers_listed(province) == ["2026-001"]
    assert numbers_listed(lanzhou) == ["620100-2026-002", "620100-2026-001"]
    # The picker offers the province and the prefectures that issued a batch one sees.
    assert '<option value="province" selected>Province</option>' in province
    assert '<option value="620100">Lanzhou</option>' in province


def test_the_list_page_in_chinese_shows_the_level_by_name(client, office, both_levels):
    html = as_user(client, office).get(url("batch_list")).text

    assert '<html lang="zh-hans">' in html
    assert "调拨批次" in html
    assert html.count('data-level="620100">兰州市</span>') == 2


def test_the_lead_lands_on_its_prefectures_drafts_awaiting_approval(
    client, lead, both_levels, office, lanzhou
):
    landing = as_user(client, lead).get(reverse("home"))

    assert landing.status_code == 302
    assert landing["Location"] == url("batch_list") + "?status=draft&level=620100"
    html = client.get(landing["Location"]).text
    # Lanzhou's two drafts; the province's draft to 兰州市 is in its sight but not its to approve.
    assert numbers_listed(html) == ["620100-2026-002", "620100-2026-001"]
    assert numbers_listed(client.get(url("batch_list")).text) == [
        "620100-2026-002",
        "620100-2026-001",
        "2026-001",
    ]


def test_the_leads_landing_page_filters_cleanly_before_lanzhous_first_batch(in_english, lead):
    response = as_user(in_english, lead).get(
        url("batch_list"), {"status": "draft", "level": "620100"}
    )

    assert response.status_code == 200
    assert not response.context["filters"].errors
    assert '<option value="620100" selected>Lanzhou</option>' in response.text
    assert numbers_listed(response.text) == []


def test_a_county_officer_lands_on_its_batches_and_sees_only_its_countys(
    client, county_officer, both_levels
):
    landing = as_user(client, county_officer).get(reverse("home"))

    assert landing["Location"] == url("batch_list")
    html = client.get(url("batch_list")).text
    assert numbers_listed(html) == ["620100-2026-001"]
    # Neither a new batch nor the ledger (the province's and prefectures' record).
    assert url("batch_new") not in html
    assert url("ledger_xlsx") not in html
    assert client.get(url("ledger_csv")).status_code == 403
    assert client.get(url("batch_new")).status_code == 403


def test_another_countys_officer_sees_nothing_of_yuzhongs(client, gaolan_officer, both_levels):
    _province, yuzhong_batch, gaolan_batch = both_levels
    client = as_user(client, gaolan_officer)

    assert numbers_listed(client.get(url("batch_list")).text) == [gaolan_batch.number]
    for name in ("batch_detail", "batch_note", "batch_receive"):
        assert client.get(url(name, yuzhong_batch.number)).status_code == 404


def test_tianshuis_officer_and_lead_meet_lanzhous_batch_as_404(
    client, outsider, outsider_lead, both_levels, lead, officer
):
    _province, yuzhong_batch, _gaolan = both_levels
    for user in (outsider, outsider_lead):
        client = as_user(client, user)
        assert numbers_listed(client.get(url("batch_list")).text) == []
        for name in ("batch_detail", "batch_note", "batch_receive", "batch_edit"):
            assert client.get(url(name, yuzhong_batch.number)).status_code in (404, 403)
        assert client.get(url("batch_detail", yuzhong_batch.number)).status_code == 404
        response = client.post(
            url("batch_action", yuzhong_batch.number, "approve"),
            {"expected_version": yuzhong_batch.version},
        )
        assert response.status_code == 404
    yuzhong_batch.refresh_from_db()
    assert yuzhong_batch.status == BatchStatus.DRAFT


@pytest.mark.parametrize("who", ["lead", "county_officer"])
def test_the_list_reads_a_fixed_number_of_queries_for_the_lead_and_the_county_officer(
    client, request, who, officer, lz01, to_yuzhong, n95, django_assert_max_num_queries
):
    """Nine: session and user; the item, level and destination pickers; the count, the page
    and its line totals; the prefecture or county the header names. 15 batches as 3."""
    client = as_user(client, request.getfixturevalue(who))
    for _ in range(3):
        lanzhou_batch(officer, lz01, to_yuzhong, 10, n95)
    with django_assert_max_num_queries(9) as few:
        assert client.get(url("batch_list")).status_code == 200
    for _ in range(12):
        lanzhou_batch(officer, lz01, to_yuzhong, 10, n95)
    with django_assert_max_num_queries(len(few.captured_queries)):
        html = client.get(url("batch_list")).text
    assert len(numbers_listed(html)) == 15


# --- The draft form: what an officer may issue ------------------------------------------------


def test_lanzhous_officer_is_offered_its_own_warehouse_and_its_counties_only(
    client, officer, lz01, sz01_2026, to_yuzhong, to_gaolan, lanzhou_itself, to_qinzhou
):
    form = as_user(client, officer).get(url("batch_new")).context["header"]

    assert [w.code for w in form.fields["source_warehouse"].queryset] == ["LZ01"]
    assert sorted(d.name_zh for d in form.fields["destination"].queryset) == sorted(
        ["榆中县", "皋兰县"]
    )


def test_the_office_is_offered_the_provinces_warehouses_and_every_destination(
    client, office, lz01, sz01_2026, to_yuzhong, lanzhou_itself, to_qinzhou
):
    WarehouseFactory(code="DC09", kind="producer_held")
    form = as_user(client, office).get(url("batch_new")).context["header"]

    assert [w.code for w in form.fields["source_warehouse"].queryset] == ["DC09", "SZ01"]
    assert form.fields["destination"].queryset.count() == 3


def test_lanzhous_officer_drafts_a_batch_to_yuzhong_on_the_page(
    in_english, officer, lz01, to_yuzhong, n95
):
    response = as_user(in_english, officer).post(
        url("batch_new"), draft_form(lz01, to_yuzhong, n95, 300)
    )

    batch = DispatchBatch.objects.get()
    assert response.status_code == 302
    assert response["Location"] == url("batch_detail", "620100-2026-001")
    assert batch.issuing_prefecture.code == "620100" and batch.created_by == officer


@pytest.mark.parametrize(
    "source, destination, field",
    [
        ("lz01", "lanzhou_itself", "destination"),
        ("lz01", "to_qinzhou", "destination"),
        ("sz01_2026", "to_yuzhong", "source_warehouse"),
    ],
)
def test_the_page_refuses_what_the_officer_may_not_issue_by_its_field(
    in_english, request, officer, n95, source, destination, field
):
    data = draft_form(request.getfixturevalue(source), request.getfixturevalue(destination), n95)

    response = as_user(in_english, officer).post(url("batch_new"), data)

    assert response.status_code == 400
    errors = response.context["header"].errors
    assert list(errors) == [field]
    assert "counties and units" in errors[field][0] or "issue batches from" in errors[field][0]
    assert not DispatchBatch.objects.exists()


def test_the_office_may_not_draft_from_lz01_on_the_page(in_english, office, lz01, to_yuzhong, n95):
    response = as_user(in_english, office).post(url("batch_new"), draft_form(lz01, to_yuzhong, n95))

    assert response.status_code == 400
    assert "source_warehouse" in response.context["header"].errors
    assert not DispatchBatch.objects.exists()


def test_the_office_may_not_open_lanzhous_draft_for_editing(client, office, draft_300):
    assert as_user(client, office).get(url("batch_edit", draft_300.number)).status_code == 403


def test_lanzhous_officer_edits_its_draft(in_english, officer, draft_300, lz01, to_gaolan, n95):
    client = as_user(in_english, officer)
    assert client.get(url("batch_edit", draft_300.number)).status_code == 200

    response = client.post(
        url("batch_edit", draft_300.number),
        draft_form(lz01, to_gaolan, n95, 250, expected_version=draft_300.version),
    )

    assert response.status_code == 302
    draft_300.refresh_from_db()
    assert draft_300.destination == to_gaolan and draft_300.lines.get().quantity == 250


# --- The detail page: buttons by level --------------------------------------------------------


def action_names(html: str) -> set[str]:
    return set(re.findall(r'data-action="([a-z]+)"', html))


def test_the_lead_sees_approve_only_and_approves_on_the_page(in_english, lead, draft_300):
    client = as_user(in_english, lead)
    html = client.get(url("batch_detail", draft_300.number)).text

    assert action_names(html) == {"approve"}
    assert url("batch_edit", draft_300.number) not in html
    assert 'id="batch-level"' in html and 'data-level="620100">Lanzhou' in html
    response = client.post(
        url("batch_action", draft_300.number, "approve"), {"expected_version": draft_300.version}
    )
    assert response.status_code == 302
    draft_300.refresh_from_db()
    assert draft_300.status == BatchStatus.APPROVED and draft_300.approved_by == lead


def test_lanzhous_officer_edits_and_cancels_but_does_not_approve(client, officer, draft_300):
    html = as_user(client, officer).get(url("batch_detail", draft_300.number)).text

    assert action_names(html) == {"cancel"}
    assert url("batch_edit", draft_300.number) in html
    assert 'name="file"' in html  # it files the papers of its batches
    response = client.post(
        url("batch_action", draft_300.number, "approve"), {"expected_version": draft_300.version}
    )
    assert response.status_code == 403


@pytest.mark.parametrize("who", ["office", "leader"])
def test_the_province_reads_lanzhous_batch_without_a_button(client, request, who, draft_300):
    client = as_user(client, request.getfixturevalue(who))
    html = client.get(url("batch_detail", draft_300.number)).text

    assert draft_300.number in html
    assert action_names(html) == set()
    assert url("batch_edit", draft_300.number) not in html
    assert 'name="file"' not in html
    for action in ("approve", "cancel"):
        response = client.post(
            url("batch_action", draft_300.number, action),
            {"expected_version": draft_300.version, "note": "x"},
        )
        assert response.status_code == 403
    draft_300.refresh_from_db()
    assert draft_300.status == BatchStatus.DRAFT


def test_the_office_may_not_attach_a_paper_to_lanzhous_batch(client, office, draft_300):
    from django.core.files.uploadedfile import SimpleUploadedFile

    paper = SimpleUploadedFile("approval.pdf", b"%PDF-1.4 x", "application/pdf")
    response = as_user(client, office).post(
        url("batch_attachment_upload", draft_300.number), {"file": paper}
    )

    assert response.status_code == 403
    assert not draft_300.attachments.exists()


def test_the_officer_dispatches_on_the_page_and_lz01_shows_700(
    in_english, officer, lead, draft_300, lz01, n95
):
    from allocation.services import batch_approve

    approved = batch_approve(user=lead, batch=draft_300, expected_version=draft_300.version)
    client = as_user(in_english, officer)
    assert action_names(client.get(url("batch_detail", approved.number)).text) == {
        "dispatch",
        "cancel",
    }

    response = client.post(
        url("batch_action", approved.number, "dispatch"), {"expected_version": approved.version}
    )

    assert response.status_code == 302
    assert StockBalance.objects.get(warehouse=lz01, item=n95).quantity == 700


# --- Receipt by the county ------------------------------------------------------------------------


def test_yuzhongs_officer_receives_280_of_300_with_a_note_on_the_page(
    in_english, county_officer, shipped_300, clock_2026
):
    import datetime as dt

    clock_2026.shift(dt.timedelta(hours=5))
    client = as_user(in_english, county_officer)
    html = client.get(url("batch_detail", shipped_300.number)).text
    assert url("batch_receive", shipped_300.number) in html
    assert action_names(html) == set()  # nothing else of the issuer's to do
    line = shipped_300.lines.get()

    response = client.post(
        url("batch_receive", shipped_300.number),
        {
            "expected_version": shipped_300.version,
            f"line-{line.pk}": "280",
            "note": "一箱破损",
            "complete": "on",
        },
    )

    assert response.status_code == 302
    line.refresh_from_db()
    shipped_300.refresh_from_db()
    assert shipped_300.status == BatchStatus.RECEIVED
    assert (line.received_quantity, line.discrepancy) == (280, -20)
    page = client.get(url("batch_detail", shipped_300.number)).text
    assert 'class="num discrepancy">-20<' in page


def test_lanzhous_dispatch_note_is_headed_by_lanzhous_office(in_english, county_officer, draft_300):
    html = as_user(in_english, county_officer).get(url("batch_note", draft_300.number)).text

    assert "Lanzhou medical supply coordination office" in html
    assert "620100-2026-001" in html


def test_a_county_officer_reads_no_other_page(client, county_officer):
    client = as_user(client, county_officer)

    for name in (
        "reports:overview",
        "inventory:warehouse_list",
        "reports:alerts",
        "production:producer_list",
    ):
        assert client.get(reverse(name)).status_code == 403


# --- Both languages on the detail page -----------------------------------------------------------


def test_the_detail_page_speaks_both_languages(client, office, draft_300):
    client = as_user(client, office)

    chinese = client.get(url("batch_detail", draft_300.number)).text
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english = client.get(url("batch_detail", draft_300.number)).text

    assert '<html lang="zh-hans">' in chinese and 'data-level="620100">兰州市' in chinese
    assert "<dt>Issued by</dt>" in english and 'data-level="620100">Lanzhou' in english


def test_a_province_batch_says_so(in_english, office, sz01_2026, to_yuzhong, n95):
    from allocation.services import batch_create

    batch = batch_create(
        user=office,
        source_warehouse=sz01_2026,
        destination=to_yuzhong,
        lines=[{"item": n95, "quantity": 5, "channel": "reserve"}],
    )
    html = as_user(in_english, office).get(url("batch_detail", batch.number)).text

    assert 'data-level="province">Province</span>' in html


def test_a_dispatched_lanzhou_batch_is_in_the_list_of_its_county(
    client, county_officer, officer, lead, lz01, to_yuzhong, n95
):
    batch = lanzhou_dispatched(officer, lead, lz01, to_yuzhong, 60, n95)

    html = as_user(client, county_officer).get(url("batch_list")).text

    assert numbers_listed(html) == [batch.number]


@pytest.mark.parametrize("who, scope", [("lead", "Lanzhou"), ("county_officer", "Yuzhong")])
def test_the_header_names_the_leads_prefecture_and_the_county_officers_county(
    db, in_english, request, who, scope
):
    html = as_user(in_english, request.getfixturevalue(who)).get(url("batch_list")).text

    assert re.search(rf'<span class="whoami-scope">{scope}</span>', html)
