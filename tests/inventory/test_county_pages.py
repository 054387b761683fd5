"""The county figures' pages (issue 15 §3): the counties' entry grid, the counties' status of a
prefecture with the office's switch, and the prefecture's own grid closed while it reports
as the sum of its counties. Lanzhou = 榆中县 (A) + 皋兰县 (B); Tianshui enters its own."""

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from inventory.county_figures import county_figures_submit
from inventory.models import CountyDailyFigure, DailyFigure
from supplycoord.models import County
from tests.factories import ItemFactory, PrefectureFactory
from tests.inventory.county_world import *  # noqa: F403 - the fixtures
from tests.inventory.county_world import EVENING, TODAY, county_row

ENTRY = reverse("inventory:county_entry")
STATUS = reverse("inventory:county_status")
DAILY = reverse("inventory:daily_entry")
FIGURES = {
    "stock": "100",
    "received": "20",
    "consumption": "10",
    "demand": "12",
    "expected_arrivals_3d": "5",
}


def grid_post(item="FH001", **overrides):
    data = {"date": TODAY.isoformat()}
    data.update({f"{item}-{field}": value for field, value in {**FIGURES, **overrides}.items()})
    return data


def english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


# --- The counties' entry grid ---------------------------------------------------------------


def test_a_county_officer_opens_its_own_grid_with_the_missing_counties(
    client, summed, n95, county_officer
):
    client.force_login(county_officer)

    response = client.get(ENTRY)

    assert response.status_code == 200
    html = response.content.decode()
    assert "榆中县" in html and 'name="FH001-stock"' in html
    assert 'id="counties-missing"' in html
    # Neither county has reported today: both count, but 榆中县's officer is named only its own
    # county (皋兰县's reporting is Lanzhou's and the province's to follow).
    missing = [c.county.code for c in response.context["status"].missing]
    assert missing == ["620122", "620123"]
    shown = html.split('id="counties-missing"')[1].split("</p>")[0]
    assert "榆中县" in shown and "皋兰县" not in shown


def test_the_office_is_named_every_missing_county(client, summed, n95, office):
    client.force_login(office)

    html = client.get(ENTRY + "?county=620123").content.decode()

    shown = html.split('id="counties-missing"')[1].split("</p>")[0]
    assert "榆中县" in shown and "皋兰县" in shown


def test_the_grid_in_english(client, summed, n95, county_officer):
    client.force_login(county_officer)
    english(client)

    html = client.get(ENTRY).content.decode()

    assert "Daily figures of Yuzhong, Lanzhou" in html
    assert "Lanzhou: 2 counties have not reported every key item for this date:" in html


def test_saving_both_counties_derives_lanzhou(
    client, summed, n95, county_officer, gaolan_officer, frozen
):
    client.force_login(county_officer)
    response = client.post(ENTRY, grid_post())
    assert response.status_code == 302
    assert CountyDailyFigure.objects.get(county__code="620123").stock == 100
    assert not DailyFigure.objects.exists()

    frozen.move_to(EVENING)
    client.force_login(gaolan_officer)
    response = client.post(
        ENTRY,
        grid_post(stock="50", received="10", consumption="5", demand="6", expected_arrivals_3d="0"),
    )

    assert response.status_code == 302
    figure = DailyFigure.objects.get(prefecture=summed, item=n95, date=TODAY)
    assert (figure.stock, figure.consumption, figure.on_time) == (150, 15, False)
    # The grid now lists no county as missing.
    assert client.get(ENTRY).context["status"].missing == []


def test_bad_figures_are_refused_on_their_inputs_with_a_400(client, summed, n95, county_officer):
    client.force_login(county_officer)

    response = client.post(ENTRY, grid_post(stock="-1", demand="99999999999999999999999"))

    assert response.status_code == 400
    [row] = response.context["rows"]
    assert set(row.errors) == {"stock", "demand"}
    assert not CountyDailyFigure.objects.exists()


def test_a_county_officer_always_writes_its_own_county(client, summed, n95, gaolan_officer):
    """皋兰县's officer naming 榆中县 still saves 皋兰县's figures: the county is the user's."""
    client.force_login(gaolan_officer)

    client.post(ENTRY, {**grid_post(), "county": "620123"})

    assert list(CountyDailyFigure.objects.values_list("county__code", flat=True)) == ["620122"]


def test_a_county_of_a_prefecture_entering_its_own_figures_gets_no_grid(
    client, lanzhou, qinzhou, n95, qinzhou_officer
):
    client.force_login(qinzhou_officer)

    response = client.get(ENTRY)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="county-refused"' in html and 'name="FH001-stock"' not in html
    assert response.context["refusal"].startswith("天水市")

    response = client.post(ENTRY, grid_post())
    assert response.status_code == 400
    assert not CountyDailyFigure.objects.exists()


def test_the_office_chooses_a_county_and_must_name_it_to_save(
    client, summed, n95, office, tianshui, qinzhou
):
    client.force_login(office)

    response = client.get(ENTRY)
    # The counties of prefectures reporting as their sum only, by code.
    assert [c.code for c in response.context["counties"]] == ["620122", "620123"]
    assert response.context["county"].code == "620122"
    assert client.get(ENTRY + "?county=620123").context["county"].code == "620123"

    assert client.post(ENTRY, grid_post()).status_code == 404
    assert client.post(ENTRY, {**grid_post(), "county": "620123"}).status_code == 302
    # A county of Tianshui is refused by the pipeline, on the page.
    assert client.post(ENTRY, {**grid_post(), "county": "620502"}).status_code == 400
    assert list(CountyDailyFigure.objects.values_list("county__code", flat=True)) == ["620123"]


def test_the_office_without_any_summed_prefecture_is_told_how(client, lanzhou, office):
    client.force_login(office)

    response = client.get(ENTRY)

    assert response.status_code == 200
    assert 'id="no-county"' in response.content.decode()


@pytest.mark.parametrize("who", ["officer", "lead", "leader", "reporter", "outsider"])
def test_the_grid_is_closed_to_roles_that_do_not_enter_county_figures(
    client, request, summed, n95, who
):
    client.force_login(request.getfixturevalue(who))

    assert client.get(ENTRY).status_code == 403
    assert client.post(ENTRY, {**grid_post(), "county": "620123"}).status_code == 403
    assert not CountyDailyFigure.objects.exists()


def test_the_grid_costs_the_same_queries_for_one_item_as_for_thirty(
    client, summed, n95, county_officer, django_assert_max_num_queries
):
    client.force_login(county_officer)
    with django_assert_max_num_queries(30) as one:
        assert client.get(ENTRY).status_code == 200
    queries = len(one)  # now: the next request resets the connection's log
    for n in range(29):
        ItemFactory(code=f"Q{n:03d}")
    for n in range(13):
        County.objects.create(prefecture=summed, code=f"6201{50 + n}", name_zh=f"县{n}")

    with django_assert_max_num_queries(queries):
        assert client.get(ENTRY).status_code == 200


# --- The prefecture's own grid while it reports as the sum of its counties ---------------------


def test_lanzhous_officer_is_pointed_to_the_counties(client, summed, n95, officer):
    client.force_login(officer)

    response = client.get(DAILY)

    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="zh-hans">' in html
    warning = html[html.index('id="sum-of-counties"') :]
    assert "兰州市" in warning[: warning.index("</div>")]
    assert 'id="daily-entry-form"' not in html
    assert reverse("inventory:county_status") in html


def test_a_post_to_lanzhous_own_grid_is_refused_with_a_400(client, summed, n95, officer):
    client.force_login(officer)
    english(client)

    response = client.post(DAILY, grid_post())

    assert response.status_code == 400
    assert "Lanzhou reports as the sum of its counties: its counties enter the figures." in (
        response.content.decode()
    )
    assert not DailyFigure.objects.exists()


def test_the_import_page_warns_lanzhous_officer(client, summed, officer):
    client.force_login(officer)

    html = client.get(reverse("inventory:daily_import")).content.decode()

    assert 'id="sum-of-counties"' in html


# --- The counties' status -----------------------------------------------------------------------


def _report_a(county_officer):
    county_figures_submit(user=county_officer, rows=[county_row()])


@pytest.mark.parametrize("who", ["officer", "lead", "office", "leader"])
def test_the_status_shows_which_county_reported_and_whether_lanzhou_is_derived(
    client, request, summed, n95, county_officer, who
):
    _report_a(county_officer)
    client.force_login(request.getfixturevalue(who))

    response = client.get(STATUS + "?prefecture=620100")

    assert response.status_code == 200
    status = response.context["status"]
    assert [(c.county.code, c.state, c.reported) for c in status.counties] == [
        ("620122", "missing", 0),
        ("620123", "on_time", 1),
    ]
    [row] = status.items
    assert (row.cells, row.prefecture_row) == (["missing", "on_time"], "missing")
    with translation.override("en"):
        assert str(row.prefecture_row_label) == "not derived yet"


def test_the_status_once_every_county_reported(
    client, summed, n95, county_officer, gaolan_officer, officer, frozen
):
    _report_a(county_officer)
    frozen.move_to(EVENING)
    county_figures_submit(user=gaolan_officer, rows=[county_row(county="620122", stock=50)])
    client.force_login(officer)
    english(client)

    response = client.get(STATUS)

    status = response.context["status"]
    assert [c.state for c in status.counties] == ["late", "on_time"]
    assert status.items[0].prefecture_row == "derived"
    html = response.content.decode()
    assert "Lanzhou's figures are derived for 1 of 1 key items." in html
    assert "Lanzhou reports as the sum of its counties." in html


@pytest.mark.parametrize("who", ["county_officer", "reporter"])
def test_the_status_is_closed_to_others(client, request, summed, who):
    client.force_login(request.getfixturevalue(who))
    assert client.get(STATUS).status_code == 403


def test_an_officer_of_another_prefecture_cannot_open_lanzhous_status(
    client, summed, tianshui, outsider
):
    client.force_login(outsider)

    assert client.get(STATUS + "?prefecture=620100").status_code == 404
    assert client.get(STATUS).context["prefecture"] == tianshui


def test_the_office_switches_tianshui_on_the_status_page(client, tianshui, qinzhou, office):
    client.force_login(office)

    response = client.post(STATUS, {"prefecture": "620500", "value": "on"})

    assert response.status_code == 302
    tianshui.refresh_from_db()
    assert tianshui.reports_as_sum_of_counties is True
    assert tianshui.history.order_by("history_id").last().history_user == office


def test_a_prefecture_without_counties_is_not_switched(client, lanzhou, office):
    client.force_login(office)
    english(client)

    response = client.post(STATUS, {"prefecture": "620100", "value": "on"})

    assert response.status_code == 400
    assert "Lanzhou has no active county: it cannot report as their sum." in (
        response.content.decode()
    )
    lanzhou.refresh_from_db()
    assert lanzhou.reports_as_sum_of_counties is False


@pytest.mark.parametrize("who", ["officer", "lead", "leader"])
def test_only_the_office_switches(client, request, summed, who):
    client.force_login(request.getfixturevalue(who))

    page = client.get(STATUS).content.decode()
    assert 'id="sum-switch"' not in page
    assert client.post(STATUS, {"prefecture": "620100", "value": "off"}).status_code == 403
    summed.refresh_from_db()
    assert summed.reports_as_sum_of_counties is True


def test_the_status_page_costs_the_same_queries_for_15_counties_and_30_items(
    client, summed, n95, office, county_officer, django_assert_max_num_queries
):
    _report_a(county_officer)
    client.force_login(office)
    with django_assert_max_num_queries(30) as small:
        assert client.get(STATUS).status_code == 200
    queries = len(small)  # now: the next request resets the connection's log
    for n in range(29):
        ItemFactory(code=f"Q{n:03d}")
    for n in range(13):
        County.objects.create(prefecture=summed, code=f"6201{50 + n}", name_zh=f"县{n}")
    for n in range(10):
        PrefectureFactory(code=f"6299{n:02d}")

    with django_assert_max_num_queries(queries):
        response = client.get(STATUS)

    assert len(response.context["status"].counties) == 15
    assert len(response.context["status"].items) == 30


def test_the_pages_speak_chinese_by_default(client, summed, n95, county_officer, officer):
    """In the product's default language (the zh-hans messages of this feature)."""
    client.force_login(county_officer)
    html = client.get(ENTRY).content.decode()
    assert "兰州市榆中县日报填报" in html
    assert "兰州市：有2个区县未报送当日全部重点物资：" in html

    client.force_login(officer)
    html = client.get(STATUS).content.decode()
    assert "兰州市所辖区县" in html and "兰州市按区县合计报送。" in html
    html = client.get(DAILY).content.decode()
    assert "兰州市按区县合计报送：由所辖区县填报日报。" in html
