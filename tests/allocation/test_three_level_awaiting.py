"""The drafts "awaiting approval" follow the level whose approval they await (issue 15 §3).

The province's overview lists the province's drafts (leadership approves them); a prefecture's
officers and lead see their prefecture's own drafts (its lead approves them). Leadership never
sees a prefecture's draft there, which it could not approve; Tianshui's lead sees neither.
"""

import pytest

from allocation.selectors import batches_awaiting_approval
from allocation.services import batch_create
from tests.allocation.three_level import *  # noqa: F403


@pytest.fixture
def both_drafts(office, draft_300, sz01_2026, lanzhou_itself, n95):
    """Lanzhou's draft 620100-2026-001 (300 N95 to 榆中县) and the province's 2026-001 (500 N95
    from SZ01 to 兰州市)."""
    province = batch_create(
        user=office,
        source_warehouse=sz01_2026,
        destination=lanzhou_itself,
        lines=[{"item": n95, "quantity": 500, "channel": "reserve"}],
    )
    return draft_300, province


def test_each_level_sees_the_drafts_awaiting_its_own_approval(
    both_drafts, office, leader, lead, officer, outsider_lead, county_officer
):
    lanzhou_draft, province_draft = both_drafts

    def numbers(user):
        batches, more = batches_awaiting_approval(user)
        assert more is False
        return [(b.number, b.total) for b in batches]

    assert lanzhou_draft.number == "620100-2026-001"
    assert province_draft.number == "2026-001"
    assert numbers(leader) == numbers(office) == [("2026-001", 500)]
    assert numbers(lead) == numbers(officer) == [("620100-2026-001", 300)]
    assert numbers(outsider_lead) == numbers(county_officer) == []
