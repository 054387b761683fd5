"""The province rollup of distribution reports and their completeness (reports.md, "Province
rollups": completeness as for prefectures), with numbers worked out by hand."""

import datetime as dt

import pytest

from procurement.distribution_selectors import (
    distribution_completeness,
    distribution_rollup,
    enterprise_corrections,
    enterprise_reports,
)
from procurement.distribution_services import (
    distribution_enterprise_create,
    distribution_enterprise_update,
    distribution_report_submit,
)
from tests.procurement.conftest import TODAY, TZ, credit_code
from tests.procurement.distribution_fixtures import *  # noqa: F403 (fixtures)
from tests.procurement.distribution_fixtures import figures

pytestmark = pytest.mark.usefixtures("frozen_time")
YESTERDAY = TODAY - dt.timedelta(days=1)


def _at(day, hour, minute, second):
    return dt.datetime.combine(day, dt.time(hour, minute, second), tzinfo=TZ)


def _submit(user, enterprise, day, rows, *, now, reason=""):
    return distribution_report_submit(
        user=user, enterprise=enterprise, date=day, rows=rows, now=now, reason=reason
    )


@pytest.fixture
def enterprise_c(office, lanzhou, n95):
    return distribution_enterprise_create(
        user=office,
        name="兰州新区医药",
        credit_code=credit_code(503),
        prefecture=lanzhou,
        items=[n95],
    )


def test_each_enterprise_is_on_time_late_or_missing_at_the_cutoff(
    office, dist_a, dist_b, enterprise_a, enterprise_b, enterprise_c, n95, masks
):
    # Yesterday (2020-02-19), cut-off 16:00 Shanghai:
    # A reports N95 at 15:59:59 and masks at 16:00:00 (exactly at the cut-off: still on time,
    #   the prefectures' rule is submitted ≤ cut-off) → on time;
    # B reports its one item, N95, at 16:00:01 → late;
    # C reports nothing → missing.
    _submit(
        dist_a,
        enterprise_a,
        YESTERDAY,
        [{"item": n95, **figures(1, 1, 1, 1)}],
        now=_at(YESTERDAY, 15, 59, 59),
    )
    _submit(
        dist_a,
        enterprise_a,
        YESTERDAY,
        [{"item": masks, **figures(1, 1, 1, 1)}],
        now=_at(YESTERDAY, 16, 0, 0),
    )
    _submit(
        dist_b,
        enterprise_b,
        YESTERDAY,
        [{"item": n95, **figures(1, 1, 1, 1)}],
        now=_at(YESTERDAY, 16, 0, 1),
    )
    completeness = distribution_completeness(YESTERDAY)
    states = {
        r.enterprise.name: (r.state, r.items_reported, r.items_expected) for r in completeness.rows
    }
    assert states == {
        "国药控股兰州有限公司": ("on_time", 2, 2),
        "天水医药有限公司": ("late", 1, 1),
        "兰州新区医药": ("missing", 0, 1),
    }
    # Rate = on time ÷ active = 1 / 3: the late one does not count (as for prefectures).
    assert completeness.rate == pytest.approx(1 / 3)
    assert (len(completeness.on_time), len(completeness.late), len(completeness.missing)) == (
        1,
        1,
        1,
    )


def test_a_late_correction_keeps_the_first_submission_on_time(
    office, dist_a, enterprise_a, n95, masks
):
    rows = [{"item": n95, **figures(1, 1, 1, 1)}, {"item": masks, **figures(1, 1, 1, 1)}]
    _submit(dist_a, enterprise_a, YESTERDAY, rows, now=_at(YESTERDAY, 9, 0, 0))
    _submit(
        dist_a,
        enterprise_a,
        YESTERDAY,
        [{"item": n95, **figures(1, 1, 1, 9)}],
        now=_at(YESTERDAY, 20, 0, 0),
        reason="更正",
    )
    [row] = distribution_completeness(YESTERDAY).rows
    assert row.state == "on_time"


def test_half_reported_is_missing_and_inactive_enterprises_do_not_count(
    office, dist_a, enterprise_a, enterprise_b, n95
):
    # A must report N95 and masks (no items chosen: every key item) and reports only N95.
    _submit(
        dist_a,
        enterprise_a,
        YESTERDAY,
        [{"item": n95, **figures(1, 1, 1, 1)}],
        now=_at(YESTERDAY, 9, 0, 0),
    )
    distribution_enterprise_update(user=office, enterprise=enterprise_b, active=False)
    completeness = distribution_completeness(YESTERDAY)
    assert [(r.enterprise.name, r.state, r.items_reported) for r in completeness.rows] == [
        ("国药控股兰州有限公司", "missing", 1)
    ]
    assert completeness.rate == 0


def test_no_active_enterprise_has_no_rate(db):
    assert distribution_completeness(TODAY).rate is None


def test_the_rollup_sums_each_figure_over_the_enterprises_reporting_the_item(
    office, dist_a, dist_b, enterprise_a, enterprise_b, enterprise_c, n95, masks
):
    now = _at(TODAY, 9, 0, 0)
    _submit(
        dist_a,
        enterprise_a,
        TODAY,
        [
            {"item": n95, **figures(1_000, 400, 2_000, 600)},
            {"item": masks, **figures(50_000, 20_000, 10_000, 30_000)},
        ],
        now=now,
    )
    _submit(dist_b, enterprise_b, TODAY, [{"item": n95, **figures(300, 100, 500, 250)}], now=now)
    _submit(office, enterprise_c, YESTERDAY, [{"item": n95, **figures(9, 9, 9, 9)}], now=now)
    rows = {r.item.code: r for r in distribution_rollup(TODAY)}
    # N95: A + B (C reported yesterday only): purchased 1,000 + 300 = 1,300; shipped 400 + 100
    # = 500; in transit 2,000 + 500 = 2,500; stock 600 + 250 = 850; 2 enterprises.
    n = rows["FH001"]
    assert (n.enterprises, n.purchased, n.shipped, n.purchase_in_transit, n.stock) == (
        2,
        1_300,
        500,
        2_500,
        850,
    )
    # Masks: A only.
    m = rows["FH002"]
    assert (m.enterprises, m.purchased, m.shipped, m.purchase_in_transit, m.stock) == (
        1,
        50_000,
        20_000,
        10_000,
        30_000,
    )
    # Yesterday: only C's N95; masks still listed (A must report them) with 0 enterprises.
    rows = {r.item.code: r for r in distribution_rollup(YESTERDAY)}
    assert (rows["FH001"].enterprises, rows["FH001"].stock) == (1, 9)
    assert (rows["FH002"].enterprises, rows["FH002"].stock) == (0, 0)


def test_the_rollup_and_completeness_cost_a_fixed_number_of_queries(
    office, lanzhou, n95, masks, django_assert_max_num_queries
):
    for serial in range(6):
        enterprise = distribution_enterprise_create(
            user=office,
            name=f"企业{serial}",
            credit_code=credit_code(600 + serial),
            prefecture=lanzhou,
        )
        _submit(
            office,
            enterprise,
            TODAY,
            [{"item": n95, **figures(1, 1, 1, 1)}],
            now=_at(TODAY, 9, 0, 0),
        )
    # The sums, the active enterprises, their chosen items, the key items, the items' rows.
    with django_assert_max_num_queries(5):
        distribution_rollup(TODAY)
    with django_assert_max_num_queries(4):
        distribution_completeness(TODAY)


def test_the_enterprise_page_shows_days_and_corrections_with_who_when_why(
    office, dist_a, enterprise_a, n95, masks
):
    _submit(
        dist_a,
        enterprise_a,
        YESTERDAY,
        [{"item": n95, **figures(10, 5, 20, 6)}],
        now=_at(YESTERDAY, 9, 0, 0),
    )
    _submit(
        office,
        enterprise_a,
        YESTERDAY,
        [{"item": n95, **figures(10, 5, 20, 7)}],
        now=_at(TODAY, 8, 0, 0),
        reason="盘点更正",
    )
    histories = {h.item.code: h for h in enterprise_reports(enterprise_a, end=TODAY, days=14)}
    assert list(histories) == ["FH001", "FH002"]
    n95_days = histories["FH001"].days
    assert len(n95_days) == 14 and n95_days[0] == (TODAY, None)
    assert n95_days[1][0] == YESTERDAY and n95_days[1][1].stock == 7
    [versions] = enterprise_corrections(enterprise_a, end=TODAY, days=14)
    assert [(v.figures["stock"], v.user, v.is_correction, v.reason) for v in versions] == [
        (6, "dist_a", False, ""),
        (7, "office", True, "盘点更正"),
    ]
