"""Allocation proposals: build (water-filling), edit, accept into draft dispatch batches.

The inputs per prefecture (stock, arriving_3d, rate) come from the daily snapshot, which the
reports app builds; it reads them and hands them to `proposal_create` (allocation never
reads reports: dependencies point one way).
"""

import dataclasses
import datetime as dt
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from fractions import Fraction

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history

from inventory.models import RESERVE_KINDS, StockBalance, Warehouse, WarehouseKind
from inventory.services import parse_whole_number
from procurement.inbound import provincial_reserve_arriving_3d
from supplycoord.lib.numbers import grouped
from supplycoord.lib.text import ascii_whole_number
from supplycoord.models import Item, Prefecture
from supplycoord.permissions import can_edit_proposals

from .models import (
    ACCEPTED_DECISIONS,
    UNIT_KINDS,
    BatchPriority,
    BatchStatus,
    Channel,
    Destination,
    DestinationKind,
    DispatchBatchLine,
    Proposal,
    ProposalBasis,
    ProposalItem,
    ProposalLine,
    ProposalStatus,
    RequestAction,
    RequestEvent,
    ReserveFloor,
    SupplyRequestLine,
)
from .services import AllocationError, AllocationInvalid, batch_create
from .waterfill import Claimant, NoShare, water_fill

MAX_WEIGHT = Decimal(10)
# A line keeps its weight with two decimals (ProposalLine.weight): a weight with more would be
# computed with one figure and kept with another.
WEIGHT_PLACES = Decimal("0.01")
RATE_PLACES = Decimal("0.01")  # as ProposalLine.rate keeps it


class RateSource:
    """Where a claimant's rate comes from (reports.md "Requests and the rate a proposal uses")."""

    CONSUMPTION = "consumption"  # the prefecture's avg_consumption_7d
    DEMAND = "demand"  # the prefecture's reported demand (part of what it reports)
    REQUESTS = "requests"  # Σ open accepted request quantity ÷ max(1, days until needed-by)
    NORM = "norm"  # the norm estimate: Σ protected staff × norm in force
    SPOT_CHECK = "spot_check_median"  # flagged: median per-person rate × protected staff


class RateAdjustment:
    """Why the rate used is not the claimant's own (ProposalLine.rate_adjustment)."""

    CAPPED = "capped"  # own rate > cap × norm estimate: min(rate, cap × estimate)
    SPOT_CHECK = "spot_check"  # flagged by the spot checks for the item on the date


STOCK_NOT_REPORTED = "does_not_report"  # a claimant other than a prefecture: stock counted 0


def rate_cap() -> Decimal:
    """SUPPLYCOORD["PROPOSAL_RATE_CAP"] as an exact decimal ("1.5", 1.5 and Decimal all work)."""
    return Decimal(str(settings.SUPPLYCOORD["PROPOSAL_RATE_CAP"]))


def _places(value) -> Decimal | None:
    if value is None:
        return None
    return Decimal(value).quantize(RATE_PLACES, rounding=ROUND_HALF_UP)


@dataclasses.dataclass(frozen=True)
class SpotCheck:
    """A spot-check flag of the claimant (a prefecture) for the item on the proposal's date.

    `median_7d` is the comparison's median as stored: consumption over the 7-day window per
    protected person; the daily per-person rate is that ÷ 7."""

    date: dt.date
    score: Decimal
    median_7d: Decimal

    @property
    def median_per_day(self) -> Decimal:
        return Decimal(self.median_7d) / 7


@dataclasses.dataclass(frozen=True)
class RateChoice:
    rate: Decimal | None  # the rate used (0.01 a day); None: no rate
    source: str  # a RateSource, "" without a rate
    uncapped: Decimal | None = None  # the claimant's own rate, when the one used differs
    adjustment: str = ""  # a RateAdjustment, or ""
    cap: Decimal | None = None  # the cap applied (× the norm estimate)


@dataclasses.dataclass(frozen=True)
class ClaimantInput:
    """One claimant's figures for one item on the proposal's date.

    A prefecture (`prefecture` set) comes with its snapshot figures; a claimant unit
    (institution, aid team, key unit: `prefecture` None, `destination` set) reports no stock
    and no consumption: its rate comes from its requests or its norm estimate."""

    prefecture: Prefecture | None = None
    stock: int | None = None  # None: no stock reported (or stale beyond the window)
    arriving_3d: int = 0
    avg_consumption_7d: Decimal | None = None
    demand: int | None = None
    destination: Destination | None = None  # the claimant; a prefecture's is found if None
    requested_rate: Decimal | None = None  # allocation.request_selectors.requested_rate
    norm_estimate: Decimal | None = None  # None: no norm in force for the item
    staff: int | None = None  # protected staff (all categories)
    spot_check: SpotCheck | None = None

    @property
    def is_prefecture(self) -> bool:
        return self.prefecture is not None

    def own_rate(self) -> tuple[Decimal | None, str]:
        """The first that exists (and is above 0) of: avg_consumption_7d, demand (prefectures
        only), the requested rate, the norm estimate; each taken to 0.01 a day, the precision
        the proposal line keeps it with, so the kept inputs give back the quantities proposed.
        An average of 0 (nothing consumed in 7 days, often because there was nothing to
        consume) falls through to the next."""
        for value, source in (
            (self.avg_consumption_7d, RateSource.CONSUMPTION),
            (self.demand, RateSource.DEMAND),
            (self.requested_rate, RateSource.REQUESTS),
            (self.norm_estimate, RateSource.NORM),
        ):
            value = _places(value)
            if value:
                return value, source
        return None, ""

    def rate_choice(self, cap: Decimal) -> RateChoice:
        """The rate the proposal uses (reports.md): a claimant flagged by the spot checks uses
        median per-person rate × its protected staff; otherwise its own rate, capped at
        cap × the norm estimate e where e > 0 (rounded down to 0.01, never above the cap)."""
        own, source = self.own_rate()
        if self.spot_check is not None and self.staff:
            flagged = _places(self.spot_check.median_per_day * self.staff)
            return RateChoice(flagged, RateSource.SPOT_CHECK, own, RateAdjustment.SPOT_CHECK)
        estimate = _places(self.norm_estimate)
        if own is not None and estimate and estimate > 0:
            ceiling = (cap * estimate).quantize(RATE_PLACES, rounding=ROUND_DOWN)
            if own > ceiling:
                return RateChoice(ceiling, source, own, RateAdjustment.CAPPED, cap)
        return RateChoice(own, source)

    @property
    def rate(self) -> tuple[Decimal | None, str]:
        """(rate used, source) with the cap of the settings."""
        choice = self.rate_choice(rate_cap())
        return choice.rate, choice.source


# The name of issue 12's code: every claimant now comes as a ClaimantInput.
PrefectureInput = ClaimantInput


class ProposalInvalid(AllocationInvalid):
    """A proposal the office cannot save as asked; `errors` as [(row or None, message)]."""


class ProposalConflict(AllocationError):
    """Someone changed the proposal since the caller read it."""

    def __init__(self):
        super().__init__(
            _("Someone else changed this proposal in the meantime. Reload it and try again.")
        )


def _require_office(user):
    if not can_edit_proposals(user):
        raise PermissionDenied(_("Only the office makes allocation proposals."))


def reserve_position(item: Item, warehouses) -> tuple[int, int]:
    """(on hand, committed) of `item` over `warehouses`: balances, and lines of batches from
    them that are drafted or approved but not yet dispatched (their stock is spoken for)."""
    on_hand = (
        StockBalance.objects.filter(warehouse__in=warehouses, item=item).aggregate(
            total=Sum("quantity")
        )["total"]
        or 0
    )
    committed = (
        DispatchBatchLine.objects.filter(
            batch__source_warehouse__in=warehouses,
            batch__status__in=[BatchStatus.DRAFT, BatchStatus.APPROVED],
            item=item,
        ).aggregate(total=Sum("quantity"))["total"]
        or 0
    )
    return on_hand, committed


def reserve_positions(items, warehouses) -> dict[int, tuple[int, int]]:
    """{item id: (on hand, committed)} of every item over `warehouses`, in two queries."""
    on_hand = dict(
        StockBalance.objects.filter(warehouse__in=warehouses, item__in=items)
        .values_list("item_id")
        .annotate(total=Sum("quantity"))
        .order_by()
    )
    committed = dict(
        DispatchBatchLine.objects.filter(
            batch__source_warehouse__in=warehouses,
            batch__status__in=[BatchStatus.DRAFT, BatchStatus.APPROVED],
            item__in=items,
        )
        .values_list("item_id")
        .annotate(total=Sum("quantity"))
        .order_by()
    )
    return {item.pk: (on_hand.get(item.pk) or 0, committed.get(item.pk) or 0) for item in items}


@transaction.atomic
def reserve_floor_set(*, user, item: Item, quantity: int) -> ReserveFloor:
    """The quantity of `item` a proposal never hands out of the reserve. Office only."""
    from supplycoord.bulk import MAX_FIGURE

    _require_office(user)
    if (
        not isinstance(quantity, int)
        or isinstance(quantity, bool)
        or not 0 <= quantity < MAX_FIGURE
    ):
        raise ProposalInvalid(
            [(None, _("The reserve floor must be a whole number, zero or more."))]
        )
    floor, _created = ReserveFloor.objects.update_or_create(
        item=item, defaults={"quantity": quantity, "set_by": user, "set_at": timezone.now()}
    )
    return floor


def _to_fraction(value: Decimal | None) -> Fraction | None:
    return None if value is None else Fraction(value)


def _level(value: Fraction | None) -> Decimal | None:
    if value is None:
        return None
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_UP
    )


@transaction.atomic
def proposal_create(
    *,
    user,
    name: str,
    date: dt.date,
    warehouses: list[Warehouse],
    inputs: dict[Item, list[ClaimantInput]],
    quantities: dict[int, int | None] | None = None,
    weights: dict[str, tuple[Decimal, str]] | None = None,
    note: str = "",
    partial_items: list[Item] | tuple = (),
    coverage_reason: str = "",
    floors: dict[int, int] | None = None,
    basis: str = ProposalBasis.ON_HAND,
) -> Proposal:
    """Compute and keep a proposal for each item of `inputs` over its claimants.

    Issue 15: the claimants are the prefectures of `inputs` plus the units (institutions, aid
    teams, key units) whose ClaimantInput comes with them; the proposal keeps the units it
    included. Each claimant's rate is `ClaimantInput.rate_choice` with the cap of the settings
    (SUPPLYCOORD["PROPOSAL_RATE_CAP"]); each line keeps the rate used, its source, the rate it
    replaced and why. A unit reports no stock: it counts 0, and the line says so. A prefecture
    without a destination of kind prefecture gets one (see `_prefecture_claimants`).

    `quantities`: item id → units to hand out (None or absent: all that is available, i.e.
    on hand − committed − the item's reserve floor). `weights`: prefecture code → (weight ≥ 1,
    reason); a weight other than 1 needs a reason. A prefecture without reported stock gets
    nothing (its need is unknown) and says so, as one without a rate does.
    `partial_items`: the items of `inputs` whose province figures on `date` are below the
    coverage threshold (the caller reads them from the snapshot): refused unless the office
    confirms with `coverage_reason`, which the proposal keeps.
    `floors`: item id → the reserve floor this proposal keeps (the form's default: the office's
    floor, else SUPPLYCOORD_DEFAULT_RESERVE_FLOOR_DAYS days of the province's consumption);
    an item absent keeps the office's floor, or none.
    `basis` (issue 14): ProposalBasis.ON_HAND (default) hands out the reserve's stock on
    hand; ON_HAND_PLUS_ARRIVING_3D adds what arrives in the chosen provincial reserve
    warehouses within 3 days of `date` (open order lines and announced national allocations,
    procurement.inbound.provincial_reserve_arriving_3d). Each item keeps that quantity whatever
    the basis; the batches made from the proposal are marked with its basis.
    """
    _require_office(user)
    quantities = quantities or {}
    weights = weights or {}
    errors: list[tuple[int | None, str]] = []
    name = (name or "").strip()
    if not name:
        errors.append((None, _("Give the proposal a name.")))
    if not warehouses:
        errors.append((None, _("Choose at least one reserve warehouse.")))
    for warehouse in warehouses:
        if warehouse.kind not in RESERVE_KINDS or not warehouse.active:
            errors.append(
                (
                    None,
                    _("%(warehouse)s is not an active reserve warehouse.")
                    % {"warehouse": warehouse},
                )
            )
    if not inputs:
        errors.append((None, _("Choose at least one item.")))
    if basis not in ProposalBasis.values:
        errors.append(
            (None, _("Choose what the proposal hands out: on hand, or on hand + arriving."))
        )
    refused_weights = []  # (prefecture code, message, its other values)
    for code, (weight, reason) in weights.items():
        if (
            not isinstance(weight, Decimal)
            or not weight.is_finite()  # NaN cannot even be compared with 1
            or weight < 1
            or weight > MAX_WEIGHT
        ):
            message = _("The weight of %(prefecture)s must be between 1 and %(max)s.")
            refused_weights.append((code, message, {"max": MAX_WEIGHT}))
        elif weight != weight.quantize(WEIGHT_PLACES):
            message = _("The weight of %(prefecture)s may have at most two decimal places.")
            refused_weights.append((code, message, {}))
        elif weight != 1 and not (reason or "").strip():
            refused_weights.append((code, _("Say why %(prefecture)s is weighted."), {}))
    if refused_weights:
        # Named, not coded, in the reader's language: one query, only when a weight is refused.
        codes = [code for code, _message, _values in refused_weights]
        names = {p.code: p.name for p in Prefecture.objects.filter(code__in=codes)}
        errors.extend(
            (None, message % {"prefecture": names.get(code, code), **values})
            for code, message, values in refused_weights
        )
    for destination in {
        row.destination for rows in inputs.values() for row in rows if not row.is_prefecture
    }:
        if destination is None or destination.kind not in UNIT_KINDS or not destination.active:
            errors.append(
                (
                    None,
                    _(
                        "%(claimant)s cannot be a claimant of the proposal: only active "
                        "institutions, aid teams and key units are included besides prefectures."
                    )
                    % {"claimant": destination or "?"},
                )
            )
    partial = [item for item in inputs if item in set(partial_items)]
    coverage_reason = (coverage_reason or "").strip() if partial else ""
    if partial and not coverage_reason:
        errors.append(
            (
                None,
                _(
                    "The figures of %(date)s for %(items)s rest on too few prefectures (below "
                    "the coverage threshold). Choose another date, or confirm with a reason."
                )
                % {"date": date.isoformat(), "items": ", ".join(str(i) for i in partial)},
            )
        )
    for item in inputs:
        floor = (floors or {}).get(item.pk)
        if floor is not None and (
            isinstance(floor, bool) or not isinstance(floor, int) or floor < 0
        ):
            errors.append(
                (
                    None,
                    _("%(item)s: the reserve floor must be a whole number, zero or more.")
                    % {"item": item},
                )
            )
    if errors:
        raise ProposalInvalid(errors)

    now = timezone.now()
    proposal = Proposal.objects.create(
        name=name[:128],
        date=date,
        note=note,
        coverage_reason=coverage_reason[:2000],
        coverage_partial_items=", ".join(item.code for item in partial)[:500],
        basis=basis,
        created_by=user,
        created_at=now,
        updated_at=now,
    )
    proposal.warehouses.set(warehouses)
    floors = {
        **dict(
            ReserveFloor.objects.filter(item__in=list(inputs)).values_list("item_id", "quantity")
        ),
        **(floors or {}),
    }
    units = {
        row.destination.pk: row.destination
        for rows in inputs.values()
        for row in rows
        if not row.is_prefecture
    }
    proposal.units.set(list(units.values()))
    claimant_of = _prefecture_claimants(
        {row.prefecture for rows in inputs.values() for row in rows if row.is_prefecture}
    )
    cap = rate_cap()
    positions = reserve_positions(list(inputs), warehouses)
    arriving = provincial_reserve_arriving_3d(date, items=list(inputs), warehouses=warehouses)
    plus_arriving = basis == ProposalBasis.ON_HAND_PLUS_ARRIVING_3D
    for item, rows in inputs.items():
        on_hand, committed = positions[item.pk]
        floor = floors.get(item.pk, 0)
        arriving_3d = arriving.get(item.pk, 0)
        counted = arriving_3d if plus_arriving else 0
        available = max(0, on_hand + counted - committed - floor)
        wanted = quantities.get(item.pk)
        if wanted is None:
            wanted = available
        elif wanted < 0 or wanted > available:
            errors.append(
                (
                    None,
                    _(
                        "%(item)s: %(wanted)s asked, but only %(available)s can be handed out "
                        "(on hand %(on_hand)s, arriving counted %(arriving)s, in batches not "
                        "yet dispatched %(committed)s, reserve floor %(floor)s)."
                    )
                    % {
                        "item": item.name,
                        "wanted": grouped(wanted),
                        "available": grouped(available),
                        "on_hand": grouped(on_hand),
                        "arriving": grouped(counted),
                        "committed": grouped(committed),
                        "floor": grouped(floor),
                    },
                )
            )
            continue
        pack = max(1, item.pack_size or 1)
        claimants, lines, keys = [], [], {}
        for row in rows:
            destination = row.destination or claimant_of[row.prefecture.pk]
            if row.is_prefecture:
                key = row.prefecture.code
                weight, reason = weights.get(key, (Decimal(1), ""))
            else:
                key = destination.code or f"#{destination.pk}"
                weight, reason = Decimal(1), ""
            if key in keys.values():
                key = f"#{destination.pk}"
            choice = row.rate_choice(cap)
            stock, stock_note = row.stock, ""
            if not row.is_prefecture and stock is None:
                stock, stock_note = 0, STOCK_NOT_REPORTED
            line = ProposalLine(
                destination=destination,
                prefecture=row.prefecture,
                stock=stock,
                stock_note=stock_note,
                arriving_3d=row.arriving_3d,
                rate=choice.rate,
                rate_source=choice.source,
                rate_uncapped=choice.uncapped,
                rate_adjustment=choice.adjustment,
                rate_cap=choice.cap,
                norm_estimate=_places(row.norm_estimate),
                staff=row.staff,
                spot_check_date=row.spot_check.date if row.spot_check else None,
                spot_check_score=row.spot_check.score if row.spot_check else None,
                spot_check_median=(
                    row.spot_check.median_per_day.quantize(Decimal("0.000001"))
                    if row.spot_check
                    else None
                ),
                weight=weight,
                weight_reason=(reason or "").strip()[:200],
                proposed=0,
                quantity=0,
            )
            lines.append(line)
            keys[id(line)] = key
            if stock is None:
                line.no_share = "no_stock"
                continue
            claimants.append(
                Claimant(key, stock, row.arriving_3d, _to_fraction(choice.rate), Fraction(weight))
            )
        split = water_fill(claimants, wanted, pack)
        proposal_item = ProposalItem.objects.create(
            proposal=proposal,
            item=item,
            on_hand=on_hand,
            committed=committed,
            reserve_floor=floor,
            arriving_3d=arriving_3d,
            arriving_counted=counted,
            quantity=wanted,
            pack_size=pack,
            level=_level(split.level),
        )
        for line in lines:
            line.proposal_item = proposal_item
            share = split.shares.get(keys[id(line)])
            if share is not None:
                line.proposed = line.quantity = share.quantity
                line.no_share = share.no_share or ""
                if line.no_share == NoShare.NO_RATE and line.prefecture_id is None:
                    line.no_share = NO_RATE_UNIT
        # No history rows at creation: `proposed` keeps what the arithmetic said, and every
        # later edit of `quantity` is saved with its history row (who, when, the new value).
        ProposalLine.objects.bulk_create(lines)
    if errors:
        raise ProposalInvalid(errors)
    return proposal


def _locked(proposal: Proposal, expected_version: int) -> Proposal:
    current = Proposal.objects.select_for_update().get(pk=proposal.pk)
    if current.version != expected_version:
        raise ProposalConflict()
    if current.status != ProposalStatus.DRAFT:
        raise ProposalInvalid([(None, _("Only a draft proposal can be changed."))])
    return current


def proposal_check_quantities(proposal: Proposal, quantities: dict[int, object]):
    """Parse edited quantities (line id → text or number) against the proposal's items.

    Returns (parsed {line id: int}, errors [(line id or None, message)]). A missing line keeps
    its quantity; the total of an item may not exceed what it may hand out.
    """
    lines = {
        line.pk: line
        for line in ProposalLine.objects.filter(proposal_item__proposal=proposal).select_related(
            "proposal_item__item", "destination"
        )
    }
    parsed, errors = {}, []
    for key, raw in quantities.items():
        text = str(key)
        line = lines.get(ascii_whole_number(text))
        if line is None:
            errors.append((None, _("Unknown proposal line.")))
            continue
        number, message = parse_whole_number(raw)
        if message:
            errors.append((line.pk, f"{line.destination.name}: {message}"))
            continue
        parsed[line.pk] = number
    totals: dict[int, int] = {}
    items: dict[int, ProposalItem] = {}
    for line in lines.values():
        totals[line.proposal_item_id] = totals.get(line.proposal_item_id, 0) + parsed.get(
            line.pk, line.quantity
        )
        items[line.proposal_item_id] = line.proposal_item
    for item_id, total in totals.items():
        item = items[item_id]
        if total > item.available:
            errors.append(
                (
                    None,
                    _(
                        "%(item)s: the quantities add up to %(total)s, more than the "
                        "%(available)s that may be handed out."
                    )
                    % {
                        "item": item.item.name,
                        "total": grouped(total),
                        "available": grouped(item.available),
                    },
                )
            )
    return parsed, errors


@transaction.atomic
def proposal_update(
    *,
    user,
    proposal: Proposal,
    expected_version: int,
    quantities: dict[int, object] | None = None,
    name: str | None = None,
    note: str | None = None,
) -> Proposal:
    """Save edited quantities (line id → units) and the name/note of a draft proposal."""
    _require_office(user)
    proposal = _locked(proposal, expected_version)
    parsed, errors = proposal_check_quantities(proposal, quantities or {})
    if name is not None and not name.strip():
        errors.append((None, _("Give the proposal a name.")))
    if errors:
        raise ProposalInvalid(errors)
    for line in ProposalLine.objects.filter(pk__in=list(parsed)).order_by("pk"):
        if line.quantity != parsed[line.pk]:
            line.quantity = parsed[line.pk]
            line._history_user = user
            line.save(update_fields=["quantity"])
    if name is not None:
        proposal.name = name.strip()[:128]
    if note is not None:
        proposal.note = note
    proposal.version += 1
    proposal.updated_at = timezone.now()
    proposal._history_user = user
    proposal.save()
    return proposal


NO_RATE_UNIT = "no_rate_unit"  # a unit without an open accepted request or a norm estimate


def _prefecture_claimants(prefectures) -> dict[int, Destination]:
    """{prefecture id: the destination of kind prefecture that stands for it as a claimant}:
    the first active one, else the first; created (active, with the prefecture's code where
    it is free) for a prefecture that has none. Two queries, more only when creating."""
    found: dict[int, Destination] = {}
    for destination in Destination.objects.filter(
        kind=DestinationKind.PREFECTURE, prefecture__in=prefectures
    ).order_by("-active", "pk"):
        found.setdefault(destination.prefecture_id, destination)
    missing = [p for p in prefectures if p.pk not in found]
    if missing:
        taken = set(
            Destination.objects.filter(code__in=[p.code for p in missing]).values_list(
                "code", flat=True
            )
        )
        created = bulk_create_with_history(
            [
                Destination(
                    kind=DestinationKind.PREFECTURE,
                    prefecture=prefecture,
                    code=None if prefecture.code in taken else prefecture.code,
                    name_zh=prefecture.name_zh,
                    name_en=prefecture.name_en,
                )
                for prefecture in sorted(missing, key=lambda p: p.code)
            ],
            Destination,
        )
        for destination in created:
            found[destination.prefecture_id] = destination
    return found


def _prefecture_destinations(prefectures) -> dict[int, Destination]:
    found = {}
    for destination in Destination.objects.filter(
        kind=DestinationKind.PREFECTURE, prefecture__in=prefectures, active=True
    ).order_by("pk"):
        found.setdefault(destination.prefecture_id, destination)
    return found


def _plan_add(plan: dict, key: tuple[int, int], item: Item, quantity: int) -> None:
    """Add `quantity` of `item` to the batch planned for `key` (destination, warehouse): one
    line per item, however many parts it is drawn in."""
    lines = plan.setdefault(key, [])
    for planned in lines:
        if planned["item"] == item:
            planned["quantity"] += quantity
            return
    lines.append({"item": item, "quantity": quantity, "channel": Channel.RESERVE})


def _open_request_lines(destination_ids, items) -> dict[tuple[int, int], list[list]]:
    """{(claimant id, item id): [[request line, accepted quantity not yet in batches], ...]},
    needed-by first: what a batch from the proposal to that claimant answers. Two queries."""
    lines = list(
        SupplyRequestLine.objects.filter(
            request__claimant_id__in=destination_ids,
            item__in=items,
            decision__in=ACCEPTED_DECISIONS,
        )
        .select_related("request")
        .order_by("request__needed_by", "pk")
    )
    batched = dict(
        DispatchBatchLine.objects.filter(request_line__in=lines)
        .exclude(batch__status=BatchStatus.CANCELLED)
        .values_list("request_line_id")
        .annotate(total=Sum("quantity"))
        .order_by()
    )
    found: dict[tuple[int, int], list[list]] = {}
    for line in lines:
        left = line.accepted_quantity - batched.get(line.pk, 0)
        if left > 0:
            found.setdefault((line.request.claimant_id, line.item_id), []).append([line, left])
    return found


def _answer_requests(planned: list[dict], destination_id: int, open_lines) -> list[dict]:
    """The planned lines of a batch, each split over the claimant's open accepted request
    lines of its item (needed-by first, as much as each has left); the rest answers none."""
    lines = []
    for line in planned:
        rest = line["quantity"]
        for entry in open_lines.get((destination_id, line["item"].pk), []):
            take = min(rest, entry[1])
            if take:
                entry[1] -= take
                rest -= take
                lines.append({**line, "quantity": take, "request_line": entry[0]})
            if not rest:
                break
        if rest:
            lines.append({**line, "quantity": rest})
    return lines


@transaction.atomic
def proposal_accept(
    *, user, proposal: Proposal, expected_version: int, quantities: dict | None = None
):
    """Turn a draft proposal into draft dispatch batches, one per claimant (and source).

    `quantities` (line id → units), when given, are saved first as by `proposal_update`:
    the edits and the batches are one decision, and an accept that fails keeps neither.
    Each prefecture's quantities are drawn from the proposal's warehouses in code order, from
    what each holds beyond the batches already drafted or approved from it; a prefecture
    served from two warehouses gets one batch from each. The batches link back to the
    proposal and go through the usual approval workflow.
    """
    _require_office(user)
    if quantities:
        proposal = proposal_update(
            user=user, proposal=proposal, expected_version=expected_version, quantities=quantities
        )
        expected_version = proposal.version
    proposal = _locked(proposal, expected_version)
    lines = list(
        ProposalLine.objects.filter(proposal_item__proposal=proposal, quantity__gt=0)
        .select_related("prefecture", "destination", "proposal_item__item")
        .order_by("prefecture__code", "destination__code", "pk", "proposal_item__item__sort_order")
    )
    if not lines:
        raise ProposalInvalid([(None, _("Nothing to dispatch: every quantity is zero."))])
    warehouses = list(proposal.warehouses.order_by("code"))
    # A prefecture line goes to the prefecture's active destination of kind prefecture (its
    # own claimant destination where that is active); any other claimant's to itself.
    active = _prefecture_destinations(
        {line.prefecture for line in lines if line.prefecture_id is not None}
    )
    destination_of: dict[int, Destination] = {}
    missing = set()
    for line in lines:
        if line.prefecture_id is not None:
            target = line.destination if line.destination.active else None
            target = target or active.get(line.prefecture_id)
        else:
            target = line.destination if line.destination.active else None
        if target is None:
            missing.add((line.prefecture or line.destination).name)
        else:
            destination_of[line.pk] = target
    if missing:
        raise ProposalInvalid(
            [
                (
                    None,
                    _("%(prefecture)s has no active prefecture destination; add it first.")
                    % {"prefecture": name}
                    if any(
                        line.prefecture_id is not None and line.prefecture.name == name
                        for line in lines
                    )
                    else _("%(claimant)s is no longer an active destination.") % {"claimant": name},
                )
                for name in sorted(missing)
            ]
        )

    # Lock the balances drawn from (in a fixed order), so two proposals accepted at once over
    # the same stock are planned one after the other.
    items = {line.proposal_item.item for line in lines}
    list(
        StockBalance.objects.select_for_update()
        .filter(warehouse__in=warehouses, item__in=items)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    # The reserve floor holds at acceptance too: stock drafted, dispatched or a floor raised
    # since the proposal was made may leave less to hand out than it assumed.
    floors = dict(ReserveFloor.objects.filter(item__in=items).values_list("item_id", "quantity"))
    wanted: dict[Item, int] = {}
    # On the basis "on hand + arriving" the arriving quantity the proposal counted may be
    # handed out before it has arrived: its batches wait in draft for the goods.
    arriving: dict[int, int] = {}
    for line in lines:
        item = line.proposal_item.item
        wanted[item] = wanted.get(item, 0) + line.quantity
        arriving[item.pk] = line.proposal_item.arriving_counted
    errors = []
    for item, total in sorted(wanted.items(), key=lambda pair: pair[0].code):
        on_hand, committed = reserve_position(item, warehouses)
        floor = floors.get(item.pk, 0)
        available = max(0, on_hand + arriving[item.pk] - committed - floor)
        if total > available:
            errors.append(
                (
                    None,
                    _(
                        "%(item)s: the proposal hands out %(total)s, but only %(available)s "
                        "can be handed out now (on hand %(on_hand)s, arriving counted "
                        "%(arriving)s, in batches not yet dispatched %(committed)s, reserve "
                        "floor %(floor)s)."
                    )
                    % {
                        "item": item.name,
                        "total": grouped(total),
                        "available": grouped(available),
                        "on_hand": grouped(on_hand),
                        "arriving": grouped(arriving[item.pk]),
                        "committed": grouped(committed),
                        "floor": grouped(floor),
                    },
                )
            )
    if errors:
        raise ProposalInvalid(errors)

    free: dict[tuple[int, int], int] = {}
    for line in lines:
        item = line.proposal_item.item
        for warehouse in warehouses:
            if (warehouse.pk, item.pk) not in free:
                on_hand, committed = reserve_position(item, [warehouse])
                free[(warehouse.pk, item.pk)] = max(0, on_hand - committed)

    plan: dict[tuple[int, int], list[dict]] = {}
    for line in lines:
        item = line.proposal_item.item
        need = line.quantity
        for warehouse in warehouses:
            take = min(need, free[(warehouse.pk, item.pk)])
            if take:
                free[(warehouse.pk, item.pk)] -= take
                need -= take
                _plan_add(plan, (destination_of[line.pk].pk, warehouse.pk), item, take)
            if not need:
                break
        if need and arriving.get(item.pk, 0) > 0:
            # The rest comes out of what arrives within 3 days, into the first provincial
            # reserve warehouse chosen (where purchases and national allocations land).
            into = next(
                (w for w in warehouses if w.kind == WarehouseKind.PROVINCIAL_RESERVE),
                warehouses[0],
            )
            take = min(need, arriving[item.pk])
            arriving[item.pk] -= take
            need -= take
            _plan_add(plan, (destination_of[line.pk].pk, into.pk), item, take)
        if need:
            errors.append(
                (
                    None,
                    _("%(prefecture)s, %(item)s: %(short)s more than the warehouses now hold.")
                    % {
                        "prefecture": line.destination.name,
                        "item": item,
                        "short": grouped(need),
                    },
                )
            )
    if errors:
        raise ProposalInvalid(errors)

    by_pk = {w.pk: w for w in warehouses}
    batches = []
    targets = {d.pk: d for d in destination_of.values()}
    open_lines = _open_request_lines(list(targets), items)
    events = []
    now = timezone.now()
    for (destination_id, warehouse_id), planned in plan.items():
        batch_lines = _answer_requests(planned, destination_id, open_lines)
        batch = batch_create(
            user=user,
            source_warehouse=by_pk[warehouse_id],
            destination=targets[destination_id],
            lines=batch_lines,
            priority=BatchPriority.OTHER,
            reason=(_("Allocation proposal: %(name)s") % {"name": proposal.name})[:500],
        )
        batch.proposal = proposal
        batch.proposal_basis = proposal.basis
        batch.save(update_fields=["proposal", "proposal_basis"])
        batches.append(batch)
        events.extend(
            RequestEvent(
                request=line["request_line"].request,
                line=line["request_line"],
                action=RequestAction.BATCHED,
                quantity=line["quantity"],
                note=proposal.name[:200],
                batch=batch,
                by=user,
                at=now,
            )
            for line in batch_lines
            if line.get("request_line") is not None
        )
    RequestEvent.objects.bulk_create(events)
    proposal.status = ProposalStatus.ACCEPTED
    proposal.accepted_by = user
    proposal.accepted_at = now
    proposal.updated_at = now
    proposal.version += 1
    proposal._history_user = user
    proposal.save()
    return batches


@transaction.atomic
def proposal_discard(*, user, proposal: Proposal, expected_version: int) -> Proposal:
    """Set a draft aside; it stays, with its inputs, for the record."""
    _require_office(user)
    proposal = _locked(proposal, expected_version)
    proposal.status = ProposalStatus.DISCARDED
    proposal.version += 1
    proposal.updated_at = timezone.now()
    proposal._history_user = user
    proposal.save()
    return proposal


# --- Reads for the proposal pages ------------------------------------------------------------


@dataclasses.dataclass
class ProposalRow:
    line: ProposalLine
    quantity: int  # as saved, or as being typed
    error: str = ""

    @property
    def days_before(self):
        return self.line.days(0)

    @property
    def days_after(self):
        return self.line.days(self.quantity)

    @property
    def projected_after(self):
        """(stock + arriving_3d + quantity) ÷ rate: for those who receive, weight × level."""
        line = self.line
        if line.stock is None or not line.rate:
            return None
        return (line.stock + line.arriving_3d + self.quantity) / line.rate

    @property
    def level_after(self):
        """(stock + arriving_3d + quantity) ÷ (rate × weight): what the water-filling levels.
        Every prefecture that receives its proposed quantity sits at the proposal's level."""
        projected = self.projected_after
        if projected is None:
            return None
        return projected / self.line.weight

    @property
    def edited(self) -> bool:
        return self.quantity != self.line.proposed

    # The figures of "why this rate", as people write them: 1.50 → 1.5, 200.00 → 200.
    @property
    def cap_text(self) -> str:
        return _plain(self.line.rate_cap)

    @property
    def estimate_text(self) -> str:
        return _plain(self.line.norm_estimate)

    @property
    def uncapped_text(self) -> str:
        return _plain(self.line.rate_uncapped)

    @property
    def score_text(self) -> str:
        return _plain(self.line.spot_check_score)

    @property
    def median_text(self) -> str:
        median = self.line.spot_check_median
        return _plain(
            median.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP) if median else median
        )


def _plain(value) -> str:
    """A decimal without trailing zeros, grouped: Decimal("2300.00") → "2,300"; None → "—"."""
    if value is None:
        return "—"
    return format(Decimal(value).normalize(), ",f")


@dataclasses.dataclass
class ProposalItemView:
    item: ProposalItem
    rows: list[ProposalRow]

    @property
    def handed_out(self) -> int:
        return sum(row.quantity for row in self.rows)

    @property
    def proposed_total(self) -> int:
        return sum(row.line.proposed for row in self.rows)

    @property
    def kept(self) -> int:
        """What stays in the reserve warehouses beyond batches already planned: on hand, plus
        what arrives within 3 days where the basis counts it, less the committed and what this
        proposal hands out (so on the basis "on hand + arriving" it is never below the floor
        while the proposal is within what is available)."""
        return (
            self.item.on_hand + self.item.arriving_counted - self.item.committed - self.handed_out
        )

    @property
    def over(self) -> bool:
        return self.handed_out > self.item.available

    def chart(self) -> dict:
        def number(value):
            return None if value is None else round(float(value), 2)

        return {
            "prefectures": [row.line.claimant_name for row in self.rows],
            "before": [number(row.days_before) for row in self.rows],
            "after": [number(row.days_after) for row in self.rows],
        }


def proposal_view(proposal: Proposal, *, typed: dict[int, object] | None = None):
    """Each item of `proposal` with its rows; `typed` (line id → text) overlays edits being
    typed (the page's live preview), each with its own error. Two queries."""
    typed = typed or {}
    items = list(proposal.items.select_related("item"))
    lines = (
        ProposalLine.objects.filter(proposal_item__proposal=proposal)
        .select_related("prefecture", "destination")
        .order_by("prefecture__code", "destination__kind", "destination__code", "pk")
    )
    rows: dict[int, list[ProposalRow]] = {item.pk: [] for item in items}
    for line in lines:
        row = ProposalRow(line=line, quantity=line.quantity)
        if line.pk in typed:
            number, message = parse_whole_number(typed[line.pk])
            if message:
                row.error = message
            else:
                row.quantity = number
        rows[line.proposal_item_id].append(row)
    return [ProposalItemView(item=item, rows=rows[item.pk]) for item in items]
