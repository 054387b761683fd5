"""The allocation proposal's arithmetic (reports.md, "Allocation proposal"), free of Django.

Kept pure so it can be proved on hand-worked cases and with property-based tests, and so the
page, the saved proposal and the benchmark all run exactly the same code.
"""

import dataclasses
from fractions import Fraction


@dataclasses.dataclass(frozen=True)
class Claimant:
    """One claimant's inputs for one item (issue 15: a prefecture, or an institution, aid team
    or key unit, whose stock is 0 as it reports none)."""

    code: str  # claimant key (a prefecture's code): the remainder's tie-breaker, the result's key
    stock: int  # s_p
    arriving: int  # a_p: arriving_3d
    rate: Fraction | int | None  # r_p: the rate used (allocation.proposals); None or 0: no rate
    weight: Fraction | int = 1  # w_p ≥ 1


class NoShare:
    """Why a prefecture gets nothing (the page explains each in plain words)."""

    NO_RATE = "no_rate"  # neither an average consumption nor a demand: nothing to size it by
    ABOVE_LEVEL = "above_level"  # its own weighted cover is already at or above the level
    ROUNDED_AWAY = "rounded_away"  # its share was less than a pack and no remainder reached it
    NOTHING_AVAILABLE = "nothing_available"  # there is nothing to hand out


@dataclasses.dataclass(frozen=True)
class Share:
    code: str
    exact: Fraction  # x_p before rounding
    quantity: int  # whole packs of the item, in units
    no_share: str | None  # a NoShare reason when quantity is 0


@dataclasses.dataclass(frozen=True)
class Proposal:
    level: Fraction | None  # T: the weighted days of cover everyone receiving reaches
    shares: dict[str, Share]
    handed_out: int  # Σ quantity ≤ available
    available: int

    @property
    def kept(self) -> int:
        """What stays in the reserve: the available quantity not handed out."""
        return self.available - self.handed_out


def water_fill(claimants: list[Claimant], available: int, pack_size: int = 1) -> Proposal:
    """Split `available` units of one item over prefectures by water-filling.

    Each prefecture p has stock s, arriving_3d a, rate r and weight w ≥ 1. Find the level T
    with Σ_p max(0, T·w·r − s − a) = available and give x_p = max(0, T·w·r − s − a): every
    prefecture that receives anything ends at the same weighted days of cover T, and those
    already at or above T get nothing. Prefectures without a rate get nothing.

    T is found exactly (fractions, no floating point): sort prefectures by their own weighted
    cover b_p = (s + a) / (w·r); with the k lowest receiving, Σ = T·Σw·r − Σ(s + a) is linear,
    so T = (available + Σ(s + a)) / Σw·r, valid while T ≤ b of the next prefecture.

    Rounding: each x_p is rounded down to whole packs; the remainder is handed out one pack at
    a time to the largest fractional parts (in packs), ties by prefecture code. Never more than
    `available` is handed out, and what cannot make a whole pack stays in the reserve.

    As with every largest-remainder rounding, a larger `available` can move one extra pack
    from one prefecture to another (the "Alabama paradox"): the exact shares never fall when
    `available` grows, the rounded ones never fall by more than one pack.
    """
    if available < 0:
        raise ValueError("available must be zero or more")
    if pack_size < 1:
        raise ValueError("pack_size must be at least 1")
    codes = [c.code for c in claimants]
    if len(set(codes)) != len(codes):
        raise ValueError("each prefecture may appear once")

    shares: dict[str, Share] = {}
    rated = []
    for c in claimants:
        if c.weight < 1:
            raise ValueError(f"weight of {c.code} must be at least 1")
        if c.stock < 0 or c.arriving < 0:
            raise ValueError(f"stock and arriving of {c.code} must be zero or more")
        if not c.rate or c.rate < 0:
            shares[c.code] = Share(c.code, Fraction(0), 0, NoShare.NO_RATE)
            continue
        demand_per_level = Fraction(c.weight) * Fraction(c.rate)  # w·r
        held = Fraction(c.stock + c.arriving)  # s + a
        rated.append((held / demand_per_level, c.code, demand_per_level, held))
    rated.sort()

    level = None
    if rated and available > 0:
        slope = Fraction(0)
        held_total = Fraction(0)
        for k, (_, _, demand_per_level, held) in enumerate(rated):
            slope += demand_per_level
            held_total += held
            candidate = (available + held_total) / slope
            following = rated[k + 1][0] if k + 1 < len(rated) else None
            if following is None or candidate <= following:
                level = candidate
                break

    exact: dict[str, Fraction] = {}
    for _, code, demand_per_level, held in rated:
        exact[code] = (
            max(Fraction(0), level * demand_per_level - held) if level is not None else Fraction(0)
        )

    quantities = {code: (x // pack_size) * pack_size for code, x in exact.items()}
    spare_packs = (available - sum(quantities.values())) // pack_size
    by_fraction = sorted(
        (code for code, x in exact.items() if x > quantities[code]),
        key=lambda code: (-(exact[code] / pack_size - quantities[code] // pack_size), code),
    )
    for code in by_fraction[:spare_packs]:
        quantities[code] += pack_size

    for _, code, _, _ in rated:
        quantity = quantities[code]
        reason = None
        if quantity == 0 and level is None:
            reason = NoShare.NOTHING_AVAILABLE
        elif quantity == 0:
            reason = NoShare.ABOVE_LEVEL if exact[code] == 0 else NoShare.ROUNDED_AWAY
        shares[code] = Share(code, exact[code], quantity, reason)
    ordered = {c.code: shares[c.code] for c in claimants}
    return Proposal(
        level=level,
        shares=ordered,
        handed_out=sum(quantities.values()),
        available=available,
    )
