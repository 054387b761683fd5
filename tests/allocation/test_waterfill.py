"""water_fill: the allocation proposal of reports.md on hand-worked cases and by property."""

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from allocation.waterfill import Claimant, NoShare, water_fill


def quantities(proposal):
    return {code: share.quantity for code, share in proposal.shares.items()}


def test_equal_rates_and_empty_stores_split_evenly():
    """Two prefectures at 0 stock, 100 a day each, 1,000 to hand out: T = 5 days, 500 each."""
    proposal = water_fill([Claimant("620100", 0, 0, 100), Claimant("620200", 0, 0, 100)], 1000)
    assert proposal.level == 5
    assert quantities(proposal) == {"620100": 500, "620200": 500}
    assert proposal.kept == 0


def test_stock_and_arrivals_are_netted_off():
    """A holds 200 + 100 arriving (3 days at 100), B nothing: 700 lifts both to T = 5:
    A 500 − 300 = 200, B 500."""
    proposal = water_fill([Claimant("620100", 200, 100, 100), Claimant("620200", 0, 0, 100)], 700)
    assert proposal.level == 5
    assert quantities(proposal) == {"620100": 200, "620200": 500}


def test_a_weight_of_two_doubles_the_level_a_prefecture_is_lifted_to():
    """w·r: A 2×100, B 1×100, both empty, 900: T·200 + T·100 = 900, T = 3: A 600, B 300."""
    proposal = water_fill(
        [Claimant("620100", 0, 0, 100, weight=2), Claimant("620200", 0, 0, 100)], 900
    )
    assert proposal.level == 3
    assert quantities(proposal) == {"620100": 600, "620200": 300}


def test_a_prefecture_already_above_the_level_gets_nothing():
    """C has 10 days; 600 to A and B (empty, 100 a day) lifts them to 3 days only."""
    proposal = water_fill(
        [
            Claimant("620100", 0, 0, 100),
            Claimant("620200", 0, 0, 100),
            Claimant("620300", 1000, 0, 100),
        ],
        600,
    )
    assert proposal.level == 3
    assert quantities(proposal) == {"620100": 300, "620200": 300, "620300": 0}
    assert proposal.shares["620300"].no_share == NoShare.ABOVE_LEVEL


def test_not_enough_to_lift_anyone_to_the_next_goes_to_the_lowest_only():
    """A at 1 day, B at 4 days (100 a day): 200 lifts A to 3 days; B stays above."""
    proposal = water_fill([Claimant("620100", 100, 0, 100), Claimant("620200", 400, 0, 100)], 200)
    assert proposal.level == 3
    assert quantities(proposal) == {"620100": 200, "620200": 0}


def test_pack_rounding_hands_the_remainder_to_the_largest_fractions_then_by_code():
    """Three empty prefectures, rates 1:1:1, 100 units in packs of 20: exact 33⅓ each, one
    pack each (60), two spare packs (40) to the equal fractions by code: 620100, 620200."""
    proposal = water_fill(
        [Claimant(code, 0, 0, 10) for code in ("620300", "620100", "620200")], 100, 20
    )
    assert quantities(proposal) == {"620300": 20, "620100": 40, "620200": 40}
    assert proposal.handed_out == 100


def test_the_largest_fraction_wins_the_spare_pack():
    """Rates 7 and 3, 50 units in packs of 10: exact 35 and 15 → 30 + 10, one spare pack;
    fractions 0.5 and 0.5 tie → by code. With 52 units: 36.4 and 15.6: fractions 0.64 vs
    0.56, the spare pack goes to the first."""
    tie = water_fill([Claimant("620200", 0, 0, 7), Claimant("620100", 0, 0, 3)], 50, 10)
    assert quantities(tie) == {"620200": 30, "620100": 20}
    proposal = water_fill([Claimant("620200", 0, 0, 7), Claimant("620100", 0, 0, 3)], 52, 10)
    assert quantities(proposal) == {"620200": 40, "620100": 10}
    assert proposal.kept == 2  # less than a pack stays in the reserve


def test_prefectures_without_a_rate_get_nothing_and_say_why():
    proposal = water_fill(
        [Claimant("620100", 0, 0, None), Claimant("620200", 0, 0, 0), Claimant("620300", 0, 0, 5)],
        100,
    )
    assert quantities(proposal) == {"620100": 0, "620200": 0, "620300": 100}
    assert proposal.shares["620100"].no_share == NoShare.NO_RATE
    assert proposal.shares["620200"].no_share == NoShare.NO_RATE


def test_nothing_to_hand_out_and_nobody_to_hand_to():
    empty = water_fill([Claimant("620100", 0, 0, 5)], 0)
    assert quantities(empty) == {"620100": 0}
    assert empty.shares["620100"].no_share == NoShare.NOTHING_AVAILABLE
    nobody = water_fill([Claimant("620100", 0, 0, None)], 100)
    assert (nobody.level, nobody.handed_out, nobody.kept) == (None, 0, 100)


def test_a_share_smaller_than_a_pack_is_explained():
    """Rates 99 and 1, 100 units in packs of 10: exact 99 and 1 → 90 + 0, one spare → 100, 0."""
    proposal = water_fill([Claimant("620100", 0, 0, 99), Claimant("620200", 0, 0, 1)], 100, 10)
    assert quantities(proposal) == {"620100": 100, "620200": 0}
    assert proposal.shares["620200"].no_share == NoShare.ROUNDED_AWAY


def test_the_level_is_exact_with_fractional_rates():
    """Rate 7/3 a day: 7 units lift an empty prefecture to exactly 3 days."""
    proposal = water_fill([Claimant("620100", 0, 0, Fraction(7, 3))], 7)
    assert proposal.level == 3


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError):
        water_fill([Claimant("620100", 0, 0, 1)], -1)
    with pytest.raises(ValueError):
        water_fill([Claimant("620100", 0, 0, 1, weight=Fraction(1, 2))], 10)
    with pytest.raises(ValueError):
        water_fill([Claimant("620100", 0, 0, 1), Claimant("620100", 0, 0, 1)], 10)


# --- Properties ---------------------------------------------------------------------------

claimant_inputs = st.lists(
    st.tuples(
        st.integers(0, 100_000),  # stock
        st.integers(0, 50_000),  # arriving
        st.one_of(st.none(), st.integers(0, 20_000)),  # rate
        st.sampled_from([1, 1, 1, 2, 3]),  # weight
    ),
    min_size=1,
    max_size=25,
)


def build(inputs):
    return [Claimant(f"62{n:04d}", s, a, r, w) for n, (s, a, r, w) in enumerate(inputs)]


@settings(max_examples=300, deadline=None)
@given(claimant_inputs, st.integers(0, 2_000_000), st.sampled_from([1, 10, 20, 200]))
def test_never_more_than_available_never_negative_whole_packs(inputs, available, pack):
    proposal = water_fill(build(inputs), available, pack)
    assert proposal.handed_out <= available
    assert all(s.quantity >= 0 and s.quantity % pack == 0 for s in proposal.shares.values())
    if proposal.level is not None:
        # The exact split uses everything; rounding leaves less than one pack behind.
        assert sum(s.exact for s in proposal.shares.values()) == available
        assert proposal.kept < pack


@settings(max_examples=300, deadline=None)
@given(
    claimant_inputs,
    st.integers(0, 1_000_000),
    st.integers(0, 1_000_000),
    st.sampled_from([1, 10, 20]),
)
def test_raising_the_quantity_never_lowers_anyones_share(inputs, available, more, pack):
    """The exact share never falls; the rounded share never falls by a pack or more's worth
    beyond the one pack largest-remainder rounding may move (see water_fill)."""
    claimants = build(inputs)
    before = water_fill(claimants, available, pack)
    after = water_fill(claimants, available + more, pack)
    for code, share in before.shares.items():
        assert after.shares[code].exact >= share.exact
        assert after.shares[code].quantity >= share.quantity - pack
    if pack == 1:
        # With unit packs there is no rounding beyond one unit either way.
        for code, share in before.shares.items():
            assert after.shares[code].quantity >= share.quantity - 1


@settings(max_examples=200, deadline=None)
@given(
    st.integers(0, 10_000),
    st.integers(0, 10_000),
    st.integers(1, 5_000),
    st.integers(2, 12),
    st.integers(0, 500_000),
    st.sampled_from([1, 10, 20]),
)
def test_equal_inputs_get_equal_shares_within_one_pack(stock, arriving, rate, n, available, pack):
    claimants = [Claimant(f"62{k:04d}", stock, arriving, rate) for k in range(n)]
    proposal = water_fill(claimants, available, pack)
    amounts = [s.quantity for s in proposal.shares.values()]
    assert max(amounts) - min(amounts) <= pack
