"""The reconciliation queue: the build opens, updates and closes cases; people explain, accept
and reopen them; a correction of the figures closes them; everyone sees only their own."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from inventory.models import DailyFigure
from inventory.services import daily_figures_submit
from reports.models import (
    ReconciliationCase,
    ReconciliationNote,
    ReconciliationStatus,
    SnapshotRow,
)
from reports.services import (
    ReconciliationActionRefused,
    reconciliation_accept,
    reconciliation_explain,
    reconciliation_reopen,
    snapshot_build_for_date,
)
from supplycoord.models import Prefecture, Role
from tests.factories import DailyFigureFactory, ItemFactory, PrefectureFactory, UserFactory

TZ = ZoneInfo("Asia/Shanghai")
DAY = dt.date(2020, 2, 10)
PREV = DAY - dt.timedelta(days=1)
EVENING = dt.datetime(2020, 2, 10, 18, 0, tzinfo=TZ)


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(EVENING, tick=False) as traveller:
        yield traveller


def figures(prefecture, item, date, *, stock, received=0, consumption=0):
    return DailyFigureFactory(
        prefecture=prefecture,
        item=item,
        date=date,
        stock=stock,
        received=received,
        consumption=consumption,
    )


@pytest.fixture
def gaps(lanzhou, tianshui, n95):
    """Lanzhou: 100 the day before, +20 received, −30 used → 90 expected, 85 reported: −5.
    Tianshui: 50, +0, −10 → 40 expected, 45 reported: +5."""
    figures(lanzhou, n95, PREV, stock=100)
    figures(lanzhou, n95, DAY, stock=85, received=20, consumption=30)
    figures(tianshui, n95, PREV, stock=50)
    figures(tianshui, n95, DAY, stock=45, consumption=10)
    snapshot_build_for_date(date=DAY)
    return {
        "lanzhou": ReconciliationCase.objects.get(prefecture=lanzhou),
        "tianshui": ReconciliationCase.objects.get(prefecture=tianshui),
    }


def correct(user, prefecture, item, date, *, stock, reason="Recounted the warehouse"):
    """A correction through the daily figures service, its snapshot rebuild run on commit."""
    current = DailyFigure.objects.get(prefecture=prefecture, item=item, date=date)
    row = {
        "prefecture": prefecture.code,
        "item": item.code,
        "date": date.isoformat(),
        **current.figures(),
        "stock": stock,
    }
    return daily_figures_submit(user=user, rows=[row], reason=reason)


def cases_and_notes():
    cases = list(ReconciliationCase.objects.order_by("pk").values())
    notes = list(ReconciliationNote.objects.order_by("pk").values())
    return cases, notes


# --- The build keeps the cases ------------------------------------------------------------


def test_it_opens_a_case_with_the_figures_that_make_the_gap(gaps):
    case = gaps["lanzhou"]
    assert (case.previous_stock, case.received, case.consumption, case.stock) == (100, 20, 30, 85)
    assert case.expected_stock == 90
    assert case.gap == -5
    assert case.status == ReconciliationStatus.OPEN
    assert case.opened_at == EVENING
    # The case's gap is the snapshot's, defined once in reports.md.
    row = SnapshotRow.objects.get(date=DAY, prefecture=case.prefecture_id)
    assert row.reconciliation_gap == -5
    assert gaps["tianshui"].gap == 5
    # Opening is not an action: the log starts empty.
    assert not ReconciliationNote.objects.exists()


def test_it_opens_no_case_for_a_zero_or_missing_gap(lanzhou, tianshui, n95):
    figures(lanzhou, n95, PREV, stock=100)
    figures(lanzhou, n95, DAY, stock=90, consumption=10)  # 100 − 10 = 90: no gap
    figures(tianshui, n95, DAY, stock=45, consumption=10)  # no report the day before: no gap
    snapshot_build_for_date(date=DAY)
    assert not ReconciliationCase.objects.exists()


def test_it_changes_nothing_when_the_build_runs_twice(gaps, _frozen):
    before = cases_and_notes()
    _frozen.shift(dt.timedelta(hours=1))
    snapshot_build_for_date(date=DAY)
    assert cases_and_notes() == before


def test_it_updates_the_figures_of_an_open_case_when_they_change(
    gaps, lanzhou, n95, office, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        correct(office, lanzhou, n95, DAY, stock=87)

    case = ReconciliationCase.objects.get(pk=gaps["lanzhou"].pk)
    assert (case.stock, case.gap, case.status) == (87, -3, ReconciliationStatus.OPEN)
    [note] = case.notes.all()
    assert (note.action, note.author, note.gap_before, note.gap_after) == ("changed", None, -5, -3)


def test_it_reopens_an_explained_case_when_the_gap_changes(
    gaps, lanzhou, n95, officer, django_capture_on_commit_callbacks
):
    reconciliation_explain(user=officer, case=gaps["lanzhou"], note="5 masks damaged")

    with django_capture_on_commit_callbacks(execute=True):
        correct(officer, lanzhou, n95, DAY, stock=80)

    case = ReconciliationCase.objects.get(pk=gaps["lanzhou"].pk)
    assert (case.gap, case.status) == (-10, ReconciliationStatus.OPEN)
    actions = list(case.notes.values_list("action", "author__username"))
    assert actions == [("explain", "officer"), ("reopen", None)]


def test_it_closes_the_case_as_corrected_when_a_correction_removes_the_gap(
    gaps, lanzhou, n95, officer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        result = correct(officer, lanzhou, n95, DAY, stock=90, reason="Typed 85 for 90")
    assert result.updated == 1

    case = ReconciliationCase.objects.get(pk=gaps["lanzhou"].pk)
    assert case.status == ReconciliationStatus.CORRECTED
    # The case keeps the gap it was about; the note says what closed it.
    assert case.gap == -5
    [note] = case.notes.all()
    assert (note.action, note.author, note.gap_before, note.gap_after) == ("corrected", None, -5, 0)
    # The correction itself is in the figures' history, with its reason.
    figure = DailyFigure.objects.get(prefecture=lanzhou, item=n95, date=DAY)
    assert figure.history.first().history_change_reason == "Typed 85 for 90"
    # Tianshui's case is untouched.
    assert ReconciliationCase.objects.get(pk=gaps["tianshui"].pk).status == "open"


def test_a_correction_of_the_day_before_closes_the_case_too(
    gaps, lanzhou, n95, office, django_capture_on_commit_callbacks
):
    """The previous day's stock makes the gap as much as the day's own figures."""
    with django_capture_on_commit_callbacks(execute=True):
        correct(office, lanzhou, n95, PREV, stock=95, reason="Stock of the 9th was 95")

    case = ReconciliationCase.objects.get(pk=gaps["lanzhou"].pk)
    assert case.status == ReconciliationStatus.CORRECTED


def test_it_reopens_a_corrected_case_when_the_gap_comes_back(
    gaps, lanzhou, n95, officer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        correct(officer, lanzhou, n95, DAY, stock=90)
    with django_capture_on_commit_callbacks(execute=True):
        correct(officer, lanzhou, n95, DAY, stock=92, reason="Found 2 more")

    case = ReconciliationCase.objects.get(pk=gaps["lanzhou"].pk)
    assert (case.status, case.stock, case.gap) == (ReconciliationStatus.OPEN, 92, 2)
    assert [(n.action, n.gap_before, n.gap_after) for n in case.notes.all()] == [
        ("corrected", -5, 0),
        ("reopen", None, 2),
    ]
    assert ReconciliationCase.objects.filter(prefecture=lanzhou).count() == 1


def test_it_closes_a_case_whose_row_left_the_snapshot(gaps, n95):
    n95.is_key = False
    n95.save()
    snapshot_build_for_date(date=DAY)

    case = ReconciliationCase.objects.get(pk=gaps["lanzhou"].pk)
    assert case.status == ReconciliationStatus.CORRECTED
    [note] = case.notes.all()
    assert (note.gap_before, note.gap_after) == (-5, None)


def test_the_build_runs_the_same_queries_for_few_and_many_gaps(db):
    """One read of the cases and a bulk write each: no query per case."""
    counts = []
    for n_prefectures in (2, 10):
        items = [ItemFactory(code=f"K{n:03d}") for n in range(3)]
        for index in range(n_prefectures):
            prefecture = PrefectureFactory(code=f"63{index:02d}00")
            for item in items:
                if not DailyFigure.objects.filter(prefecture=prefecture, item=item).exists():
                    figures(prefecture, item, PREV, stock=100)
                    figures(prefecture, item, DAY, stock=85, received=20, consumption=30)
        with CaptureQueriesContext(connection) as queries:
            snapshot_build_for_date(date=DAY)
        counts.append(len(queries))
        ReconciliationCase.objects.all().delete()
    assert counts[0] == counts[1]


# --- People explain, accept, reopen ---------------------------------------------------------


def test_it_lets_the_officer_explain_a_gap_of_their_prefecture(gaps, officer):
    case = reconciliation_explain(
        user=officer, case=gaps["lanzhou"], note="Transferred 5 to the county hospital"
    )
    assert case.status == ReconciliationStatus.EXPLAINED
    [note] = case.notes.all()
    assert (note.action, note.author, note.text) == (
        "explain",
        officer,
        "Transferred 5 to the county hospital",
    )


def test_an_explanation_needs_a_note(gaps, officer):
    with pytest.raises(ReconciliationActionRefused):
        reconciliation_explain(user=officer, case=gaps["lanzhou"], note="   ")
    assert ReconciliationCase.objects.get(pk=gaps["lanzhou"].pk).status == "open"


@pytest.mark.parametrize("role", ["outsider", "leader", "reporter"])
def test_it_refuses_an_explanation_from_anyone_else(request, gaps, role):
    user = request.getfixturevalue(role)
    with pytest.raises(PermissionDenied):
        reconciliation_explain(user=user, case=gaps["lanzhou"], note="Not mine to explain")
    assert not ReconciliationNote.objects.exists()


def test_the_office_accepts_an_explained_gap_and_may_reopen_it(gaps, officer, office):
    case = reconciliation_explain(user=officer, case=gaps["lanzhou"], note="Damaged in transit")

    case = reconciliation_accept(user=office, case=case)
    assert case.status == ReconciliationStatus.ACCEPTED

    with pytest.raises(ReconciliationActionRefused):
        reconciliation_reopen(user=office, case=case, note="")
    case = reconciliation_reopen(user=office, case=case, note="Send the damage report")
    assert case.status == ReconciliationStatus.OPEN
    assert [(n.action, n.author.username) for n in case.notes.all()] == [
        ("explain", "officer"),
        ("accept", "office"),
        ("reopen", "office"),
    ]


def test_accepting_a_gap_nobody_explained_needs_the_offices_note(gaps, office):
    with pytest.raises(ReconciliationActionRefused):
        reconciliation_accept(user=office, case=gaps["lanzhou"])
    case = reconciliation_accept(user=office, case=gaps["lanzhou"], note="Known: county transfer")
    assert case.status == ReconciliationStatus.ACCEPTED


@pytest.mark.parametrize("role", ["officer", "leader"])
def test_only_the_office_accepts_or_reopens(request, gaps, role):
    user = request.getfixturevalue(role)
    with pytest.raises(PermissionDenied):
        reconciliation_accept(user=user, case=gaps["lanzhou"], note="ok")
    with pytest.raises(PermissionDenied):
        reconciliation_reopen(user=user, case=gaps["lanzhou"], note="again")


def test_a_closed_case_takes_no_more_actions(
    gaps, lanzhou, n95, officer, office, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        correct(officer, lanzhou, n95, DAY, stock=90)
    case = ReconciliationCase.objects.get(pk=gaps["lanzhou"].pk)
    with pytest.raises(ReconciliationActionRefused):
        reconciliation_explain(user=officer, case=case, note="Too late")
    with pytest.raises(ReconciliationActionRefused):
        reconciliation_accept(user=office, case=case, note="Too late")


# --- The queue page -------------------------------------------------------------------------

QUEUE = reverse("reports:reconciliation")


def act(case):
    return reverse("reports:reconciliation_act", args=[case.pk])


def test_it_shows_the_figures_that_make_the_gap(client, office, gaps):
    client.force_login(office)
    response = client.get(QUEUE)
    assert response.status_code == 200
    content = response.content.decode()
    row = content[content.index(f'id="case-{gaps["lanzhou"].pk}"') :]
    row = row[: row.index("</tr>")]
    for shown in ("2020-02-10", "兰州市", "N95口罩", ">100<", ">20<", ">30<", ">85<", ">90<"):
        assert shown in row
    assert 'data-gap="-5"' in row
    # Oldest first, then by prefecture code.
    assert [c.prefecture.code for c in response.context["page"]] == ["620100", "620500"]
    # The office corrects with the prefecture named in the link.
    assert "?date=2020-02-10&amp;prefecture=620100" in row


def test_it_shows_an_officer_only_their_prefectures_cases(client, officer, gaps):
    client.force_login(officer)
    response = client.get(QUEUE)
    assert [c.pk for c in response.context["page"]] == [gaps["lanzhou"].pk]
    assert "?date=2020-02-10" in response.content.decode()
    assert "prefecture=620100" not in response.content.decode()
    # Asking for another prefecture is as if it did not exist.
    assert client.get(QUEUE, {"prefecture": "620500"}).status_code == 404


def test_it_filters_the_queue_by_status_and_prefecture(client, office, officer, gaps):
    reconciliation_explain(user=officer, case=gaps["lanzhou"], note="Damaged")
    client.force_login(office)

    def shown(**query):
        return [c.prefecture.code for c in client.get(QUEUE, query).context["page"]]

    assert shown() == ["620100", "620500"]  # waiting: open or explained
    assert shown(status="open") == ["620500"]
    assert shown(status="explained") == ["620100"]
    assert shown(status="accepted") == []
    assert shown(prefecture="620500", status="all") == ["620500"]


def test_it_shows_a_corrected_case_with_the_note_that_closed_it(
    client, officer, lanzhou, n95, gaps, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        correct(officer, lanzhou, n95, DAY, stock=90)
    client.force_login(officer)
    assert list(client.get(QUEUE).context["page"]) == []
    response = client.get(QUEUE, {"status": "corrected"})
    [case] = response.context["page"]
    assert case.latest_note.action == "corrected"
    assert not case.actions and not case.correct_links
    assert 'data-action="corrected"' in response.content.decode()


def test_it_shows_the_age_of_a_case_in_days(client, office, gaps, _frozen):
    _frozen.shift(dt.timedelta(days=3))
    client.force_login(office)
    page = client.get(QUEUE).context["page"]
    assert [c.age_days for c in page] == [3, 3]


def test_it_lets_the_officer_explain_from_the_page(client, officer, gaps):
    client.force_login(officer)
    response = client.post(
        act(gaps["lanzhou"]), {"action": "explain", "note": "Given to the county hospital"}
    )
    assert response.status_code == 302
    assert ReconciliationCase.objects.get(pk=gaps["lanzhou"].pk).status == "explained"


def test_it_swaps_the_row_after_an_action_with_htmx(client, office, gaps):
    client.force_login(office)
    response = client.post(
        act(gaps["lanzhou"]),
        {"action": "accept", "note": "Known transfer"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    content = response.content.decode()
    assert content.lstrip().startswith("<tr") and "<html" not in content
    assert 'data-status="accepted"' in content
    assert "Known transfer" in content


def test_it_says_in_the_row_why_an_action_was_refused(client, office, gaps):
    client.force_login(office)
    response = client.post(
        act(gaps["lanzhou"]), {"action": "reopen", "note": "Why"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert 'role="alert"' in response.content.decode()
    assert ReconciliationCase.objects.get(pk=gaps["lanzhou"].pk).status == "open"


def test_it_hides_another_prefectures_case_from_an_outsider(client, outsider, gaps):
    client.force_login(outsider)
    response = client.post(act(gaps["lanzhou"]), {"action": "explain", "note": "Not mine"})
    assert response.status_code == 404
    assert [c.pk for c in client.get(QUEUE).context["page"]] == [gaps["tianshui"].pk]
    assert not ReconciliationNote.objects.exists()


def test_it_lets_leadership_read_the_queue_but_not_act(client, leader, gaps):
    client.force_login(leader)
    response = client.get(QUEUE)
    assert response.status_code == 200
    assert len(response.context["page"]) == 2
    assert all(not c.actions and not c.correct_links for c in response.context["page"])
    post = client.post(act(gaps["lanzhou"]), {"action": "accept", "note": "ok"})
    assert post.status_code == 403


def test_it_refuses_the_office_actions_to_an_officer(client, officer, gaps):
    client.force_login(officer)
    response = client.post(act(gaps["lanzhou"]), {"action": "accept", "note": "ok"})
    assert response.status_code == 403


def test_it_forbids_the_queue_to_producer_reporters(client, reporter, gaps):
    client.force_login(reporter)
    assert client.get(QUEUE).status_code == 403


def test_it_links_an_officer_to_corrections_only_within_their_back_dating_window(
    client, officer, office, lanzhou, n95
):
    old = DAY - dt.timedelta(days=20)
    figures(lanzhou, n95, old - dt.timedelta(days=1), stock=100)
    figures(lanzhou, n95, old, stock=85, received=20, consumption=30)
    snapshot_build_for_date(date=old)

    client.force_login(officer)
    [case] = client.get(QUEUE).context["page"]
    assert case.correct_links == []
    assert "explain" in case.actions
    client.force_login(office)
    [case] = client.get(QUEUE).context["page"]
    assert len(case.correct_links) == 2


# --- The province overview ------------------------------------------------------------------


def test_the_overview_counts_open_gaps_per_prefecture(client, leader, officer, gaps):
    reconciliation_explain(user=officer, case=gaps["lanzhou"], note="Damaged")
    client.force_login(leader)
    response = client.get(reverse("reports:overview"))
    counts = {
        r["prefecture"].code: (r["open"], r["explained"])
        for r in response.context["reconciliation"]
    }
    assert counts == {"620100": (0, 1), "620500": (1, 0)}
    content = response.content.decode()
    assert 'id="reconciliation-open"' in content
    assert f"{QUEUE}?prefecture=620500&amp;status=open" in content


# --- Query counts ---------------------------------------------------------------------------


def _province_with_gaps(n_prefectures, n_items, author):
    """n prefectures × n key items, each with a −5 gap on DAY and a note in its log."""
    items = [ItemFactory(code=f"K{n:03d}") for n in range(n_items)]
    for index in range(n_prefectures):
        prefecture = PrefectureFactory(code=f"63{index:02d}00")
        for item in items:
            if not DailyFigure.objects.filter(prefecture=prefecture, item=item).exists():
                figures(prefecture, item, PREV, stock=100)
                figures(prefecture, item, DAY, stock=85, received=20, consumption=30)
    snapshot_build_for_date(date=DAY)
    ReconciliationNote.objects.bulk_create(
        ReconciliationNote(case=case, action="explain", text="n", author=author, created_at=EVENING)
        for case in ReconciliationCase.objects.filter(notes__isnull=True)
    )
    ReconciliationCase.objects.update(status="explained")


@pytest.mark.parametrize("role", ["office", "leader"])
@pytest.mark.parametrize(
    ("url_name", "query"),
    [("reports:reconciliation", {}), ("reports:reconciliation", {"prefecture": "630000"})],
)
def test_the_queue_runs_the_same_queries_for_a_small_and_a_large_province(
    client, request, office, role, url_name, query
):
    """3 prefectures × 2 items and 15 × 12 run exactly as many queries: no per-row query."""
    client.force_login(request.getfixturevalue(role))
    _province_with_gaps(3, 2, office)
    with CaptureQueriesContext(connection) as small:
        assert client.get(reverse(url_name), query).status_code == 200
    _province_with_gaps(15, 12, office)
    with CaptureQueriesContext(connection) as large:
        assert client.get(reverse(url_name), query).status_code == 200
    assert len(large) == len(small)
    assert len(small) <= 10


def test_an_officers_queue_runs_the_same_queries_for_a_small_and_a_large_province(
    client, office, db
):
    _province_with_gaps(3, 2, office)
    officer = UserFactory(
        username="o630000",
        role=Role.PREFECTURE_OFFICER,
        prefecture=Prefecture.objects.get(code="630000"),
    )
    client.force_login(officer)
    with CaptureQueriesContext(connection) as small:
        assert client.get(QUEUE).status_code == 200
    _province_with_gaps(15, 12, office)
    with CaptureQueriesContext(connection) as large:
        assert client.get(QUEUE).status_code == 200
    assert len(large) == len(small)


def test_it_links_a_sum_of_counties_prefecture_to_its_counties_page_to_correct(
    client, office, gaps, lanzhou
):
    """Issue 15 §3: Lanzhou's figures are its counties' sums (its own entry page refuses them),
    so both days of the gap are corrected from the counties page of that day."""
    lanzhou.reports_as_sum_of_counties = True
    lanzhou.save(update_fields=["reports_as_sum_of_counties"])

    client.force_login(office)
    links = {
        case.prefecture.code: [url for _day, url in case.correct_links]
        for case in client.get(QUEUE).context["page"]
    }

    counties = reverse("inventory:county_status")
    assert links["620100"] == [
        f"{counties}?prefecture=620100&date={DAY.isoformat()}",
        f"{counties}?prefecture=620100&date={(DAY - dt.timedelta(days=1)).isoformat()}",
    ]
    assert links["620500"][0].startswith(reverse("inventory:daily_entry"))
