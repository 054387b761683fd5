"""One clock (issue 12 §2): supplycoord/lib/dates.py alone says what "now" and "today" are.

The clock is frozen at 2020-02-19 23:30 UTC, which is already 2020-02-20 07:30 in Shanghai:
the office's date (20 February) differs from the UTC date (19 February). A page or a default
that read the UTC date, or the server's, would open on the 19th, call the 20th a future date,
and count today's figures as missing from yesterday's. Every dated page here opens on the 20th.

The last test walks the project's sources and fails on any other reading of the clock.
"""

import ast
import datetime as dt
import pathlib

import pytest
import time_machine
from django.urls import reverse

from inventory.models import DailyFigure
from inventory.services import DailyFiguresInvalid, daily_figures_submit
from production.models import LineStatus, Producer, ProductionLine, ProductionReport
from reports.services import snapshot_build_for_date
from supplycoord.lib.dates import is_reportable, local_date, local_now, local_today
from tests.factories import DailyFigureFactory, WarehouseFactory

UTC_EVENING = dt.datetime(2020, 2, 19, 23, 30, tzinfo=dt.UTC)
TODAY = dt.date(2020, 2, 20)  # in Shanghai
UTC_DATE = dt.date(2020, 2, 19)  # what date.today() on a UTC server would say


@pytest.fixture
def evening():
    with time_machine.travel(UTC_EVENING, tick=False) as traveller:
        yield traveller


@pytest.fixture
def built(evening, lanzhou, n95, officer):
    """Figures of Lanzhou for the 19th and the 20th, both snapshots built (a build of today
    before the cut-off, as an office member may ask for)."""
    for day in (UTC_DATE, TODAY):
        DailyFigureFactory(prefecture=lanzhou, item=n95, date=day, submitted_by=officer)
        snapshot_build_for_date(date=day)


@pytest.fixture
def producer(lanzhou, reporter, n95):
    producer = Producer.objects.create(
        name="兰州防护用品厂", credit_code="91350100M000100Y43", prefecture=lanzhou
    )
    producer.reporters.add(reporter)
    ProductionLine.objects.create(
        producer=producer, item=n95, daily_capacity=1000, status=LineStatus.COMMISSIONED
    )
    return producer


def report(producer, item, day, by):
    moment = dt.datetime.combine(day, dt.time(15), tzinfo=dt.UTC)
    return ProductionReport.objects.create(
        producer=producer,
        item=item,
        date=day,
        output=500,
        factory_stock=0,
        submitted_by=by,
        first_submitted_at=moment,
        submitted_at=moment,
    )


# --- The clock ---------------------------------------------------------------------------


def test_today_and_now_are_the_offices(evening):
    assert local_today() == TODAY
    now = local_now()
    assert (now.date(), now.hour, now.minute) == (TODAY, 7, 30)
    assert str(now.tzinfo) == "Asia/Shanghai"


def test_an_instant_falls_on_the_offices_day(evening):
    assert local_date(UTC_EVENING) == TODAY
    # Midnight in Shanghai is 16:00 UTC: 15:59 UTC is still the 19th there, 16:00 the 20th.
    assert local_date(dt.datetime(2020, 2, 19, 15, 59, tzinfo=dt.UTC)) == UTC_DATE
    assert local_date(dt.datetime(2020, 2, 19, 16, 0, tzinfo=dt.UTC)) == TODAY


def test_today_is_reportable_and_tomorrow_is_not(evening):
    assert is_reportable(TODAY)
    assert not is_reportable(TODAY + dt.timedelta(days=1))


# --- Default dates of the dated pages ----------------------------------------------------

# (url name, url kwargs, user fixture, context key of the date the page shows)
DATED_PAGES = [
    ("reports:overview", {}, "leader", "date"),
    ("reports:prefecture", {"code": "620100"}, "leader", "date"),
    ("reports:item", {"code": "FH001"}, "leader", "date"),
    ("reports:spot_checks", {}, "leader", "date"),
    ("reports:demand", {}, "leader", "date"),
    ("reports:production_dashboard", {}, "leader", "date"),
    ("reports:norms", {}, "leader", "on"),
    ("reports:proposal_new", {}, "office", "default_date"),
    ("inventory:daily_entry", {}, "officer", "date"),
    ("production:report_entry", {}, "reporter", "date"),
    ("production:commissioner", {}, "reporter", "today"),
]


@pytest.mark.parametrize(("name", "kwargs", "role", "key"), DATED_PAGES)
def test_each_dated_page_opens_on_the_offices_today(
    client, built, producer, name, kwargs, role, key, request
):
    """The snapshot-based pages open on the latest built date up to today: the 20th, built
    this morning, not the UTC date's 19th; entry forms and the desk open on today."""
    report(producer, producer.lines.get().item, TODAY, request.getfixturevalue("reporter"))
    client.force_login(request.getfixturevalue(role))
    response = client.get(reverse(name, kwargs=kwargs))
    assert response.status_code == 200
    assert response.context[key] == TODAY


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("reports:overview", {}),
        ("reports:prefecture", {"code": "620100"}),
        ("reports:item", {"code": "FH001"}),
        ("reports:spot_checks", {}),
        ("reports:demand", {}),
        ("reports:production_dashboard", {}),
    ],
)
def test_asking_for_today_is_not_asking_for_the_future(client, built, leader, name, kwargs):
    client.force_login(leader)
    client.cookies["django_language"] = "en"
    response = client.get(reverse(name, kwargs=kwargs), {"date": TODAY.isoformat()})
    assert response.context["date"] == TODAY
    assert "is not a date between" not in response.content.decode()


def test_the_forms_offer_today_as_their_date(client, evening, office, n95):
    client.force_login(office)
    warehouse = WarehouseFactory(code="SZ01")
    stock = client.get(reverse("inventory:stock_event_new", args=[warehouse.code, "receipt"]))
    assert stock.context["header"]["occurred_on"].initial == TODAY
    donation = client.get(reverse("allocation:donation_new"))
    assert donation.context["form"]["received_on"].initial == TODAY
    norms = client.get(reverse("reports:norms"))
    assert norms.context["form"]["effective_from"].initial == TODAY
    proposal = client.get(reverse("reports:proposal_new"))
    assert "2020-02-20 07:30" in proposal.context["default_name"]


# --- "Missing today" ---------------------------------------------------------------------


def test_yesterdays_figures_do_not_fill_todays_form(client, evening, lanzhou, n95, officer):
    """Lanzhou reported for the 19th (the UTC date). Today, the 20th, is still to report: the
    form opens on the 20th with nothing entered, offering the 19th's stock as the last one."""
    DailyFigureFactory(prefecture=lanzhou, item=n95, date=UTC_DATE, stock=480, submitted_by=officer)
    client.force_login(officer)
    response = client.get(reverse("inventory:daily_entry"))
    assert response.context["date"] == TODAY
    (row,) = [r for r in response.context["rows"] if r.item == n95]
    assert row.existing is None
    assert (row.last_stock, row.last_stock_date) == (480, UTC_DATE)


def test_figures_for_today_are_accepted_and_tomorrows_refused(evening, lanzhou, n95, officer):
    def row(day):
        return {
            "prefecture": lanzhou,
            "item": n95,
            "date": day.isoformat(),
            "stock": 500,
            "received": 0,
            "consumption": 20,
            "demand": 20,
            "expected_arrivals_3d": 0,
        }

    daily_figures_submit(user=officer, rows=[row(TODAY)])
    figure = DailyFigure.objects.get(date=TODAY)
    assert figure.on_time  # 07:30 is before the 16:00 cut-off of the 20th

    with pytest.raises(DailyFiguresInvalid):
        daily_figures_submit(user=officer, rows=[row(TODAY + dt.timedelta(days=1))])


def test_the_commissioners_desk_counts_todays_missing_reports(
    client, evening, producer, reporter, n95
):
    """A report for the 19th is yesterday's: today's is missing."""
    report(producer, n95, UTC_DATE, reporter)
    client.force_login(reporter)
    response = client.get(reverse("production:commissioner"))
    desk = response.context["desk"]
    assert response.context["today"] == TODAY
    assert desk.missing_count == 1
    assert [r for _p, _i, r in desk.today_reports] == [None]

    report(producer, n95, TODAY, reporter)
    assert client.get(reverse("production:commissioner")).context["desk"].missing_count == 0


# --- Nothing else reads the clock --------------------------------------------------------

ROOT = pathlib.Path(__file__).resolve().parents[2]
SKIPPED_DIRS = {".venv", "node_modules", "migrations", "tests", "var", "staticfiles"}
# path (relative to ROOT) -> why it may read the clock or the time zone itself.
ALLOWED = {
    "supplycoord/lib/dates.py": "the clock itself: local_now, local_today, local_date",
}


def _dotted(node) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


def clock_reads(source: str) -> list[tuple[int, str]]:
    """(line, what) for each reading of the clock or of the time zone's "today" that is not
    the project's clock: date.today(), datetime.now()/today()/utcnow(), timezone.localdate(),
    timezone.localtime() without an instant, timezone.now().date() (the UTC date), and
    importing localdate/localtime from django.utils.timezone (a way round the rule)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module == "django.utils.timezone":
            for alias in node.names:
                if alias.name in ("localdate", "localtime"):
                    found.append((node.lineno, f"from django.utils.timezone import {alias.name}"))
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        owner, attr = _dotted(node.func.value), node.func.attr
        last = owner.rsplit(".", 1)[-1]
        if (
            (attr == "today" and last in ("date", "datetime"))
            or (attr in ("now", "utcnow") and last == "datetime")
            or (attr == "localdate" and last == "timezone")
            or (attr == "localtime" and last == "timezone" and not node.args)
        ):
            found.append((node.lineno, f"{owner}.{attr}()"))
        if (
            attr == "date"
            and isinstance(node.func.value, ast.Call)
            and _dotted(node.func.value.func).endswith("timezone.now")
        ):
            found.append((node.lineno, "timezone.now().date()"))
    return found


def project_sources():
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT).parts
        if any(part in SKIPPED_DIRS or part.startswith(".") for part in parts[:-1]):
            continue
        yield path.relative_to(ROOT).as_posix(), path


def test_the_checker_finds_every_way_round_the_clock():
    source = """
import datetime as dt
from datetime import date, datetime
from django.utils import timezone
from django.utils.timezone import localdate
a = dt.date.today()
b = date.today()
c = datetime.now()
d = dt.datetime.now(dt.UTC)
e = datetime.today()
f = dt.datetime.utcnow()
g = timezone.localdate()
h = timezone.localdate(moment)
i = timezone.localtime()
j = timezone.now().date()
ok = (timezone.now(), timezone.localtime(moment), local_today(), local_date(moment))
"""
    assert [line for line, _what in clock_reads(source)] == [5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]


def test_only_the_clock_reads_the_clock():
    """Every "today" and "now" of the project comes from supplycoord/lib/dates.py. Audit
    timestamps use timezone.now() (an instant, the same one), which this allows."""
    checked, offences = [], []
    for relative, path in project_sources():
        checked.append(relative)
        if relative in ALLOWED:
            continue
        for line, what in clock_reads(path.read_text(encoding="utf-8")):
            offences.append(f"{relative}:{line}: {what}; use supplycoord.lib.dates")
    assert "reports/views.py" in checked and "bench/snapshot.py" in checked
    assert not any("/migrations/" in c or c.startswith("tests/") for c in checked)
    assert offences == []
    # The allow-list names only files that exist and still need it.
    for relative in ALLOWED:
        assert clock_reads((ROOT / relative).read_text(encoding="utf-8")), relative


def test_no_template_reads_the_servers_clock():
    """{% now %} renders the server's "now": a page's date comes from its view."""
    offending = [
        path.relative_to(ROOT).as_posix()
        for path in sorted((ROOT / "templates").rglob("*.html"))
        if "{% now " in path.read_text(encoding="utf-8")
    ]
    assert offending == []
