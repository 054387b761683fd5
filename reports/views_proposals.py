"""Allocation proposal pages: build from the snapshot, edit with a live preview, accept.

The arithmetic and the writes are allocation's (allocation/proposals.py); these views read the
snapshot's inputs (reports/proposal_inputs.py) and hand them over.
"""

from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from allocation.models import Proposal, ProposalBasis, ProposalStatus, ReserveFloor
from allocation.proposals import (
    ProposalConflict,
    ProposalInvalid,
    proposal_accept,
    proposal_create,
    proposal_discard,
    proposal_update,
    proposal_view,
    rate_cap,
    reserve_floor_set,
    reserve_positions,
)
from allocation.services import AllocationError
from inventory.models import RESERVE_KINDS, Warehouse, WarehouseKind
from inventory.services import parse_whole_number
from procurement.inbound import provincial_reserve_arriving_3d
from supplycoord.lib.dates import is_reportable, local_now, local_today, parse_iso_date
from supplycoord.lib.numbers import grouped
from supplycoord.lib.text import ascii_whole_number
from supplycoord.models import Item, Prefecture
from supplycoord.permissions import can_edit_proposals, require, sees_whole_province
from supplycoord.selectors import key_items

from . import selectors
from .proposal_inputs import (
    default_reserve_floors,
    partial_items,
    proposal_inputs,
    unit_claimants,
    units_with_open_requests,
)

# Why a claimant gets nothing, in plain words.
NO_SHARE_TEXT = {
    "no_rate": lambda: _(
        "No rate: no average consumption, demand, open accepted request or norm estimate."
    ),
    "no_rate_unit": lambda: _(
        "No rate: no open accepted request, and no protected staff with a norm for this item "
        "to estimate its need."
    ),
    "no_stock": lambda: _("No stock reported: its need is unknown."),
    "above_level": lambda: _("Already at or above the level reached by the others."),
    "rounded_away": lambda: _("Its share was less than one pack."),
    "nothing_available": lambda: _("Nothing to hand out."),
}


def _reserve_warehouses():
    return Warehouse.objects.filter(kind__in=RESERVE_KINDS, active=True).order_by("code")


@require(sees_whole_province)
def proposal_list(request):
    """Proposals, newest first; office staff also set the reserve floors here."""
    proposals = Proposal.objects.select_related("created_by", "accepted_by").prefetch_related(
        "items__item"
    )[:200]
    floors = {f.item_id: f for f in ReserveFloor.objects.select_related("set_by")}
    items = [(item, floors.get(item.pk)) for item in key_items()]
    return render(
        request,
        "reports/proposal_list.html",
        {"proposals": proposals, "floor_items": items},
    )


@require(can_edit_proposals)
@require_POST
def reserve_floors(request):
    errors = []
    for item in key_items():
        raw = request.POST.get(f"floor-{item.code}", "").strip()
        if raw == "":
            continue
        # The same reading as every other whole number typed into SupplyCoord: full-width
        # digits and commas pass; "²", "1e3" and numbers too large to store do not.
        quantity, message = parse_whole_number(raw)
        if message:
            errors.append(item.name)
            continue
        try:
            reserve_floor_set(user=request.user, item=item, quantity=quantity)
        except ProposalInvalid:
            errors.append(item.name)
    if errors:
        messages.error(
            request,
            _("Not saved for %(items)s: enter a whole number, zero or more.")
            % {"items": ", ".join(errors)},
        )
    else:
        messages.success(request, _("Reserve floors saved."))
    return redirect("reports:proposal_list")


def _weight_text(weight: Decimal) -> str:
    """A reference weight as typed: 1.50 → "1.5", 1.00 → "1"."""
    return format(weight.normalize(), "f") if weight else "1"


def _decimal(raw: str) -> Decimal | None:
    """A finite decimal number, else None ("NaN" and "Infinity" are not weights)."""
    try:
        number = Decimal(raw.strip())
    except (InvalidOperation, AttributeError):
        return None
    return number if number.is_finite() else None


@require(can_edit_proposals)
def proposal_new(request):
    """Pick items, date, warehouses, quantities and weights; compute and keep the proposal."""
    items = list(key_items())
    warehouses = list(_reserve_warehouses())
    prefectures = list(Prefecture.objects.filter(active=True).order_by("code"))
    units = list(unit_claimants())
    default_date = selectors.dashboard_default_date(today=local_today())
    errors = []
    form = request.POST if request.method == "POST" else None
    chosen_items = [items[0]] if items else []
    chosen_warehouses = [w for w in warehouses if w.kind == WarehouseKind.PROVINCIAL_RESERVE]
    basis = ProposalBasis.ON_HAND
    if form is not None:
        basis = form.get("basis", ProposalBasis.ON_HAND)
        if basis not in ProposalBasis.values:
            errors.append(_("Basis: choose on hand, or on hand + arriving within 3 days."))
            basis = ProposalBasis.ON_HAND
        date = parse_iso_date(form.get("date", ""))
        if date is None:
            errors.append(_("Enter a valid date (YYYY-MM-DD)."))
        elif not is_reportable(date) or selectors.snapshot_build_for(date) is None:
            # Without a built snapshot every prefecture would come without stock and the
            # proposal would hand out nothing, with no word of why.
            errors.append(
                _("No snapshot has been built for %(date)s; choose a date that has one.")
                % {"date": date.isoformat()}
            )
        chosen_items = [i for i in items if form.get(f"item-{i.code}")]
        chosen_warehouses = [w for w in warehouses if form.get(f"warehouse-{w.code}")]
        # The units the office included; a post without the list (not this form) takes the
        # default: those with an open accepted request for a chosen item.
        chosen_units = (
            [u for u in units if form.get(f"unit-{u.pk}")] if form.get("units-shown") else None
        )
        quantities = {}
        for item in chosen_items:
            raw = form.get(f"quantity-{item.code}", "").strip()
            if raw:
                number, message = parse_whole_number(raw)
                if message:
                    errors.append(
                        _("%(item)s: the quantity must be a whole number.") % {"item": item.name}
                    )
                else:
                    quantities[item.pk] = number
        floors = {}
        if date is not None:
            defaults = default_reserve_floors(date=date, items=chosen_items)
            for item in chosen_items:
                if f"floor-{item.code}" not in form:
                    continue  # a post without the field (not this form): the office's floor
                raw = form[f"floor-{item.code}"].strip()
                if not raw:
                    # Emptied: the default for the chosen date, as the hint says.
                    floors[item.pk] = defaults[item.pk]["quantity"]
                    continue
                number, message = parse_whole_number(raw)
                if message:
                    errors.append(
                        _("%(item)s: the reserve floor must be a whole number, zero or more.")
                        % {"item": item.name}
                    )
                else:
                    floors[item.pk] = number
        weights = {}
        for prefecture in prefectures:
            raw = form.get(f"weight-{prefecture.code}", "").strip()
            if raw in ("", "1"):
                continue
            weight = _decimal(raw)
            if weight is None:
                errors.append(
                    _("%(prefecture)s: the weight must be a number.")
                    % {"prefecture": prefecture.name}
                )
                continue
            weights[prefecture.code] = (weight, form.get(f"reason-{prefecture.code}", ""))
        if not errors:
            try:
                proposal = proposal_create(
                    user=request.user,
                    name=form.get("name", ""),
                    date=date,
                    warehouses=chosen_warehouses,
                    inputs=proposal_inputs(date=date, items=chosen_items, units=chosen_units),
                    quantities=quantities,
                    weights=weights,
                    note=form.get("note", ""),
                    partial_items=partial_items(date=date, items=chosen_items),
                    coverage_reason=form.get("coverage_reason", ""),
                    floors=floors,
                    basis=basis,
                )
            except ProposalInvalid as exc:
                errors.extend(message for _row, message in exc.errors)
            else:
                messages.success(request, _("Proposal computed and kept as a draft."))
                return redirect("reports:proposal_detail", pk=proposal.pk)
    if form is not None and form.get("units-shown"):
        checked_units = {u.pk for u in units if form.get(f"unit-{u.pk}")}
    else:
        checked_units = {u.pk for u in units_with_open_requests(items=chosen_items)}
    positions = []
    provincial = [w for w in warehouses if w.kind == WarehouseKind.PROVINCIAL_RESERVE]
    held = reserve_positions(items, provincial or warehouses)  # two queries for every item
    # What arrives in the provincial reserve within 3 days of the default date (two queries).
    arriving = provincial_reserve_arriving_3d(
        default_date or local_today(), items=items, warehouses=provincial
    )
    # The floors offered are those of the default date; emptying one takes the chosen date's.
    offered = default_reserve_floors(date=default_date or local_today(), items=items)
    for item in items:
        on_hand, committed = held[item.pk]
        positions.append(
            {
                "item": item,
                "on_hand": on_hand,
                "committed": committed,
                "arriving_3d": arriving.get(item.pk, 0),
                # What was typed comes back after a refusal, so one bad field loses nothing.
                "typed": form.get(f"quantity-{item.code}", "") if form is not None else "",
                "floor": form.get(f"floor-{item.code}", "")
                if form is not None
                else offered[item.pk]["quantity"],
                "floor_basis": offered[item.pk],
            }
        )
    # A new form offers each prefecture's priority weight (reference data), with its reason,
    # both editable; a refused form gives back what was typed.
    reference_reason = _("Priority weight in the reference data")
    weight_rows = [
        {
            "prefecture": prefecture,
            "weight": form.get(f"weight-{prefecture.code}", "1")
            if form is not None
            else _weight_text(prefecture.priority_weight),
            "reason": form.get(f"reason-{prefecture.code}", "")
            if form is not None
            else (reference_reason if prefecture.priority_weight != 1 else ""),
        }
        for prefecture in prefectures
    ]
    return render(
        request,
        "reports/proposal_new.html",
        {
            "items": items,
            "positions": positions,
            "warehouses": warehouses,
            "prefectures": prefectures,
            "weight_rows": weight_rows,
            "units": units,
            "checked_units": checked_units,
            "default_date": default_date,
            "coverage_threshold_pct": round(
                float(settings.SUPPLYCOORD["COVERAGE_THRESHOLD"]) * 100
            ),
            "form": form,
            "errors": errors,
            "chosen_items": {i.code for i in chosen_items},
            "chosen_warehouses": {w.code for w in chosen_warehouses},
            "basis_choices": ProposalBasis.choices,
            "chosen_basis": basis,
            "default_name": _("Proposal of %(date)s")
            % {"date": local_now().strftime("%Y-%m-%d %H:%M")},
        },
        status=400 if errors else 200,
    )


def _typed_quantities(post) -> dict[int, str]:
    typed = {}
    for key, value in post.items():
        # ASCII digits only: "q-²" passes str.isdigit() but not int().
        pk = ascii_whole_number(key[2:]) if key.startswith("q-") else None
        if pk is not None:
            typed[pk] = value
    return typed


def _item_names(codes: str) -> str:
    """ "FH001, FH002" → "N95口罩、医用外科口罩" (or the English names), in the stored order; a
    code no longer in the catalogue is shown as it is. One query, none when empty."""
    wanted = [code.strip() for code in (codes or "").split(",") if code.strip()]
    if not wanted:
        return ""
    names = {item.code: item.name for item in Item.objects.filter(code__in=wanted)}
    return _(", ").join(names.get(code, code) for code in wanted)


def _detail_context(request, proposal, typed=None, errors=()):
    views = proposal_view(proposal, typed=typed)
    return {
        "proposal": proposal,
        "views": views,
        "editable": can_edit_proposals(request.user) and proposal.status == ProposalStatus.DRAFT,
        "errors": list(errors),
        "no_share_text": {key: text() for key, text in NO_SHARE_TEXT.items()},
        "rate_cap_text": format(rate_cap().normalize(), "f"),
        "charts": [view.chart() for view in views],
        # The items whose figure was partial, by name in the reader's language (stored as codes).
        "coverage_partial_names": _item_names(proposal.coverage_partial_items),
        "batches": proposal.batches.select_related("destination", "source_warehouse").order_by(
            "number"
        ),
    }


@require(sees_whole_province)
def proposal_detail(request, pk):
    """The proposal with its inputs; office staff edit a draft, save, accept or discard it."""
    proposal = get_object_or_404(
        Proposal.objects.select_related("created_by", "accepted_by"), pk=pk
    )
    if request.method == "POST":
        if not can_edit_proposals(request.user):
            raise PermissionDenied
        action = request.POST.get("action", "save")
        typed = _typed_quantities(request.POST)
        try:
            version = int(request.POST.get("version", ""))
        except ValueError:
            version = -1
        try:
            if action == "accept":
                # An accept that fails keeps neither the edits nor any batch (the page shows
                # the quantities as typed, with the reason).
                batches = proposal_accept(
                    user=request.user,
                    proposal=proposal,
                    expected_version=version,
                    quantities=typed,
                )
                messages.success(
                    request,
                    ngettext(
                        "Accepted: %(count)s draft dispatch batch created for approval.",
                        "Accepted: %(count)s draft dispatch batches created for approval.",
                        len(batches),
                    )
                    % {"count": grouped(len(batches))},
                )
            elif action == "discard":
                proposal_discard(user=request.user, proposal=proposal, expected_version=version)
                messages.success(request, _("Proposal set aside; it stays on record."))
            else:
                proposal_update(
                    user=request.user,
                    proposal=proposal,
                    expected_version=version,
                    quantities=typed,
                    name=request.POST.get("name"),
                    note=request.POST.get("note"),
                )
                messages.success(request, _("Draft saved."))
        except ProposalConflict as exc:
            messages.error(request, exc.message)
        except ProposalInvalid as exc:
            proposal.refresh_from_db()
            context = _detail_context(
                request, proposal, typed=typed, errors=[m for _r, m in exc.errors]
            )
            return render(request, "reports/proposal_detail.html", context, status=400)
        except AllocationError as exc:
            messages.error(request, exc.message)
        return redirect("reports:proposal_detail", pk=proposal.pk)
    return render(request, "reports/proposal_detail.html", _detail_context(request, proposal))


@require(can_edit_proposals)
@require_POST
def proposal_preview(request, pk):
    """htmx: the tables with the quantities as typed: totals and days of cover after."""
    proposal = get_object_or_404(Proposal, pk=pk)
    context = _detail_context(request, proposal, typed=_typed_quantities(request.POST))
    return render(request, "reports/_proposal_tables.html", context)
