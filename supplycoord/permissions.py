"""Who may see and change what: every permission rule of SupplyCoord, in one module.

A rule is a plain function of the user (and of the row, where the answer depends on it) that
returns a bool. Services raise their domain error when a rule says no; page views gate with
`require(rule)` and hand templates the rules' answers (or templates ask `{% can %}`, see
supplycoord/templatetags/rules.py); the DRF permission classes at the end call the
same rules. So the button a page shows is the action its service accepts.

The row scopes ("which prefectures, warehouses, producers, batches may this user see") are
here too, as `scope_*` functions the selectors apply to their querysets.

Rules read the role properties of `User` (`is_office`, `sees_whole_province`, ...) and the
rows' fields; they never query more than one `exists()`. This module imports the models of
the apps whose rows it rules on, and nothing else of theirs; no model imports it.
"""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy
from rest_framework import permissions as drf_permissions

from inventory.models import StockEventKind, Warehouse, WarehouseKind
from procurement.models import DistributionEnterprise
from production.models import Producer

from .models import Role

# --- Who the user is: the roles every rule builds on ----------------------------------------


def is_signed_in(user) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False))


def is_office(user) -> bool:
    """Office staff and admins (a superuser is an admin)."""
    return is_signed_in(user) and user.is_office


def sees_whole_province(user) -> bool:
    """Office staff, leadership and admins read every prefecture's rows."""
    return is_signed_in(user) and user.sees_whole_province


def is_prefecture_officer(user) -> bool:
    return is_signed_in(user) and user.is_prefecture_officer


def is_producer_reporter(user) -> bool:
    """A producer's reporter or resident commissioner (驻企特派员)."""
    return is_signed_in(user) and user.is_producer_reporter


def is_distribution_reporter(user) -> bool:
    """A reporter of a distribution enterprise (医药流通企业)."""
    return is_signed_in(user) and user.is_distribution_reporter


def is_prefecture_lead(user) -> bool:
    """市州领导 (issue 15): reads its prefecture, approves the batches the prefecture issues."""
    return is_signed_in(user) and user.is_prefecture_lead


def is_county_officer(user) -> bool:
    """区县联络员 (issue 15): one county's batches, requests and figures."""
    return is_signed_in(user) and user.is_county_officer


def _home_prefecture_id(user) -> int | None:
    """The one prefecture an officer sees and changes; None for every other role."""
    if is_prefecture_officer(user) and user.prefecture_id:
        return user.prefecture_id
    return None


def _reading_prefecture_id(user) -> int | None:
    """The one prefecture an officer or a prefecture lead reads; None for every other role.
    Writes go by `_home_prefecture_id`: a lead changes nothing but its approvals."""
    if (is_prefecture_officer(user) or is_prefecture_lead(user)) and user.prefecture_id:
        return user.prefecture_id
    return None


def _home_county_id(user) -> int | None:
    """The one county a county officer sees and changes; None for every other role."""
    if is_county_officer(user) and user.county_id:
        return user.county_id
    return None


# --- Pages a role opens (the rows are scoped below) -----------------------------------------


def can_read_prefecture_data(user) -> bool:
    """Reports, alerts, the ledger, dispatch batches, protected staff: the whole province, or
    an officer or a prefecture lead for their own prefecture."""
    return sees_whole_province(user) or _reading_prefecture_id(user) is not None


def can_read_production(user) -> bool:
    """Producers, their problems and the production exports: the whole province, an officer
    for their prefecture's producers, a reporter for their own."""
    return can_read_prefecture_data(user) or is_producer_reporter(user)


def can_enter_daily_figures(user) -> bool:
    """Office staff for every prefecture, an officer for theirs; leadership only reads."""
    return is_office(user) or is_prefecture_officer(user)


def can_report_production(user) -> bool:
    """Office staff for every producer, a reporter for theirs; officers and leadership read."""
    return is_office(user) or is_producer_reporter(user)


def can_backdate_freely(user) -> bool:
    """Office staff enter any past date; officers only within the back-dating window."""
    return is_office(user)


def can_view_screen(user) -> bool:
    """The big screen (大屏, /screen/): office, leadership and admins. It shows province figures
    (rollups, every prefecture's status), which only roles reading the whole province see."""
    return sees_whole_province(user)


def can_read_spot_checks(user) -> bool:
    """Office and leadership. Spot checks compare prefectures with each other (the median is
    made of every prefecture's figures), so a prefecture officer does not see them."""
    return sees_whole_province(user)


# Office work with no row to decide on: one rule, named where it is used.
def can_follow_up_spot_checks(user) -> bool:
    """The office records follow-ups; leadership reads them."""
    return is_office(user)


def can_edit_protected_staff(user) -> bool:
    return is_office(user)


def can_import_stock_events(user) -> bool:
    return is_office(user)


def can_change_producer_register(user) -> bool:
    return is_office(user)


def can_record_donation(user) -> bool:
    return is_office(user)


def can_change_norms(user) -> bool:
    return is_office(user)


def can_edit_proposals(user) -> bool:
    return is_office(user)


def can_build_snapshots(user) -> bool:
    return is_office(user)


def can_settle_reconciliation(user) -> bool:
    """Accept or reopen a reconciliation gap; explaining one is `can_report_for_prefecture`."""
    return is_office(user)


# --- Prefectures ------------------------------------------------------------------------------


def scope_to_prefecture(user, rows: QuerySet, prefecture_field: str) -> QuerySet:
    """`rows` as `user` may see them: all for the whole province, an officer's prefecture's
    (`prefecture_field` is the lookup of a row's prefecture id), none for anyone else."""
    if sees_whole_province(user):
        return rows.all()
    home = _reading_prefecture_id(user)
    if home is not None:
        return rows.filter(**{prefecture_field: home})
    return rows.none()


def can_view_prefecture(user, prefecture) -> bool:
    return sees_whole_province(user) or (
        _reading_prefecture_id(user) is not None and _reading_prefecture_id(user) == prefecture.pk
    )


def can_report_for_prefecture(user, prefecture) -> bool:
    """Daily figures, reconciliation explanations: office staff anywhere, an officer at home."""
    return is_office(user) or (
        _home_prefecture_id(user) is not None and _home_prefecture_id(user) == prefecture.pk
    )


# --- Counties and their daily figures (three-level dispatch, issue 15) ---------------------
#
# A prefecture that reports as the sum of its counties (Prefecture.reports_as_sum_of_counties)
# has its counties' figures entered by their county officers (or the office) and its own rows
# derived from them (inventory.county_figures). Whether a county's prefecture reports so is the
# entry kind's row check (a 400 naming the row), not a scope rule (a 403).


def can_enter_county_figures(user) -> bool:
    """The county figures' entry page, import and API writes: the office for every county, a
    county officer for its own (`can_report_for_county`)."""
    return is_office(user) or _home_county_id(user) is not None


def can_report_for_county(user, county) -> bool:
    """Write a county's daily figures: the office anywhere, a county officer at home. The
    prefecture's officers read them (`can_read_county_figures`) but do not enter them."""
    return is_office(user) or (
        _home_county_id(user) is not None and _home_county_id(user) == county.pk
    )


def can_read_county_figures(user) -> bool:
    """The counties' status page (which county reported which item): the whole province, and
    a prefecture's officers and lead for their prefecture (`scope_counties`)."""
    return can_read_prefecture_data(user)


def can_set_reports_as_sum(user) -> bool:
    """Switch a prefecture to (or back from) reporting as the sum of its counties: the office."""
    return is_office(user)


def scope_counties(user, counties: QuerySet) -> QuerySet:
    """The counties `user` sees: every one for the whole province, its prefecture's for an
    officer or a lead, its own for a county officer, none for anyone else."""
    if sees_whole_province(user):
        return counties.all()
    home = _reading_prefecture_id(user)
    if home is not None:
        return counties.filter(prefecture_id=home)
    county = _home_county_id(user)
    if county is not None:
        return counties.filter(pk=county)
    return counties.none()


# --- Warehouses and the stock ledger --------------------------------------------------------


def can_view_warehouse(user, warehouse: Warehouse) -> bool:
    return sees_whole_province(user) or (
        _reading_prefecture_id(user) is not None
        and warehouse.prefecture_id == _reading_prefecture_id(user)
    )


def can_post_to_warehouse(
    user,
    warehouse: Warehouse,
    *,
    kind: str | None = None,
    reverses_kind: str | None = None,
    for_production_report: bool = False,
) -> bool:
    """Who may post stock events (of `kind`, when given) to a warehouse.

    Office staff and admins: any warehouse (the services still refuse an inactive one, with a
    message). A prefecture officer: the active prefecture warehouses of their own prefecture;
    the provincial reserve is the office's. A producer's reporter or commissioner: receipts
    (output delivered into the held reserve) and reversals of receipts (a corrected report),
    in the held-reserve warehouse of a producer they report for, and only when booked by
    their production report (`for_production_report`): never a free-standing receipt through
    the ledger API. Leadership reads but does not post.
    """
    if is_office(user):
        return True
    if is_producer_reporter(user):
        return bool(
            for_production_report
            and (
                kind == StockEventKind.RECEIPT
                or (kind == StockEventKind.REVERSAL and reverses_kind == StockEventKind.RECEIPT)
            )
            and warehouse.kind == WarehouseKind.PRODUCER_HELD
            and Warehouse.objects.filter(pk=warehouse.pk, producer__reporters=user).exists()
        )
    home = _home_prefecture_id(user)
    return bool(
        home is not None
        and warehouse.active
        and warehouse.kind == WarehouseKind.PREFECTURE
        and warehouse.prefecture_id == home
    )


def can_reverse_stock_event(user, event, *, reversed_by=None) -> bool:
    """The reverse button: an event not itself a reversal, not reversed yet (`reversed_by`,
    the reversing event if the caller already looked it up), whose warehouse the user may
    post a reversal to from the ledger pages."""
    return (
        event.kind != StockEventKind.REVERSAL
        and reversed_by is None
        and can_post_to_warehouse(
            user, event.warehouse, kind=StockEventKind.REVERSAL, reverses_kind=event.kind
        )
    )


# --- Producers --------------------------------------------------------------------------------


def scope_producers(user, producers: QuerySet) -> QuerySet:
    """Producers `user` may see: the whole province's, an officer's prefecture's (read-only),
    a reporter's own."""
    if is_producer_reporter(user):
        return producers.filter(reporters=user)
    return scope_to_prefecture(user, producers, "prefecture_id")


def producers_reportable_by(user) -> QuerySet[Producer]:
    """Active producers `user` may report for: all for the office, a reporter's own, in
    register order."""
    producers = (
        Producer.objects.filter(active=True)
        .select_related("prefecture", "county")
        .order_by("prefecture__code", "name")
    )
    if is_office(user):
        return producers
    if is_producer_reporter(user):
        return producers.filter(reporters=user)
    return producers.none()


def can_report_for_producer(user, producer: Producer) -> bool:
    """Report a producer's output, change its lines and licences, handle its problems:
    office staff for every producer, a reporter for the producers assigned to them."""
    if is_office(user):
        return True
    return is_producer_reporter(user) and producer.reporters.filter(pk=user.pk).exists()


def access_scope(user) -> str:
    """What `user` is allowed to see, as a string that changes when their access does: the
    role, an officer's prefecture (`scope_to_prefecture`), a reporter's producers
    (`scope_producers`). A background export records it with its file (which holds the rows
    of that scope) and is served only while the asker's scope is still the same; "" for
    someone signed out."""
    if not is_signed_in(user):
        return ""
    parts = [f"role={user.effective_role}"]
    home = _reading_prefecture_id(user)
    if home is not None:
        parts.append(f"prefecture={home}")
    county = _home_county_id(user)
    if county is not None:
        parts.append(f"county={county}")
    if is_producer_reporter(user):
        producers = scope_producers(user, Producer.objects.all()).order_by("pk")
        parts.append(
            "producers=" + ",".join(str(pk) for pk in producers.values_list("pk", flat=True))
        )
    if is_unit_requester(user):
        units = user.requester_units.order_by("pk").values_list("pk", flat=True)
        parts.append("units=" + ",".join(str(pk) for pk in units))
    if is_distribution_reporter(user):
        enterprises = scope_distribution_enterprises(
            user, DistributionEnterprise.objects.all()
        ).order_by("pk")
        parts.append(
            "distribution_enterprises="
            + ",".join(str(pk) for pk in enterprises.values_list("pk", flat=True))
        )
    return ";".join(parts)


# --- Dispatch batches and donations ---------------------------------------------------------


# Three-level dispatch (issue 15): a batch is the province's (issuing_prefecture empty; from a
# provincial or producer-held warehouse) or a prefecture's (from that prefecture's own
# warehouse, to its counties and units). Whoever issues a batch edits, dispatches, cancels,
# closes and documents it: the office at the province's level, the prefecture's officers at
# theirs. The province reads every level and acts on none of a prefecture's.


def can_read_batches(user) -> bool:
    """The batch pages: the whole province, a prefecture's officers and lead, a county
    officer (its county's batches only, `scope_batches`)."""
    return can_read_prefecture_data(user) or _home_county_id(user) is not None


def scope_batches(user, batches: QuerySet) -> QuerySet:
    """The whole province: every batch. An officer or a prefecture lead: batches to
    destinations of their prefecture, batches their prefecture issues, and batches that name
    them as the confirming officer. A county officer: batches to its county's destinations or
    naming it. Anyone else: none."""
    if sees_whole_province(user):
        return batches.all()
    home = _reading_prefecture_id(user)
    if home is not None:
        return batches.filter(
            Q(destination__prefecture_id=home)
            | Q(issuing_prefecture_id=home)
            | Q(destination__confirming_officer_id=user.pk)
        )
    county = _home_county_id(user)
    if county is not None:
        return batches.filter(
            Q(destination__county_id=county) | Q(destination__confirming_officer_id=user.pk)
        )
    return batches.none()


def scope_batches_awaiting_my_level(user, batches: QuerySet) -> QuerySet:
    """The batches of the level whose approvals `user` follows: the province's for the whole
    province, the prefecture's own for its officers and lead, none for anyone else."""
    if sees_whole_province(user):
        return batches.filter(issuing_prefecture__isnull=True)
    home = _reading_prefecture_id(user)
    if home is not None:
        return batches.filter(issuing_prefecture_id=home)
    return batches.none()


def can_create_batch(user) -> bool:
    """The batch form opens for the office and for prefecture officers (which warehouses each
    issues from: `can_issue_from`)."""
    return is_office(user) or _home_prefecture_id(user) is not None


def can_issue_from(user, warehouse: Warehouse) -> bool:
    """A prefecture warehouse's batches are its prefecture's officers'; every other warehouse's
    (provincial reserve, producer-held, other) the office's."""
    if warehouse.kind == WarehouseKind.PREFECTURE:
        home = _home_prefecture_id(user)
        return home is not None and warehouse.prefecture_id == home
    return is_office(user)


def scope_issuing_warehouses(user, warehouses: QuerySet) -> QuerySet:
    """The warehouses `user` may issue batches from (see `can_issue_from`)."""
    home = _home_prefecture_id(user)
    if home is not None:
        return warehouses.filter(kind=WarehouseKind.PREFECTURE, prefecture_id=home)
    if is_office(user):
        return warehouses.exclude(kind=WarehouseKind.PREFECTURE)
    return warehouses.none()


def scope_batch_destinations(user, destinations: QuerySet) -> QuerySet:
    """Where the batches `user` issues may go: the office's (the province's) to any
    destination; a prefecture officer's (from its own warehouse) to its prefecture's counties
    and units, never to the prefecture itself (that is a move inside its own stock). The
    pickers of the batch pages and the API's refusal by field apply it; the service's
    `_check_level` holds the same rule."""
    home = _home_prefecture_id(user)
    if home is not None:
        return destinations.filter(prefecture_id=home).exclude(kind="prefecture")
    if is_office(user):
        return destinations.all()
    return destinations.none()


def _issues_batch(user, batch) -> bool:
    if batch.issuing_prefecture_id:
        home = _home_prefecture_id(user)
        return home is not None and home == batch.issuing_prefecture_id
    return is_office(user)


def can_edit_batch(user, batch) -> bool:
    return _issues_batch(user, batch)


def can_approve_batch(user, batch) -> bool:
    """The province's batches: leadership. A prefecture's: its lead. An admin may stand in."""
    if not is_signed_in(user):
        return False
    if user.is_admin_role:
        return True
    if batch.issuing_prefecture_id:
        return is_prefecture_lead(user) and user.prefecture_id == batch.issuing_prefecture_id
    return user.is_leadership


def can_dispatch_batch(user, batch) -> bool:
    return _issues_batch(user, batch)


def can_cancel_batch(user, batch) -> bool:
    return _issues_batch(user, batch)


def can_close_batch(user, batch) -> bool:
    return _issues_batch(user, batch)


def can_attach_to_batch(user, batch) -> bool:
    return _issues_batch(user, batch)


def can_receive_batch(user, batch) -> bool:
    """Whoever issued it (recording a receipt reported by telephone), the destination's
    confirming officer, an officer of the destination's prefecture, or the county officer of
    the destination's county."""
    if _issues_batch(user, batch):
        return True
    destination = batch.destination
    if destination.confirming_officer_id and destination.confirming_officer_id == user.pk:
        return is_prefecture_officer(user) or is_county_officer(user)
    home = _home_prefecture_id(user)
    if home is not None:
        return bool(destination.prefecture_id and destination.prefecture_id == home)
    county = _home_county_id(user)
    return bool(county is not None and destination.county_id == county)


# --- Requests from below (issue 15) ----------------------------------------------------------
#
# A claimant is an allocation.Destination. A prefecture officer requests for its prefecture and
# the counties in it; a unit requester for the units that name it (Destination.requesters); the
# office for anyone (a request taken by telephone). Leadership reads.

# The destination kinds an officer requests for within its prefecture.
_OFFICER_CLAIMANT_KINDS = ("prefecture", "county")
# A county officer requests for its county's destination of this kind; its prefecture's
# officers triage those requests and answer them from the prefecture's warehouse.
_COUNTY_CLAIMANT_KIND = "county"


def is_unit_requester(user) -> bool:
    return is_signed_in(user) and user.is_unit_requester


def can_read_requests(user) -> bool:
    """Anyone who may request, and the whole province; never producers or enterprises."""
    return is_signed_in(user) and (
        sees_whole_province(user)
        or _reading_prefecture_id(user) is not None
        or _home_county_id(user) is not None
        or is_unit_requester(user)
    )


def can_submit_requests(user) -> bool:
    """The role may submit requests for some claimant (which ones: `scope_claimants`)."""
    return is_signed_in(user) and (
        is_office(user)
        or is_prefecture_officer(user)
        or _home_county_id(user) is not None
        or is_unit_requester(user)
    )


def scope_claimants(user, claimants: QuerySet) -> QuerySet:
    """The claimants `user` may submit requests for (and read the requests of)."""
    if is_office(user):
        return claimants.all()
    home = _home_prefecture_id(user)
    if home is not None:
        return claimants.filter(prefecture_id=home, kind__in=_OFFICER_CLAIMANT_KINDS)
    county = _home_county_id(user)
    if county is not None:
        return claimants.filter(county_id=county, kind=_COUNTY_CLAIMANT_KIND)
    if is_unit_requester(user):
        return claimants.filter(requesters=user.pk)
    return claimants.none()


def can_request_for(user, claimant) -> bool:
    if not can_submit_requests(user) or not claimant.active:
        return False
    if is_office(user):
        return True
    home = _home_prefecture_id(user)
    if home is not None:
        return claimant.kind in _OFFICER_CLAIMANT_KINDS and claimant.prefecture_id == home
    county = _home_county_id(user)
    if county is not None:
        return claimant.kind == _COUNTY_CLAIMANT_KIND and claimant.county_id == county
    return is_unit_requester(user) and claimant.requesters.filter(pk=user.pk).exists()


def scope_requests(user, requests: QuerySet) -> QuerySet:
    """The whole province: every request. An officer or a prefecture lead: its prefecture's
    and its counties'. A county officer: its county's. A unit requester: its units'. Anyone
    else: none."""
    if sees_whole_province(user):
        return requests.all()
    home = _reading_prefecture_id(user)
    if home is not None:
        return requests.filter(
            claimant__prefecture_id=home, claimant__kind__in=_OFFICER_CLAIMANT_KINDS
        )
    county = _home_county_id(user)
    if county is not None:
        return requests.filter(claimant__county_id=county, claimant__kind=_COUNTY_CLAIMANT_KIND)
    if is_unit_requester(user):
        return requests.filter(claimant__requesters=user.pk)
    return requests.none()


def can_view_request(user, request) -> bool:
    if sees_whole_province(user):
        return True
    if not can_read_requests(user):
        return False
    claimant = request.claimant
    home = _reading_prefecture_id(user)
    if home is not None:
        return claimant.kind in _OFFICER_CLAIMANT_KINDS and claimant.prefecture_id == home
    return can_request_for(user, claimant)


def can_read_claimants(user) -> bool:
    """The claimant register: the whole province reads it."""
    return sees_whole_province(user)


def can_change_claimants(user) -> bool:
    """The office keeps the claimant register (codes, requesters, staff)."""
    return is_office(user)


def can_triage_requests(user) -> bool:
    """The triage pages open for the office and for prefecture officers (whose requests each
    decides: `can_triage_request`)."""
    return is_office(user) or _home_prefecture_id(user) is not None


def can_triage_request(user, request) -> bool:
    """The office decides on every request; a prefecture's officers on its counties' (they
    answer them from the prefecture's warehouse, three-level dispatch)."""
    if is_office(user):
        return True
    home = _home_prefecture_id(user)
    claimant = request.claimant
    return bool(
        home is not None
        and claimant.kind == _COUNTY_CLAIMANT_KIND
        and claimant.prefecture_id == home
    )


def scope_requests_to_triage(user, requests: QuerySet) -> QuerySet:
    """The requests `user` decides on (see `can_triage_request`): every one for the office,
    its counties' for a prefecture officer, none for anyone else."""
    if is_office(user):
        return requests.all()
    home = _home_prefecture_id(user)
    if home is not None:
        return requests.filter(claimant__prefecture_id=home, claimant__kind=_COUNTY_CLAIMANT_KIND)
    return requests.none()


def can_withdraw_request(user, request) -> bool:
    """Whoever may request for the claimant (the office included) withdraws what is not yet in
    a batch."""
    return can_request_for(user, request.claimant)


# --- Procurement: suppliers, reserve-task units, purchase orders ----------------------------


def can_read_procurement(user) -> bool:
    """The supplier directory, reserve-task units and purchase orders: the office and
    leadership. Prefecture officers and reporters do not see them (prices, capital lines)."""
    return sees_whole_province(user)


def can_change_suppliers(user) -> bool:
    """Suppliers, their capabilities and reserve-task units: the office."""
    return is_office(user)


def can_edit_purchase_order(user, order=None) -> bool:
    """Draft orders, their placing, cancelling, closing and payments: the office."""
    return is_office(user)


def can_record_order_arrival(user, order=None) -> bool:
    """Goods of an order arriving in a reserve warehouse: the office (it posts the receipt)."""
    return is_office(user)


def can_request_national_allocation(user, request=None) -> bool:
    """Requests for national allocation (申请国家调拨), their export and refusal: the office."""
    return is_office(user)


def can_record_national_allocation(user, allocation=None) -> bool:
    """Announced national allocations (国家调拨通知) and their arrivals: the office (an
    arrival posts a receipt in the reserve ledger)."""
    return is_office(user)


def scope_purchase_orders(user, orders: QuerySet) -> QuerySet:
    """The office and leadership: every order. Anyone else: none."""
    if can_read_procurement(user):
        return orders.all()
    return orders.none()


# --- Distribution enterprises (医药流通企业) and their daily reports -------------------------


def can_read_distribution(user) -> bool:
    """The enterprise list and pages: the whole province; an officer for the enterprises
    located in their prefecture (read-only, as for producers); a reporter for their own.
    The province rollup and completeness are `can_read_distribution_rollup`."""
    return (
        sees_whole_province(user) or is_prefecture_officer(user) or is_distribution_reporter(user)
    )


def can_read_distribution_rollup(user) -> bool:
    """Province sums and completeness over every enterprise: the office and leadership."""
    return sees_whole_province(user)


def can_report_distribution(user) -> bool:
    """Submit daily reports: office staff for every enterprise, a reporter for theirs."""
    return is_office(user) or is_distribution_reporter(user)


def can_change_distribution_register(user) -> bool:
    """Create and edit enterprises, assign their reporters and items: the office."""
    return is_office(user)


def scope_distribution_enterprises(user, enterprises: QuerySet) -> QuerySet:
    """Enterprises `user` may see: every one for the whole province, an officer's
    prefecture's, a reporter's own, none for anyone else."""
    if is_distribution_reporter(user):
        return enterprises.filter(reporters=user)
    return scope_to_prefecture(user, enterprises, "prefecture_id")


def distribution_enterprises_reportable_by(user) -> QuerySet[DistributionEnterprise]:
    """Active enterprises `user` may report for: all for the office, a reporter's own."""
    enterprises = (
        DistributionEnterprise.objects.filter(active=True)
        .select_related("prefecture")
        .order_by("name", "pk")
    )
    if is_office(user):
        return enterprises
    if is_distribution_reporter(user):
        return enterprises.filter(reporters=user)
    return enterprises.none()


def can_report_for_distribution_enterprise(user, enterprise: DistributionEnterprise) -> bool:
    """Report (and correct) an enterprise's daily figures: office staff for every enterprise,
    a reporter for the enterprises assigned to them."""
    if is_office(user):
        return True
    return is_distribution_reporter(user) and enterprise.reporters.filter(pk=user.pk).exists()


# --- Notifications (issue 16) ----------------------------------------------------------------


def can_manage_webhooks(user) -> bool:
    """The messaging gateways (outbound webhooks) notifications go out through: the office."""
    return is_office(user)


def scope_recipients(users: QuerySet, *, prefecture_id=None, county_id=None) -> QuerySet:
    """Who of `users` may be told of an event of a prefecture (and of a county in it): the
    rows' scopes above, applied to people. An officer or a lead of another prefecture never,
    a county officer only for an event of its own county (never of a prefecture as a whole).
    The whole province and the people an event names by its rows (a request's requesters, a
    producer's commissioners) are kept. An event of no prefecture (the province's batch, a
    unit's request) leaves `users` as they are."""
    if prefecture_id is None:
        return users
    superuser = Q(is_superuser=True)
    other_prefecture = Q(role__in=(Role.PREFECTURE_OFFICER, Role.PREFECTURE_LEAD)) & ~Q(
        prefecture_id=prefecture_id
    )
    county_officer = Q(role=Role.COUNTY_OFFICER)
    if county_id is not None:
        county_officer &= ~Q(county_id=county_id)
    return users.exclude(~superuser & (other_prefecture | county_officer))


# --- Page views ---------------------------------------------------------------------------------


def require(rule):
    """View decorator: log in first, then `rule(user)` must hold, else 403."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not rule(request.user):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


# --- The API: DRF permission classes calling the rules ---------------------------------------


class RulePermission(drf_permissions.BasePermission):
    """Reads (GET, HEAD, OPTIONS) need `read_rule`, writes `write_rule`; each a rule above.
    Rows are scoped, and row rules checked, by the selectors and services the views call."""

    read_rule = staticmethod(is_signed_in)
    write_rule = staticmethod(is_signed_in)
    message = None  # DRF's own "You do not have permission..."

    def has_permission(self, request, view):
        rule = self.read_rule if request.method in drf_permissions.SAFE_METHODS else self.write_rule
        return bool(rule(request.user))


class IsOfficeStaff(RulePermission):
    """Office staff and admins, for reads and writes."""

    read_rule = write_rule = staticmethod(is_office)
    message = gettext_lazy("Only office staff may do this.")


class MaySubmitDailyFigures(RulePermission):
    """Anyone signed in reads what they may see; prefecture officers (for their prefecture)
    and office staff write; leadership only reads."""

    write_rule = staticmethod(can_enter_daily_figures)
    message = gettext_lazy("Your role may not submit daily figures.")


class MaySubmitCountyFigures(RulePermission):
    """Anyone signed in reads the county figures they may see (`scope_counties`); the office
    and county officers (for their county) write."""

    write_rule = staticmethod(can_enter_county_figures)
    message = gettext_lazy("Your role may not submit county figures.")


class MayChangeProcurement(RulePermission):
    """The office and leadership read suppliers and orders; only the office writes."""

    read_rule = staticmethod(can_read_procurement)
    write_rule = staticmethod(can_change_suppliers)
    message = gettext_lazy("Only office staff may change procurement records.")


class MayRequestSupplies(RulePermission):
    """Claimants' requesters, officers, the office read and write requests in their scope;
    leadership reads."""

    read_rule = staticmethod(can_read_requests)
    write_rule = staticmethod(can_submit_requests)
    message = gettext_lazy("Your role may not submit supply requests.")


class MayReportProduction(RulePermission):
    """Anyone signed in reads what they may see; only the office and reporters write."""

    write_rule = staticmethod(can_report_production)
    message = gettext_lazy("Your role may not report for producers.")


class MayReportDistribution(RulePermission):
    """Anyone who may read distribution reports reads what they may see; only the office and
    distribution reporters write."""

    read_rule = staticmethod(can_read_distribution)
    write_rule = staticmethod(can_report_distribution)
    message = gettext_lazy("Your role may not report for distribution enterprises.")
