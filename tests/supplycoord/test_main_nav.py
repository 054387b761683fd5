"""The main navigation: the links grouped in five menus, and each link shown exactly when its
page lets the user in (the page's permission rule decides, the nav only mirrors it)."""

import re

import pytest
from django.conf import settings
from django.urls import reverse

MENUS = ["figures", "allocation", "production", "decisions", "administration"]


def nav_of(html: str) -> str:
    start = html.index('<nav class="mainnav"')
    return html[start : html.index("</nav>", start)]


def every_nav_page(user):
    """Every page the nav can link to, for this user (an officer's own prefecture page)."""
    urls = [
        reverse("reports:overview"),
        reverse("inventory:daily_entry"),
        reverse("inventory:county_status"),
        reverse("allocation:request_list"),
        reverse("allocation:request_fill_rates"),
        reverse("allocation:batch_list"),
        reverse("allocation:claimant_list"),
        reverse("inventory:protected_staff"),
        reverse("inventory:warehouse_list"),
        reverse("reports:reconciliation"),
        reverse("allocation:donation_list"),
        reverse("reports:production_dashboard"),
        reverse("reports:proposal_list"),
        reverse("procurement:order_list"),
        reverse("procurement:supplier_list"),
        reverse("procurement:unit_list"),
        reverse("procurement:national_request_list"),
        reverse("procurement:national_allocation_list"),
        reverse("reports:inbound"),
        reverse("procurement:distribution_report"),
        reverse("procurement:distribution_list"),
        reverse("procurement:distribution_rollup"),
        reverse("reports:demand"),
        reverse("reports:spot_checks"),
        reverse("reports:alerts"),
        reverse("screen:index"),
        reverse("production:commissioner"),
        reverse("production:report_entry"),
        reverse("production:producer_list"),
        reverse("production:problem_list"),
        reverse("exports:list"),
        reverse("admin:index"),
        reverse("api:docs"),
    ]
    if user.prefecture_id:
        urls.append(reverse("reports:prefecture", args=[user.prefecture.code]))
    if user.county_id:
        # A county officer's own figures (the office reaches that page from the status page).
        urls.append(reverse("inventory:county_entry"))
    return urls


@pytest.fixture
def distribution_reporter(db):
    """A distribution enterprise's reporter (医药流通企业), with no enterprise yet."""
    from supplycoord.models import Role
    from tests.factories import UserFactory

    return UserFactory(username="distribution", role=Role.DISTRIBUTION_REPORTER)


@pytest.fixture
def unit_requester(db):
    """A hospital's requester (issue 15): its only link is the request list."""
    from supplycoord.models import Role
    from tests.factories import UserFactory

    return UserFactory(username="hospital", role=Role.UNIT_REQUESTER)


@pytest.mark.parametrize(
    "who",
    [
        "officer",
        "office",
        "leader",
        "reporter",
        "distribution_reporter",
        "unit_requester",
        "admin_user",
        # Three-level dispatch (issue 15): Lanzhou's lead reads like its officer; Yuzhong's
        # county officer sees its batches and requests only.
        "lead",
        "county_officer",
    ],
)
def test_each_link_shows_exactly_when_its_page_lets_the_user_in(client, request, who, lanzhou):
    """With one prefecture in the province (the office's daily form opens on it)."""
    user = request.getfixturevalue(who)
    client.force_login(user)
    nav = nav_of(client.get(reverse("exports:list")).content.decode())
    shown = set(re.findall(r'<a href="([^"]+)"', nav))
    open_to_user = {url for url in every_nav_page(user) if client.get(url).status_code == 200}
    assert shown == open_to_user


@pytest.mark.parametrize(
    "who, menus",
    [
        ("officer", MENUS),
        ("office", MENUS),
        ("leader", MENUS),
        ("reporter", ["production", "administration"]),
        # The distribution links sit with the other inbound channels (procurement).
        ("distribution_reporter", ["allocation", "administration"]),
        # Requests sit with the batches that answer them.
        ("unit_requester", ["allocation", "administration"]),
        ("lead", MENUS),
        # Its county's figures (where its prefecture reports as their sum), batches, requests.
        ("county_officer", ["figures", "allocation", "administration"]),
    ],
)
def test_the_links_sit_in_menus_and_a_menu_without_links_is_left_out(client, request, who, menus):
    client.force_login(request.getfixturevalue(who))
    nav = nav_of(client.get(reverse("exports:list")).content.decode())
    assert re.findall(r'<details class="navmenu" data-menu="([a-z]+)">', nav) == menus
    for block in re.findall(r"<details.*?</details>", nav, flags=re.S):
        assert "<summary>" in block and "<a href=" in block
    # Outside the menus only the home dashboard of the role stays as a plain link.
    outside = re.sub(r"<details.*?</details>", "", nav, flags=re.S)
    assert len(re.findall(r"<a href=", outside)) <= 1


def test_the_english_menu_names(client, office):
    client.force_login(office)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    nav = nav_of(client.get(reverse("exports:list")).content.decode())
    summaries = re.findall(r"<summary>([^<]+)</summary>", nav)
    assert summaries == [
        "Daily figures and stock",
        "Allocation",
        "Production",
        "Decision support",
        "Administration",
    ]


def test_the_menu_script_is_served(client, office):
    client.force_login(office)
    html = client.get(reverse("exports:list")).content.decode()
    assert "js/navmenu.js" in html


def test_the_office_sees_how_many_requests_await_triage_in_one_query(
    client, office, officer, lanzhou, n95, django_assert_num_queries
):
    import datetime as dt

    from allocation.models import Destination, DestinationKind
    from allocation.requests import request_submit
    from supplycoord.lib.dates import local_today

    claimant = Destination.objects.create(
        kind=DestinationKind.PREFECTURE, name_zh="兰州市", prefecture=lanzhou
    )
    for quantity in (10, 20):
        request_submit(
            user=officer,
            claimant=claimant,
            urgency="urgent",
            needed_by=local_today() + dt.timedelta(days=3),
            justification="ICU",
            lines=[{"item": n95, "quantity": quantity}],
        )
    from allocation.templatetags.request_nav import requests_awaiting_triage

    with django_assert_num_queries(1):
        assert requests_awaiting_triage({"user": office}) == 2
    # An officer triages its counties' requests (three-level dispatch): one query, and
    # Lanzhou's own requests are not among them.
    with django_assert_num_queries(1):
        assert requests_awaiting_triage({"user": officer}) == 0
    client.force_login(office)
    nav = nav_of(client.get(reverse("exports:list")).content.decode())
    assert 'id="nav-awaiting-triage"' in nav and ">2</span>" in nav
    # The officer who asked has no badge (the office triages).
    client.force_login(officer)
    assert "nav-awaiting-triage" not in nav_of(client.get(reverse("exports:list")).content.decode())


def test_the_lead_and_the_county_officer_see_their_batches_in_the_nav(client, lead, county_officer):
    client.force_login(lead)
    nav = nav_of(client.get(reverse("exports:list")).content.decode())
    assert reverse("allocation:batch_list") in nav
    assert reverse("reports:prefecture", args=["620100"]) in nav
    assert reverse("inventory:daily_entry") not in nav  # a lead enters no figures
    client.force_login(county_officer)
    nav = nav_of(client.get(reverse("exports:list")).content.decode())
    links = set(re.findall(r'<a href="([^"]+)"', nav))
    assert {reverse("allocation:batch_list"), reverse("allocation:request_list")} <= links
    assert reverse("reports:prefecture", args=["620100"]) not in links


def test_a_unit_requester_lands_on_the_request_list(client, db):
    from supplycoord.models import Role
    from tests.factories import UserFactory

    client.force_login(UserFactory(username="hospital", role=Role.UNIT_REQUESTER))
    assert client.get(reverse("home"))["Location"] == reverse("allocation:request_list")
