"""Write a province (read by `files.province_read`) into the database, idempotently.

Where a service exists the loader goes through it, so the audit rows and the ledger rules
hold: reference CSVs (`reference_load_csv`), norms (`norm_set`), stock events
(`stock_events_import`), producers, licences, problems and production reports (production's
services), donations and batches (allocation's history services). Where the history is older
than the services accept, or the rows are many, it writes as the services would, with
`bulk_create_with_history`: protected staff and the daily figures (historic dates; the service
refuses old dates for officers and would queue one snapshot rebuild per date).

Idempotent: users by username, staff by (prefecture, category), norms by (category, item,
effective date), figures by (prefecture, item, date), stock events and batches by client UUID
or number, producers by credit code (lines and raw materials only for a producer that has
none), licences by (producer, kind, number), reports by (producer, item, date), problems by
(producer, description). Existing rows are never changed, so running it again changes nothing
and never overwrites what the office has corrected.
"""

import contextlib
import datetime as dt
import math
import random
from collections import defaultdict
from decimal import Decimal
from fractions import Fraction

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from simple_history.utils import bulk_create_with_history

from allocation.models import (
    ClaimantStaff,
    Destination,
    DestinationKind,
    DispatchBatch,
    DispatchBatchLine,
    RequestAction,
    RequestEvent,
    SupplyRequest,
)
from allocation.requests import request_submit, request_triage
from allocation.services import (
    AllocationError,
    batch_create,
    batches_import_history,
    donations_import_history,
)
from inventory.county_figures import county_figures_submit, prefecture_set_reports_as_sum
from inventory.models import (
    CountyDailyFigure,
    DailyFigure,
    ReceiptSource,
    StockEvent,
    StockEventKind,
    Warehouse,
)
from inventory.services import LedgerError, ProtectedStaffInvalid, stock_events_import
from procurement.distribution_services import distribution_enterprise_create
from procurement.models import (
    DistributionEnterprise,
    DistributionReport,
    NationalAllocation,
    NationalAllocationArrival,
    NationalRequest,
    OrderArrival,
    OrderArrivalLine,
    OrderPayment,
    OrderStatus,
    OrderTransition,
    OrderYearSequence,
    PurchaseOrder,
    PurchaseOrderLine,
    ReserveUnit,
    Supplier,
    SupplierCapability,
)
from procurement.services import (
    ProcurementError,
    national_allocation_announce,
    national_request_create,
    reserve_unit_create,
    supplier_capability_set,
    supplier_create,
)
from production.models import (
    Licence,
    LineStatus,
    Problem,
    Producer,
    ProductionLine,
    ProductionReport,
    RawMaterial,
)
from production.services import (
    licence_add,
    problem_report,
    problem_resolve,
    problem_take,
    producer_create,
    production_reports_submit,
)
from reports.models import SnapshotBuild, SnapshotRebuild
from reports.services import snapshot_rebuild_clear, snapshot_rebuild_seen
from supplycoord.bulk import RowsInvalid
from supplycoord.lib.dates import local_date
from supplycoord.lib.numbers import grouped
from supplycoord.models import (
    County,
    Item,
    Norm,
    Prefecture,
    ProtectedStaff,
    Role,
    StaffCategory,
    User,
)
from supplycoord.norms import norm_set
from supplycoord.selectors import active_prefectures, key_items
from supplycoord.services import ReferenceDataInvalid, reference_load_csv

from . import generate
from .files import Province, ProvinceDataInvalid, ProvinceFileError

# --- what the services refuse, named like the files' problems ------------------------------

# What a folder that passed the file checks can still run into in the services: the
# database's constraints, a model's or a service's validation, a permission, the ledger's
# and allocation's rules, the loader's own ValueErrors.
_REFUSALS = (
    DatabaseError,
    ValidationError,
    PermissionDenied,
    AllocationError,
    LedgerError,
    RowsInvalid,
    ProtectedStaffInvalid,
    ProcurementError,
    ValueError,
)


def _refusal_message(exc) -> str:
    if isinstance(exc, ValidationError):
        if hasattr(exc, "error_dict"):
            return "; ".join(
                f"{field}: {message}"
                for field, messages in exc.message_dict.items()
                for message in messages
            )
        return "; ".join(exc.messages)
    if isinstance(exc, DatabaseError):
        return _("The database refused it: %(error)s") % {"error": " ".join(str(exc).split())}
    parts = []
    errors = getattr(exc, "errors", None)
    for error in errors.items() if isinstance(errors, dict) else errors or ():
        if isinstance(error, tuple):  # (position, message) or (key, message)
            parts.append(str(error[-1]))
        else:
            field, message = getattr(error, "field", ""), getattr(error, "message", error)
            parts.append(f"{field}: {message}" if field else str(message))
    if parts:
        return "; ".join(parts)
    return str(getattr(exc, "message", None) or exc)


@contextlib.contextmanager
def _refused_as(file: str, row: int | str = 0, field: str = "", *, columns=None):
    """Turn what the services refuse into a ProvinceDataInvalid naming the file (and the row
    and field where known), so the command reports it like a file's problem; the transaction
    is rolled back as it leaves. `columns` maps a ValidationError's field to the file's."""
    try:
        yield
    except ProvinceDataInvalid:
        raise
    except _REFUSALS as exc:
        if columns and hasattr(exc, "error_dict"):
            field = next((columns[f] for f in exc.error_dict if f in columns), field)
        raise ProvinceDataInvalid(
            [ProvinceFileError(file, row, field, _refusal_message(exc))]
        ) from exc


# --- reference data and people ------------------------------------------------------------


@transaction.atomic
def province_reference_load(province: Province, *, user=None) -> list[dict]:
    """The folder's reference CSVs (or the shipped ones), in dependency order.

    Their rows are checked by the reference loader itself; its problems are reported like
    the other files' (file, row, column) and nothing is saved."""
    results = []
    for kind, path in province.reference.items():
        try:
            results.append(reference_load_csv(kind=kind, path_or_file=path, user=user))
        except ReferenceDataInvalid as exc:
            raise ProvinceDataInvalid(
                [ProvinceFileError(path.name, e.row, e.field, str(e.message)) for e in exc.errors]
            ) from exc
    return results


@transaction.atomic
def province_users_create(province: Province) -> dict:
    """Create the province's users that do not exist yet; existing ones are left as they are."""
    existing = set(
        User.objects.filter(username__in=[u.username for u in province.users]).values_list(
            "username", flat=True
        )
    )
    prefectures = {
        p.code: p
        for p in Prefecture.objects.filter(
            code__in=[u.prefecture_code for u in province.users if u.prefecture_code]
        )
    }
    counties = {
        c.code: c
        for c in County.objects.filter(
            code__in=[u.county_code for u in province.users if u.county_code]
        ).select_related("prefecture")
    }
    created = []
    for spec in province.users:
        if spec.username in existing:
            continue
        if spec.prefecture_code and spec.prefecture_code not in prefectures:
            raise ValueError(
                f"prefecture {spec.prefecture_code} of user {spec.username} is not loaded"
            )
        if spec.county_code and spec.county_code not in counties:
            raise ValueError(f"county {spec.county_code} of user {spec.username} is not loaded")
        county = counties.get(spec.county_code)
        user = User(
            username=spec.username,
            first_name=spec.first_name,
            role=spec.role,
            # A county officer's prefecture is its county's (the file checks they agree).
            prefecture=county.prefecture if county else prefectures.get(spec.prefecture_code),
            county=county,
            is_staff=spec.superuser,
            is_superuser=spec.superuser,
        )
        user.set_password(spec.password)
        with _refused_as("users.csv", spec.row, "username"):
            user.save()
        created.append(spec.username)
    return {"created": created, "existing": sorted(existing)}


def province_users_listing(province: Province) -> list[dict]:
    """The province's users that exist, with their documented password (or a note if changed)."""
    users = {
        u.username: u
        for u in User.objects.filter(username__in=[spec.username for spec in province.users])
        .select_related("prefecture", "county")
        .prefetch_related("distribution_enterprises", "producers", "requester_units")
    }
    rows = []
    for spec in province.users:
        user = users.get(spec.username)
        if user is None:
            continue
        rows.append(
            {
                "username": user.username,
                "role": user.effective_role,
                "role_label": Role(user.effective_role).label,
                "prefecture": user.prefecture.code if user.prefecture else "",
                "prefecture_name": user.prefecture.name if user.prefecture else "",
                "county": user.county.code if user.county else "",
                "county_name": user.county.name if user.county else "",
                "password": spec.password,
                "password_unchanged": user.check_password(spec.password),
                # Whom a reporter reports for: its enterprises' names, or its producers' count.
                "reports_for": "、".join(e.name for e in user.distribution_enterprises.all())
                # A unit requester requests for its units.
                or "、".join(u.name_zh for u in user.requester_units.all())
                or (
                    ngettext("%(count)s producer", "%(count)s producers", len(user.producers.all()))
                    % {"count": len(user.producers.all())}
                    if user.effective_role == Role.PRODUCER_REPORTER
                    else ""
                ),
            }
        )
    return rows


@transaction.atomic
def province_protected_staff_create(province: Province, *, user=None) -> dict:
    """Protected staff for every prefecture and category with a rate; existing rows stay."""
    prefectures = list(Prefecture.objects.order_by("code"))
    categories = list(StaffCategory.objects.order_by("sort_order", "code"))
    existing = set(ProtectedStaff.objects.values_list("prefecture_id", "category_id"))
    rows = []
    for prefecture in prefectures:
        for category in categories:
            if (prefecture.pk, category.pk) in existing:
                continue
            count = generate.staff_count(province, prefecture.code, category.code)
            if count is None:
                continue
            rows.append(ProtectedStaff(prefecture=prefecture, category=category, count=count))
    if rows:
        bulk_create_with_history(
            rows,
            ProtectedStaff,
            batch_size=500,
            default_user=user,
            default_change_reason="demo data",
            default_date=timezone.now(),
        )
    return {"created": len(rows), "existing": len(existing)}


# norm_set's fields, as norms.csv names them.
_NORM_COLUMNS = {
    "units_per_person_per_day": "per_day",
    "per_shift": "per_shift",
    "shifts_per_day": "shifts_per_day",
    "effective_from": "effective_from",
    "note": "note",
}


@transaction.atomic
def province_norms_create(province: Province, *, user) -> dict:
    """Create the norms that do not exist yet (by category, item and date), through norm_set.

    `user` must be office staff or an admin (norm_set checks). Categories or items missing
    from the catalogue are skipped and counted, so a trimmed catalogue still loads.
    """
    categories = {c.code: c for c in StaffCategory.objects.all()}
    items = {i.code: i for i in Item.objects.all()}
    existing = set(Norm.objects.values_list("staff_category__code", "item__code", "effective_from"))
    created = already = skipped = 0
    for spec in province.norms:
        category, item = categories.get(spec.category), items.get(spec.item)
        if category is None or item is None:
            skipped += 1
            continue
        if (spec.category, spec.item, spec.effective_from) in existing:
            already += 1
            continue
        with _refused_as("norms.csv", spec.row, "per_day", columns=_NORM_COLUMNS):
            norm_set(
                user=user,
                staff_category=category,
                item=item,
                effective_from=spec.effective_from,
                units_per_person_per_day=spec.per_day,
                per_shift=spec.per_shift,
                shifts_per_day=spec.shifts_per_day,
                note=spec.note,
            )
        created += 1
    return {"created": created, "existing": already, "skipped": skipped}


# --- daily figures ------------------------------------------------------------------------


def _office_user():
    user = (
        User.objects.filter(role=Role.OFFICE_STAFF, is_active=True).order_by("pk").first()
        or User.objects.filter(is_superuser=True, is_active=True).order_by("pk").first()
    )
    if user is None:
        raise ValueError("the province's history needs an office-staff or admin user to enter it")
    return user


@transaction.atomic
def province_daily_figures_create(province: Province, *, fallback_user=None) -> dict:
    """Write the generated figures of every active prefecture and key item; skip existing keys.

    Each prefecture's officer submits its reports; the office enters the others'. A prefecture
    that reports as the sum of its counties (province.yaml's figures.sum_of_counties) has its
    figures split over its counties and submitted as theirs (`_county_figures_create`): its
    own rows are derived from them, the same figures.
    """
    prefectures = list(active_prefectures())
    items = list(key_items())
    if not prefectures or not items:
        return {
            "created": 0,
            "existing": 0,
            "late": 0,
            "missing": 0,
            "inconsistent": 0,
            "county_created": 0,
            "county_existing": 0,
        }
    fallback_user = fallback_user or _office_user()
    officers = {}
    for officer in User.objects.filter(
        role=Role.PREFECTURE_OFFICER, prefecture__in=prefectures, is_active=True
    ).order_by("username"):
        officers.setdefault(officer.prefecture_id, officer)
    reporters = {p.pk: officers.get(p.pk, fallback_user) for p in prefectures}
    prefecture_by_code = {p.code: p for p in prefectures}
    item_by_code = {i.code: i for i in items}
    existing = set(
        DailyFigure.objects.filter(
            date__range=(province.start, province.last_day),
            prefecture__in=prefectures,
            item__in=items,
        ).values_list("prefecture_id", "item_id", "date")
    )

    summed = (province.figures.get("sum_of_counties") or {}).get("prefecture")
    by_counties = []  # the summed prefecture's generated rows, for its counties
    to_create = []
    for code, item_code, date, figures, moment, on_time in generate.daily_figures(
        province,
        prefecture_codes=[p.code for p in prefectures],
        items=[generate.FigureItem(i.code, i.category) for i in items],
    ):
        prefecture, item = prefecture_by_code[code], item_by_code[item_code]
        if code == summed:
            by_counties.append((item, date, figures, moment))
            continue
        if (prefecture.pk, item.pk, date) in existing:
            continue
        figure = DailyFigure(
            prefecture=prefecture,
            item=item,
            date=date,
            submitted_by=reporters[prefecture.pk],
            first_submitted_at=moment,
            submitted_at=moment,
            on_time=on_time,
            correction_reason="",
            **figures,
        )
        # The history row says who submitted it and when, as if it had come in that day.
        figure._history_user = reporters[prefecture.pk]
        figure._history_date = moment
        to_create.append(figure)
    if to_create:
        bulk_create_with_history(to_create, DailyFigure, batch_size=2000)
    counties = {"created": 0, "existing": 0, "derived": 0}
    if summed in prefecture_by_code:
        counties = _county_figures_create(
            province, prefecture=prefecture_by_code[summed], rows=by_counties, office=fallback_user
        )

    plan = generate.figure_plan(province, [p.code for p in prefectures], list(item_by_code))
    return {
        "created": len(to_create) + counties["derived"],
        "existing": len(existing),
        "late": len(plan.late),
        "missing": len(plan.missing),
        "inconsistent": len(plan.inconsistent),
        "county_created": counties["created"],
        "county_existing": counties["existing"],
    }


def _withdraw_unbuilt_rebuilds(requested_before: set) -> None:
    """The county submissions asked, as any does, for the snapshots of their dates and the 6
    days after to be built (reports.handlers), built or not. The load asks for no build of a
    date never built, as its ledger and batches do not (those dates are computed from the data
    as it stands whenever they are built: `make run` builds the story's days): else the days
    after the story's last day would be built from carried-forward stock and the dashboards
    open there. Requests of built dates, and those there before, stay."""
    built = SnapshotBuild.objects.values("date")
    for date in (
        SnapshotRebuild.objects.exclude(date__in=requested_before)
        .exclude(date__in=built)
        .values_list("date", flat=True)
    ):
        snapshot_rebuild_clear(date=date, seen=snapshot_rebuild_seen(date=date))


def _county_split(value: int, shares: list[float]) -> list[int]:
    """`value` over the shares: each but the last its share rounded down, the last the rest.
    Exactly as written (0.7 × 30 is 21, not the float's 20.999…)."""
    parts = [math.floor(value * Fraction(str(share))) for share in shares[:-1]]
    return [*parts, value - sum(parts)]


def _county_figures_create(province: Province, *, prefecture, rows, office) -> dict:
    """The summed prefecture's generated figures (`rows`: [(item, date, figures, moment)]),
    split over its counties and submitted through `county_figures_submit` by each county's
    officer (or the office) as the prefecture's report came in that day, the last county at
    that moment, the others 10 minutes apart before it: its rows are then derived, the same
    figures, first submitted and on time as the prefecture's own were.

    The office switches the prefecture to the sum of its counties when none of their figures
    is there yet; a prefecture switched back since (its counties' figures there) is left as
    the office left it. County rows already there are not submitted again."""
    spec = province.figures["sum_of_counties"]
    codes = list(spec["shares"])
    shares = [spec["shares"][code] for code in codes]
    counties = [County.objects.get(code=code) for code in codes]
    have = set(
        CountyDailyFigure.objects.filter(
            county__in=counties, date__range=(province.start, province.last_day)
        ).values_list("county_id", "item_id", "date")
    )
    if not have and not prefecture.reports_as_sum_of_counties:
        prefecture = prefecture_set_reports_as_sum(user=office, prefecture=prefecture, value=True)
    if not prefecture.reports_as_sum_of_counties:
        return {"created": 0, "existing": len(have), "derived": 0}
    officers = {}
    for officer in User.objects.filter(
        role=Role.COUNTY_OFFICER, county__in=counties, is_active=True
    ).order_by("username"):
        officers.setdefault(officer.county_id, officer)
    derived_before = DailyFigure.objects.filter(
        prefecture=prefecture, date__range=(province.start, province.last_day)
    ).count()
    requested_before = set(SnapshotRebuild.objects.values_list("date", flat=True))
    by_day = defaultdict(list)
    for item, date, figures, moment in rows:
        by_day[(date, moment)].append((item, figures))
    created = 0
    for (date, moment), day_rows in sorted(by_day.items(), key=lambda kv: kv[0][0]):
        parts = {
            item.pk: {name: _county_split(value, shares) for name, value in figures.items()}
            for item, figures in day_rows
        }
        for n, county in enumerate(counties):
            submitted = [
                {
                    "county": county,
                    "item": item,
                    "date": date,
                    **{name: split[n] for name, split in parts[item.pk].items()},
                }
                for item, _figures in day_rows
                if (county.pk, item.pk, date) not in have
            ]
            if not submitted:
                continue
            with _refused_as("province.yaml", "figures.sum_of_counties", "shares"):
                county_figures_submit(
                    user=officers.get(county.pk, office),
                    rows=submitted,
                    now=moment - dt.timedelta(minutes=10 * (len(counties) - 1 - n)),
                )
            created += len(submitted)
    derived_after = DailyFigure.objects.filter(
        prefecture=prefecture, date__range=(province.start, province.last_day)
    ).count()
    _withdraw_unbuilt_rebuilds(requested_before)
    return {
        "created": created,
        "existing": len(have),
        "derived": derived_after - derived_before,
    }


# --- warehouses and the reserve ledger ----------------------------------------------------


def province_warehouses_create(province: Province, *, user=None) -> dict:
    """The province's warehouses, those missing; existing ones are left as they are."""
    codes = [w.code for w in province.warehouses]
    existing = set(Warehouse.objects.filter(code__in=codes).values_list("code", flat=True))
    prefectures = {p.code: p for p in Prefecture.objects.all()}
    created = []
    for spec in province.warehouses:
        if spec.code in existing:
            continue
        warehouse = Warehouse(
            code=spec.code,
            name_zh=spec.name_zh,
            name_en=spec.name_en,
            kind=spec.kind,
            prefecture=prefectures.get(spec.prefecture_code),
            address=spec.address,
            manager=spec.manager,
        )
        warehouse._history_user = user
        with _refused_as("warehouses.csv", spec.row, "code"):
            warehouse.save()
        created.append(spec.code)
    return {"created": len(created), "existing": len(existing)}


def province_inbound_plan(province: Province) -> dict:
    """The generated reserve ledger, the receipts the batches draw on and the purchase orders
    whose arrivals the purchase receipts of both are (`generate.purchase_orders` rewrites
    those receipts to name their order). Computed once per load and shared by its steps."""
    items = dict(Item.objects.filter(active=True).values_list("code", "pack_size"))
    events = generate.ledger_events(
        province,
        item_codes=set(items),
        pack_sizes=items,
        prefecture_names=dict(active_prefectures().values_list("code", "name_zh")),
    )
    if not province.procurement:
        return {"ledger": events, "batch_receipts": None, "orders": []}
    batch_receipts = generate.batch_reserve_receipts(province, generate.batch_plan(province))
    orders = generate.purchase_orders(province, events=[*events, *batch_receipts])
    return {"ledger": events, "batch_receipts": batch_receipts, "orders": orders}


@transaction.atomic
def province_ledger_create(province: Province, *, user=None, inbound=None) -> dict:
    """The warehouses and their generated ledger, posted through `stock_events_import`.

    Idempotent: every event carries a client UUID, so a second run posts nothing.
    """
    user = user or _office_user()
    warehouses = province_warehouses_create(province, user=user)
    inbound = inbound or province_inbound_plan(province)
    posted = stock_events_import(user=user, events=inbound["ledger"])
    replayed = sum(1 for event in posted if event.replayed)
    return {
        "warehouses_created": warehouses["created"],
        "warehouses_existing": warehouses["existing"],
        "events_posted": len(posted) - replayed,
        "events_existing": replayed,
    }


# --- allocation ---------------------------------------------------------------------------


def _destinations_create(province: Province) -> dict:
    """The destinations, those missing (found by kind and Chinese name), with their claimant
    code (a prefecture's own code) and requesters (users of users.csv). A destination already
    there without a code (loaded before claimants had codes) is given its code and requesters
    once; one with a code is left as it is."""
    officers = {
        u.prefecture_id: u
        for u in User.objects.filter(role=Role.PREFECTURE_OFFICER)
        if u.prefecture_id
    }
    counts = province.allocation["prefectures"]["counts"]
    wanted = []
    for prefecture in Prefecture.objects.filter(code__in=counts).order_by("code"):
        wanted.append(
            {
                "kind": generate.PREFECTURE,
                "name_zh": prefecture.name_zh,
                "name_en": prefecture.name_en,
                "prefecture": prefecture,
                "contact": province.allocation["prefectures"]["contact"],
                "confirming_officer": officers.get(prefecture.pk),
                "code": prefecture.code,
                "key": prefecture.code,
                "requesters": (),
            }
        )
    # A county (three-level dispatch) takes its county and prefecture from its code, and its
    # county officer, where it has one, confirms its receipts.
    counties = {
        c.code: c
        for c in County.objects.filter(
            code__in=[
                r["code"] for r in province.destinations if r["kind"] == DestinationKind.COUNTY
            ]
        ).select_related("prefecture")
    }
    county_officers = {}
    for officer in User.objects.filter(role=Role.COUNTY_OFFICER, county__isnull=False).order_by(
        "username"
    ):
        county_officers.setdefault(officer.county_id, officer)
    for row in province.destinations:
        county = counties.get(row["code"]) if row["kind"] == DestinationKind.COUNTY else None
        wanted.append(
            {
                "kind": row["kind"],
                "name_zh": row["name_zh"],
                "name_en": row["name_en"],
                "contact": row["contact"],
                "code": row.get("code") or None,
                "key": row["name_zh"],
                "requesters": row.get("requesters", ()),
                **(
                    {
                        "prefecture": county.prefecture,
                        "county": county,
                        "confirming_officer": county_officers.get(county.pk),
                    }
                    if county
                    else {}
                ),
            }
        )
    existing = {(d.kind, d.name_zh): d for d in Destination.objects.all()}
    taken = {d.code for d in existing.values() if d.code}
    requesters = {
        u.username: u
        for u in User.objects.filter(
            username__in={name for fields in wanted for name in fields["requesters"]}
        )
    }
    by_key, created, links = {}, 0, []
    for fields in wanted:
        key, names = fields.pop("key"), fields.pop("requesters")
        destination = existing.get((fields["kind"], fields["name_zh"]))
        if destination is None:
            destination = Destination.objects.create(**fields)
            created += 1
        elif destination.code or not fields["code"] or fields["code"] in taken:
            by_key[key] = destination
            continue
        else:
            destination.code = fields["code"]
            destination.save(update_fields=["code"])
        taken.add(destination.code)
        links.extend((destination, requesters[name]) for name in names if name in requesters)
        by_key[key] = destination
    if links:
        through = Destination.requesters.through
        have = set(
            through.objects.filter(destination__in={d for d, _u in links}).values_list(
                "destination_id", "user_id"
            )
        )
        through.objects.bulk_create(
            through(destination_id=d.pk, user_id=u.pk) for d, u in links if (d.pk, u.pk) not in have
        )
    return {"by_key": by_key, "created": created, "existing": len(wanted) - created}


def _claimant_staff_create(province: Province, *, by_key, user) -> int:
    """Protected staff of the claimants other than prefectures (claimant_staff.csv), those
    missing (by claimant and category), in bulk with their history."""
    if not province.claimant_staff:
        return 0
    categories = {c.code: c for c in StaffCategory.objects.all()}
    claimants = [by_key[row["claimant"]] for row in province.claimant_staff]
    existing = set(
        ClaimantStaff.objects.filter(destination__in=claimants).values_list(
            "destination_id", "category__code"
        )
    )
    rows = [
        ClaimantStaff(
            destination=claimant, category=categories[row["category"]], count=row["count"]
        )
        for claimant, row in zip(claimants, province.claimant_staff, strict=True)
        if (claimant.pk, row["category"]) not in existing and row["category"] in categories
    ]
    if rows:
        bulk_create_with_history(
            rows,
            ClaimantStaff,
            batch_size=500,
            default_user=user,
            default_change_reason="demo data",
            default_date=timezone.now(),
        )
    return len(rows)


def _requests_create(province: Province, *, by_key, office, plan, onward) -> dict:
    """The requests not there yet (found by their client UUID): requests.yaml's, and the
    counties' of onward.yaml, through the request services as of their days: submitted by
    their requester, triaged by the office (or, a county's, by its `triaged_by`, an officer of
    its prefecture).

    Returns {"created", "existing", "links"}: links {(batch number, item code): request line}
    for the batches that answer an accepted line (requests.yaml's `batch_day`: the batch of
    the plan to its claimant that day; onward.yaml's `batch`: that onward batch); the loader
    passes them as the batch lines' "request_line", so the batch services check that nothing
    goes into batches beyond what was accepted. A request already there links nothing (its
    batches are there too)."""
    entries = [("requests.yaml", n, spec) for n, spec in enumerate(province.requests)]
    entries += [
        ("onward.yaml", n, spec) for n, spec in enumerate(province.onward.get("requests", ()))
    ]
    if not entries:
        return {"created": 0, "existing": 0, "links": {}}
    uuids = {
        spec["key"]: generate.allocation_uuid(f"request:{spec['key']}") for *_, spec in entries
    }
    have = {
        str(value)
        for value in SupplyRequest.objects.filter(client_uuid__in=uuids.values()).values_list(
            "client_uuid", flat=True
        )
    }
    names = {spec["by"] for *_, spec in entries} | {
        spec["triaged_by"] for *_, spec in entries if spec.get("triaged_by")
    }
    users = {u.username: u for u in User.objects.filter(username__in=names)}
    items = {i.code: i for i in Item.objects.all()}
    batches = {(b.key, b.day): b for b in plan}
    onward_number = {b.recorded: b.number for b in onward}
    links, created = {}, 0
    # Numbered in the order they came in (XQ-2020-001 first), whatever the files' order.
    for file, n, spec in sorted(entries, key=lambda entry: entry[2]["submitted"]):
        if uuids[spec["key"]] in have:
            continue
        with _refused_as(file, f"requests[{n}]", "lines"):
            claimant = by_key.get(spec["claimant"])
            triager = users.get(spec["triaged_by"]) if spec.get("triaged_by") else office
            if claimant is None or spec["by"] not in users or triager is None:
                raise ValueError(f"{spec['key']}: the claimant or a user is not loaded")
            request, _new = request_submit(
                user=users[spec["by"]],
                claimant=claimant,
                urgency=spec["urgency"],
                needed_by=spec["needed_by"],
                justification=spec["justification"],
                lines=[
                    {"item": items[x["item"]], "quantity": x["quantity"]} for x in spec["lines"]
                ],
                client_uuid=uuids[spec["key"]],
                now=generate.at(*spec["submitted"]),
            )
            created += 1
            if spec["triaged"] is None:
                continue
            lines = list(request.lines.order_by("pk"))
            request = request_triage(
                user=triager,
                request=request,
                expected_version=request.version,
                decisions=[
                    {
                        "line": line.pk,
                        "decision": x["decision"],
                        "accepted_quantity": x["accepted"],
                        "reason": x["reason"],
                    }
                    for line, x in zip(lines, spec["lines"], strict=True)
                ],
                now=generate.at(*spec["triaged"]),
            )
            if spec.get("batch"):
                number = onward_number[spec["batch"]]
            elif spec["batch_day"] is not None:
                batch = batches.get((spec["claimant"], spec["batch_day"]))
                if batch is None:
                    raise ValueError(
                        f"{spec['key']}: no batch to {spec['claimant']} on {spec['batch_day']}"
                    )
                number = batch.number
            else:
                continue
            for line, x in zip(lines, spec["lines"], strict=True):
                if x["decision"] != "refused":
                    links[(number, x["item"])] = line
    return {"created": created, "existing": len(have), "links": links}


def _batched_events(batches) -> int:
    """A "put into a batch" event for each request line a batch created now answers, by whoever
    drafted the batch and at that moment, as `requests_into_batches` writes it; the requests'
    versions move on."""
    new = [b for b in batches if not b.replayed]
    lines = list(
        DispatchBatchLine.objects.filter(batch__in=new, request_line__isnull=False)
        .select_related("batch__created_by", "request_line")
        .order_by("pk")
    )
    if not lines:
        return 0
    RequestEvent.objects.bulk_create(
        RequestEvent(
            request_id=line.request_line.request_id,
            line=line.request_line,
            action=RequestAction.BATCHED,
            quantity=line.quantity,
            batch=line.batch,
            by=line.batch.created_by,
            at=line.batch.created_at,
        )
        for line in lines
    )
    SupplyRequest.objects.filter(pk__in={line.request_line.request_id for line in lines}).update(
        version=F("version") + 1
    )
    return len(lines)


_ONWARD_NONE = {
    "receipts_posted": 0,
    "receipts_existing": 0,
    "batches_created": 0,
    "batches_existing": 0,
    "drafts_created": 0,
    "drafts_existing": 0,
    "request_lines_batched": 0,
}


def _onward_receipts(province: Province, *, office, plan) -> list:
    """The prefecture warehouses' receipts of onward.yaml, each part of what a province batch
    to that prefecture delivered, after it arrived (checked here against the batch plan: the
    file cannot see it), posted through stock_events_import (client UUIDs: once)."""
    dispatch = province.allocation["dispatch"]
    by_recorded = {b.recorded: b for b in plan}
    names = {w.code: w.name_zh for w in province.warehouses}
    taken: dict[tuple, int] = defaultdict(int)
    events = []
    for n, entry in enumerate(province.onward.get("prefectures", ())):
        for k, receipt in enumerate(entry["receipts"]):
            where = f"prefectures[{n}].receipts[{k}]"
            b = by_recorded.get(receipt["batch"])
            if b is None or b.key != entry["prefecture"]:
                raise ProvinceDataInvalid(
                    [
                        ProvinceFileError(
                            "onward.yaml",
                            where,
                            "batch",
                            _("“%(batch)s” is not a batch of allocation.yaml to %(code)s.")
                            % {"batch": receipt["batch"], "code": entry["prefecture"]},
                        )
                    ]
                )
            arrived = b.at + dt.timedelta(
                days=dispatch["travel_days"][b.kind], hours=dispatch["arrives_hours_after"]
            )
            moment = generate.at(*receipt["at"])
            if moment < arrived:
                raise ProvinceDataInvalid(
                    [
                        ProvinceFileError(
                            "onward.yaml",
                            where,
                            "at",
                            _("Batch %(batch)s arrived at %(arrived)s; receive it after that.")
                            % {
                                "batch": receipt["batch"],
                                "arrived": province.as_recorded(local_date(arrived)).isoformat(),
                            },
                        )
                    ]
                )
            delivered = defaultdict(int)
            for item, _channel, quantity, _donation in b.lines:
                delivered[item] += quantity
            for item, quantity in receipt["lines"].items():
                taken[(b.recorded, item)] += quantity
                if taken[(b.recorded, item)] > delivered[item]:
                    raise ProvinceDataInvalid(
                        [
                            ProvinceFileError(
                                "onward.yaml",
                                where,
                                "lines",
                                _(
                                    "Batch %(batch)s brought %(delivered)s of %(item)s; its "
                                    "receipts here take %(taken)s."
                                )
                                % {
                                    "batch": receipt["batch"],
                                    "delivered": grouped(delivered[item]),
                                    "item": item,
                                    "taken": grouped(taken[(b.recorded, item)]),
                                },
                            )
                        ]
                    )
            events.append(
                {
                    "warehouse": entry["warehouse"],
                    "kind": "receipt",
                    "source": ReceiptSource.TRANSFER_IN,
                    "occurred_at": moment,
                    "lines": [{"item": i, "quantity": q} for i, q in receipt["lines"].items()],
                    "counterparty": names.get(b.warehouse, b.warehouse),
                    "source_document": b.number,
                    "note": province.onward["receipt_note"],
                    "client_uuid": generate.allocation_uuid(
                        f"onward-receipt:{entry['warehouse']}:{b.recorded}:{k}"
                    ),
                }
            )
    with _refused_as("onward.yaml", "prefectures", "receipts"):
        return stock_events_import(user=office, events=events) if events else []


def _onward_create(province: Province, *, office, plan, onward, by_key, links) -> dict:
    """Three-level dispatch (onward.yaml): the prefecture warehouses' receipts from the
    province's batches, then their onward batches to counties, migrated as the prefectures'
    paper ledgers through `batches_import_history` (drafted and dispatched by the officer,
    approved by the lead, received by the county's officer or the prefecture's), and each
    prefecture's draft, created through `batch_create` as its officer (a live draft, found
    again by its warehouse, county, reason and officer). Idempotent."""
    if not province.onward:
        return dict(_ONWARD_NONE)
    receipts = _onward_receipts(province, office=office, plan=plan)
    channel = province.onward["channel"]
    names = {b.officer for b in onward} | {b.lead for b in onward} | {b.received_by for b in onward}
    names |= {e["officer"] for e in province.onward["prefectures"]}
    users = {u.username: u for u in User.objects.filter(username__in=names)}
    missing = sorted(names - set(users))
    if missing:
        raise ProvinceDataInvalid(
            [
                ProvinceFileError(
                    "onward.yaml",
                    "prefectures",
                    "officer",
                    _("These users are not loaded: %(users)s.") % {"users": ", ".join(missing)},
                )
            ]
        )
    rows = []
    for b in onward:
        rows.append(
            {
                "number": b.number,
                "source_warehouse": b.warehouse,
                "destination": by_key[b.destination],
                "lines": [
                    {
                        "item": item,
                        "quantity": quantity,
                        "channel": channel,
                        "request_line": links.get((b.number, item)),
                    }
                    for item, quantity in b.lines.items()
                ],
                "priority": b.priority,
                "reason": b.reason,
                "planned_dispatch_date": local_date(b.dispatched),
                "expected_arrival": b.expected_arrival,
                "carrier": b.carrier,
                "created_at": b.drafted,
                "created_by": users[b.officer],
                "approved_by": users[b.lead],
                "approved_at": b.approved,
                "dispatched_at": b.dispatched,
                "dispatched_by": users[b.officer],
                "receipts": [
                    {
                        "at": b.received_at,
                        "by": users[b.received_by],
                        "quantities": [b.received.get(item, 0) for item in b.lines],
                        "note": b.receipt_note,
                    }
                ],
                "issue_client_uuid": generate.allocation_uuid(f"onward-issue:{b.recorded}"),
            }
        )
    with _refused_as("onward.yaml", "prefectures", "batches"):
        batches = batches_import_history(user=office, batches=rows) if rows else []
    batched = _batched_events(batches)
    drafts = _onward_drafts(province, users=users, by_key=by_key, channel=channel)
    return {
        "receipts_posted": sum(1 for e in receipts if not e.replayed),
        "receipts_existing": sum(1 for e in receipts if e.replayed),
        "batches_created": sum(1 for b in batches if not b.replayed),
        "batches_existing": sum(1 for b in batches if b.replayed),
        "request_lines_batched": batched,
        **drafts,
    }


def _onward_drafts(province: Province, *, users, by_key, channel) -> dict:
    """Each prefecture's draft awaiting its lead, through `batch_create` as its officer: the
    service numbers it in the prefecture's series of the present year. Planned for the day
    after the story's last day."""
    warehouses = {w.code: w for w in Warehouse.objects.all()}
    created = existing = 0
    for n, entry in enumerate(province.onward["prefectures"]):
        spec = entry["draft"]
        if spec is None:
            continue
        officer, destination = users[entry["officer"]], by_key[spec["destination"]]
        if DispatchBatch.objects.filter(
            source_warehouse__code=entry["warehouse"],
            destination=destination,
            reason=spec["reason"],
            created_by=officer,
        ).exists():
            existing += 1
            continue
        with _refused_as("onward.yaml", f"prefectures[{n}].draft", "lines"):
            batch_create(
                user=officer,
                source_warehouse=warehouses[entry["warehouse"]],
                destination=destination,
                lines=[
                    {"item": item, "quantity": quantity, "channel": channel}
                    for item, quantity in spec["lines"].items()
                ],
                priority=spec["priority"],
                reason=spec["reason"],
                planned_dispatch_date=province.last_day + dt.timedelta(days=1),
                expected_arrival=province.last_day + dt.timedelta(days=1),
                carrier=entry["carrier"],
                note=spec["note"],
            )
        created += 1
    return {"drafts_created": created, "drafts_existing": existing}


@transaction.atomic
def province_allocation_create(province: Province, *, user=None, leader=None, inbound=None) -> dict:
    """Destinations, donations, the reserve receipts and the batches; idempotent.

    The batch services act "now" (stock_issue refuses old dates), so history goes through
    the migration services `donations_import_history` and `batches_import_history`; the
    receipts the batches draw on are posted first, so the reserve ledger is unchanged after
    them."""
    user = user or User.objects.filter(role=Role.OFFICE_STAFF).order_by("pk").first()
    leader = leader or User.objects.filter(role=Role.LEADERSHIP).order_by("pk").first() or user
    p = province.allocation
    plan = generate.batch_plan(province)
    needed = {i for b in plan for i, *_rest in b.lines}
    missing = needed - set(Item.objects.filter(active=True).values_list("code", flat=True))
    sources = {b.warehouse for b in plan} | {d["warehouse"] for d in p["donations"].values()}
    if missing or Warehouse.objects.filter(code__in=sources).count() != len(sources):
        return {
            "skipped": True,
            "destinations_created": 0,
            "donations_created": 0,
            "receipts_posted": 0,
            "batches_created": 0,
            "batches_existing": 0,
            "claimant_staff_created": 0,
            "requests_created": 0,
            "requests_existing": 0,
            "request_lines_batched": 0,
            "onward": _ONWARD_NONE,
        }
    with _refused_as("destinations.csv"):
        destinations = _destinations_create(province)
    by_key = destinations["by_key"]
    with _refused_as("claimant_staff.csv"):
        claimant_staff = _claimant_staff_create(province, by_key=by_key, user=user)
    prefectures = {code.code: code for code in Prefecture.objects.all()}

    donation_rows = []
    for key, spec in p["donations"].items():
        day, hour, minute = spec["received_at"]
        row = {
            **{k: v for k, v in spec.items() if k not in ("received_at", "lines")},
            "received_at": generate.at(day, hour, minute),
            "lines": [{"item": i, "quantity": q} for i, q in spec["lines"].items()],
            "client_uuid": generate.allocation_uuid(f"donation:{key}"),
        }
        if "restricted_prefecture" in spec:
            row["restricted_prefecture"] = prefectures[spec["restricted_prefecture"]]
        donation_rows.append(row)
    donations = dict(
        zip(
            p["donations"],
            donations_import_history(user=user, donations=donation_rows),
            strict=True,
        )
    )

    # With procurement.yaml the purchase receipts name their orders (province_inbound_plan).
    batch_receipts = (inbound or {}).get("batch_receipts")
    if batch_receipts is None:
        batch_receipts = (
            province_inbound_plan(province)["batch_receipts"]
            if province.procurement
            else generate.batch_reserve_receipts(province, plan)
        )
    receipts = stock_events_import(user=user, events=batch_receipts)
    # The requests the batches answer are submitted and triaged before them.
    onward = generate.onward_plan(province)
    requests = _requests_create(province, by_key=by_key, office=user, plan=plan, onward=onward)
    links = requests["links"]
    officers = {d.pk: d.confirming_officer for d in by_key.values()}
    dispatch = p["dispatch"]
    in_transit, transit_note = p["in_transit"]
    damaged_destination, damaged_after, damaged_note = p["damaged"]
    damaged = next(
        (b.number for b in plan if b.key == damaged_destination and b.day > damaged_after), None
    )
    unit = p["unit"]
    rows = []
    for n, b in enumerate(plan):
        destination = by_key[b.key]
        travel = dispatch["travel_days"][b.kind]
        lines = [
            {
                "item": item,
                "quantity": quantity,
                "channel": channel,
                "donation": donations[donation] if donation else None,
                "request_line": links.get((b.number, item)),
            }
            for item, channel, quantity, donation in b.lines
        ]
        receiver = officers.get(destination.pk) or user
        arrived = b.at + dt.timedelta(days=travel, hours=dispatch["arrives_hours_after"])
        quantities = [line["quantity"] for line in lines]
        receipt = {"at": arrived, "by": receiver, "quantities": quantities, "note": ""}
        extra = {}
        if b.recorded == in_transit:
            # Still on its way on the last reported day: half has arrived.
            receipt["quantities"] = [q // 2 // unit * unit for q in quantities]
            receipt["note"] = transit_note
        elif b.number == damaged:
            # One unit short on the first line, the difference kept visible.
            receipt["quantities"] = [quantities[0] - unit, *quantities[1:]]
            receipt["note"] = damaged_note
            extra = {"complete": True}
        rows.append(
            {
                "number": b.number,
                "source_warehouse": b.warehouse,
                "destination": destination,
                "lines": lines,
                "priority": b.priority,
                "reason": b.reason,
                "planned_dispatch_date": b.day,
                "expected_arrival": b.day + dt.timedelta(days=travel),
                "carrier": dispatch["carriers"][n % len(dispatch["carriers"])],
                "vehicle": dispatch["vehicle"].format(number=(n * 7919) % 90000 + 10000),
                "created_at": b.at - dt.timedelta(hours=dispatch["drafted_hours_before"]),
                "approved_by": leader,
                "approved_at": b.at - dt.timedelta(hours=dispatch["approved_hours_before"]),
                "dispatched_at": b.at,
                "receipts": [receipt],
                "issue_client_uuid": generate.allocation_uuid(f"issue:{b.number}"),
                **extra,
            }
        )
    batches = batches_import_history(user=user, batches=rows)
    batched = _batched_events(batches)
    # Three-level dispatch: what the prefectures did with part of what these batches brought.
    onward_loaded = _onward_create(
        province, office=user, plan=plan, onward=onward, by_key=by_key, links=links
    )
    return {
        "skipped": False,
        "onward": onward_loaded,
        "destinations_created": destinations["created"],
        "claimant_staff_created": claimant_staff,
        "requests_created": requests["created"],
        "requests_existing": requests["existing"],
        "request_lines_batched": batched + onward_loaded["request_lines_batched"],
        "donations_created": sum(1 for d in donations.values() if not d.replayed),
        "receipts_posted": sum(1 for e in receipts if not e.replayed),
        "batches_created": sum(1 for b in batches if not b.replayed),
        "batches_existing": sum(1 for b in batches if b.replayed),
    }


# --- producers ----------------------------------------------------------------------------


def _producers_create(province: Province, *, office, reporter) -> tuple[dict, int]:
    params = province.production
    prefectures = {p.code: p for p in Prefecture.objects.all()}
    counties = {c.code: c for c in County.objects.all()}
    items = {i.code: i for i in Item.objects.all()}
    held_producer, held_warehouse = params["held_reserve"]
    warehouse = Warehouse.objects.filter(code=held_warehouse).first()
    codes = {spec.key: generate.credit_code(province, spec) for spec in province.producers}
    existing = {p.credit_code: p for p in Producer.objects.filter(credit_code__in=codes.values())}
    producers, created = {}, 0
    for spec in province.producers:
        producer = existing.get(codes[spec.key])
        if producer is None:
            rng = random.Random(f"{province.seed}:producer:{spec.key}")
            area = params["area_codes"].get(spec.prefecture, params["default_area_code"])
            with _refused_as("producers.csv", spec.row, "name"):
                producer = producer_create(
                    user=office,
                    reporters=[reporter] if spec.commissioner and reporter else [],
                    name=spec.name,
                    credit_code=codes[spec.key],
                    prefecture=prefectures[spec.prefecture],
                    county=counties.get(spec.county),
                    address=spec.address,
                    contact=spec.contact,
                    phone=f"{area}-{rng.randint(2_000_000, 8_999_999)}",
                    product_categories=list(spec.categories),
                    status=spec.status,
                    resumption_date=spec.resumption,
                    national_whitelist_since=spec.national,
                    provincial_whitelist_since=spec.provincial,
                    held_reserve_warehouse=warehouse if spec.key == held_producer else None,
                )
            created += 1
        if not producer.lines.exists():
            for line in spec.lines:
                production_line = ProductionLine(
                    producer=producer,
                    item=items[line.item],
                    daily_capacity=line.capacity,
                    status=line.status,
                    planned_commissioning=line.on,
                    # A stopped line was commissioned once; building and planned ones not yet.
                    actual_commissioning=line.on
                    if line.status in (LineStatus.COMMISSIONED, LineStatus.STOPPED)
                    else None,
                )
                with _refused_as("production_lines.csv", line.row, "daily_capacity"):
                    production_line.full_clean()
                    production_line._history_user = office
                    production_line.save()
        producers[spec.key] = producer
    return producers, created


def _raw_materials_create(province: Province, *, producers, office) -> int:
    params = province.production
    have = set(
        RawMaterial.objects.filter(producer__in=producers.values()).values_list(
            "producer_id", flat=True
        )
    )
    created = 0
    for spec in province.producers:
        producer = producers[spec.key]
        if producer.pk in have:
            continue
        items = {line.item for line in spec.lines}
        # Sized on the running lines; a producer still building stocks up for its first.
        running = sum(
            line.capacity for line in spec.lines if line.status == LineStatus.COMMISSIONED
        )
        running = Decimal(running or sum(line.capacity for line in spec.lines))
        if items & set(params["mask_items"]):
            template = params["raw_materials"]["masks"]
        elif params["suit"] in items:
            template = params["raw_materials"]["suits"]
        else:
            template = params["raw_materials"]["other"]
        scale = running / template["per"]
        rng = random.Random(f"{province.seed}:raw-materials:{spec.key}")
        for material, name, unit, per_unit in template["materials"]:
            daily_use = (per_unit * scale).quantize(Decimal("0.001"))
            days = params["short_materials"].get((spec.key, material)) or rng.randint(4, 20)
            stock = (daily_use * days + daily_use * Decimal(rng.randint(0, 9)) / 10).quantize(
                Decimal("0.001")
            )
            raw = RawMaterial(
                producer=producer,
                material=material,
                name=name,
                stock=stock,
                daily_use=daily_use,
                unit=unit,
            )
            with _refused_as("production.yaml", "raw_materials", "materials"):
                raw.full_clean()
                raw._history_user = office
                raw.save()
            created += 1
    return created


def _licences_create(province: Province, *, producers, office) -> int:
    existing = set(
        Licence.objects.filter(producer__in=producers.values()).values_list(
            "producer_id", "kind", "number"
        )
    )
    created = 0
    for row in province.licences:
        producer = producers[row["producer"]]
        if (producer.pk, row["kind"], row["number"]) in existing:
            continue
        with _refused_as("licences.csv", row["_row"], "number"):
            licence_add(
                user=office,
                producer=producer,
                kind=row["kind"],
                number=row["number"],
                issuer=row["issuer"],
                issued=row["issued"],
                expires=row["expires"],
            )
        created += 1
    return created


def _held_reserve_receipts(province: Province, warehouse) -> dict:
    """{(item code, local date): (event, quantity)} of the own-production receipts of the
    held reserve within the report window."""
    if warehouse is None:
        return {}
    first_day, last_day = generate.report_window(province)
    events = (
        StockEvent.objects.filter(
            warehouse=warehouse,
            kind=StockEventKind.RECEIPT,
            receipt_source=ReceiptSource.OWN_PRODUCTION,
            occurred_at__gte=generate.at(first_day, 0),
            occurred_at__lt=generate.at(last_day + dt.timedelta(days=1), 0),
            reverses__isnull=True,
        )
        .prefetch_related("lines__item")
        .order_by("occurred_at", "pk")
    )
    found = {}
    for event in events:
        lines = list(event.lines.all())
        if len(lines) == 1 and lines[0].quantity > 0:
            found[(lines[0].item.code, local_date(event.occurred_at))] = (
                event,
                lines[0].quantity,
            )
    return found


def _reports_create(province: Province, *, producers, items, office, reporter) -> dict:
    held_producer, _warehouse = province.production["held_reserve"]
    first_day, last_day = generate.report_window(province)
    receipts = _held_reserve_receipts(province, producers[held_producer].held_reserve_warehouse)
    # The held-reserve producer's reports carry what its warehouse received from it that day.
    reserve = {key: quantity for key, (_, quantity) in receipts.items()}
    existing = set(
        ProductionReport.objects.filter(
            producer__in=producers.values(), date__range=(first_day, last_day)
        ).values_list("producer_id", "item_id", "date")
    )
    stationed = (
        set(reporter.producers.values_list("pk", flat=True)) if reporter is not None else set()
    )
    created = linked = 0
    by_day: dict[tuple[dt.date, bool], list[dict]] = {}
    for row in generate.production_rows(province, reserve=reserve):
        producer, item = producers[row["producer"]], items[row["item"]]
        if (producer.pk, item.pk, row["date"]) in existing:
            continue
        figures = {k: v for k, v in row.items() if k not in ("producer", "item", "date")}
        if row["to_reserve"]:
            # Already in the ledger: link the report to that receipt rather than book it
            # again through the service.
            event, _ = receipts[(row["item"], row["date"])]
            moment = generate.production_submission_time(
                province, producer.credit_code, row["date"]
            )
            report = ProductionReport(
                producer=producer,
                item=item,
                date=row["date"],
                reserve_receipt=event,
                submitted_by=office,
                first_submitted_at=moment,
                submitted_at=moment,
                **figures,
            )
            report._history_user = office
            report._history_date = moment
            report.save()
            linked += 1
            continue
        by_reporter = producer.pk in stationed
        by_day.setdefault((row["date"], by_reporter), []).append(
            {"producer": producer, "item": item, **figures, "date": row["date"].isoformat()}
        )
    for (day, by_reporter), rows in sorted(by_day.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        # Each day's reports come in that evening, the commissioner's and the office's.
        result = production_reports_submit(
            user=reporter if by_reporter else office,
            rows=rows,
            now=generate.production_submission_time(
                province, "reporter" if by_reporter else "office", day
            ),
        )
        created += result.created
    return {"created": created + linked, "linked": linked, "existing": len(existing)}


def _problems_create(province: Province, *, producers, office, reporter) -> int:
    existing = set(
        Problem.objects.filter(producer__in=producers.values()).values_list(
            "producer_id", "description"
        )
    )
    created = 0
    for row in province.problems:
        producer = producers[row["producer"]]
        if (producer.pk, row["description"]) in existing:
            continue
        with _refused_as("problems.csv", row["_row"], "description"):
            stationed = reporter is not None and producer.reporters.filter(pk=reporter.pk).exists()
            by = reporter if stationed else office
            problem = problem_report(
                user=by,
                producer=producer,
                category=row["category"],
                description=row["description"],
                now=generate.at(*row["reported_at"]),
            )
            if row["taken_by"]:
                owner = reporter if row["taken_by"] == "reporter" and stationed else office
                problem = problem_take(user=owner, problem=problem)
            if row["resolution"]:
                problem_resolve(
                    user=problem.owner or office,
                    problem=problem,
                    resolution=row["resolution"],
                    now=generate.at(*row["resolved_at"]),
                )
        created += 1
    return created


@transaction.atomic
def province_production_create(province: Province, *, user=None, reporter=None) -> dict:
    """The producers, lines, licences, raw materials, the reports of the last days, problems.

    `user`: office staff who keep the register (default: the first office user);
    `reporter`: the commissioner stationed at the producers marked `commissioner` (default:
    the first producer reporter, if there is one).
    """
    office = user or (
        User.objects.filter(role=Role.OFFICE_STAFF, is_active=True).order_by("pk").first()
    )
    if office is None:
        raise ValueError("the producers need an office-staff user to register them")
    if reporter is None:
        reporter = (
            User.objects.filter(role=Role.PRODUCER_REPORTER, is_active=True).order_by("pk").first()
        )
    params = province.production
    producers, producers_created = _producers_create(province, office=office, reporter=reporter)
    items = {i.code: i for i in Item.objects.all()}
    raw_materials = _raw_materials_create(province, producers=producers, office=office)
    licences = _licences_create(province, producers=producers, office=office)
    with _refused_as("production.yaml", "/", "report_days"):
        reports = _reports_create(
            province, producers=producers, items=items, office=office, reporter=reporter
        )
    problems = _problems_create(province, producers=producers, office=office, reporter=reporter)
    capacity = generate.capacity(province)
    mask_items = params["mask_items"]
    masks = [capacity[i] for i in mask_items if i in capacity]
    return {
        "producers_created": producers_created,
        "producers_existing": len(producers) - producers_created,
        "mask_producers": sum(
            1 for spec in province.producers if {line.item for line in spec.lines} & set(mask_items)
        ),
        "mask_lines": sum(row["lines"] for row in masks),
        "mask_capacity": sum(row["when_all_built"] for row in masks),
        "mask_commissioned": sum(row["commissioned"] for row in masks),
        "n95_capacity": capacity.get(params["n95"], {}).get("when_all_built", 0),
        "suit_producers": sum(
            1
            for spec in province.producers
            if any(line.item == params["suit"] for line in spec.lines)
        ),
        "suit_capacity": capacity.get(params["suit"], {}).get("when_all_built", 0),
        "disinfectant_producers": sum(
            1 for spec in province.producers if "disinfection" in spec.categories
        ),
        "raw_materials_created": raw_materials,
        "licences_created": licences,
        "reports_created": reports["created"],
        "reports_linked": reports["linked"],
        "reports_existing": reports["existing"],
        "problems_created": problems,
    }


# --- procurement: suppliers, reserve-task units, orders, national allocation, distribution -


def _suppliers_create(province: Province, *, office) -> dict:
    """The suppliers (by credit code; one abroad by name) and what they offer, through
    procurement's services; existing rows are left as they are."""
    spec = province.procurement
    codes = {
        row["key"]: generate.supplier_credit_code(province, f"supplier:{row['key']}", row["region"])
        if row["region"]
        else None
        for row in spec["suppliers"]
    }
    by_code = {s.credit_code: s for s in Supplier.objects.filter(credit_code__in=codes.values())}
    by_name = {
        s.name: s
        for s in Supplier.objects.filter(
            credit_code__isnull=True, name__in=[r["name"] for r in spec["suppliers"]]
        )
    }
    suppliers, created = {}, 0
    for row in spec["suppliers"]:
        supplier = by_code.get(codes[row["key"]]) if codes[row["key"]] else by_name.get(row["name"])
        if supplier is None:
            with _refused_as("suppliers.csv", row["_row"], "name"):
                supplier = supplier_create(
                    user=office,
                    name=row["name"],
                    origin=row["origin"],
                    credit_code=codes[row["key"]] or "",
                    contact=row["contact"],
                    phone=row["phone"],
                    note=row["note"],
                )
            created += 1
        suppliers[row["key"]] = supplier
    have = set(
        SupplierCapability.objects.filter(supplier__in=suppliers.values()).values_list(
            "supplier_id", "item__code"
        )
    )
    capabilities = 0
    for row in spec["capabilities"]:
        supplier = suppliers[row["supplier"]]
        if (supplier.pk, row["item"]) in have:
            continue
        with _refused_as("supplier_items.csv", row["_row"], "item"):
            supplier_capability_set(
                user=office,
                supplier=supplier,
                item=row["item"],
                daily_capacity=row["daily_capacity"],
                lead_time_days=row["lead_time_days"],
                minimum_order=row["minimum_order"],
                last_unit_price=row["unit_price"],
            )
        capabilities += 1
    return {"by_key": suppliers, "created": created, "capabilities_created": capabilities}


def _reserve_units_create(province: Province, *, office) -> dict:
    spec = province.procurement
    existing = {
        u.name: u
        for u in ReserveUnit.objects.filter(name__in=[row["name"] for row in spec["units"]])
    }
    warehouses = {w.code: w for w in Warehouse.objects.all()}
    units, created = {}, 0
    for row in spec["units"]:
        unit = existing.get(row["name"])
        if unit is None:
            with _refused_as("reserve_units.csv", row["_row"], "name"):
                unit = reserve_unit_create(
                    user=office,
                    name=row["name"],
                    capital_granted=row["capital_granted"],
                    warehouses=[warehouses[code] for code in row["warehouses"]],
                    contact=row["contact"],
                    phone=row["phone"],
                    note=row["note"],
                )
            created += 1
        units[row["key"]] = unit
    return {"by_key": units, "created": created}


def _orders_create(province: Province, *, office, orders, suppliers, units) -> dict:
    """The planned orders that are not there yet (by number), written as the order services
    would have written them on their days: the lines, one audited transition per step
    (created, placed, arrived or partly arrived, closed or cancelled) at its historic moment,
    the arrival linked to the purchase receipt the ledger already holds (it is not booked
    again, as the held reserve's production reports point at their receipts), payments.
    In bulk: the services act "now" and number from the sequence; the year's sequence is
    moved past the numbers used so the office's next order follows them."""
    existing = set(
        PurchaseOrder.objects.filter(number__in=[o.number for o in orders]).values_list(
            "number", flat=True
        )
    )
    todo = [o for o in orders if o.number not in existing]
    if not todo:
        return {"created": 0, "existing": len(existing)}
    items = {i.code: i for i in Item.objects.all()}
    warehouses = {w.code: w for w in Warehouse.objects.all()}
    events = {
        str(e.client_uuid): e
        for e in StockEvent.objects.filter(
            client_uuid__in=[o.arrival["uuid"] for o in todo if o.arrival]
        )
    }
    headers, transitions = [], []
    for planned in todo:
        if planned.arrival and planned.arrival["uuid"] not in events:
            raise ValueError(f"order {planned.number}: its receipt is not in the ledger")
        headers.append(
            PurchaseOrder(
                number=planned.number,
                year=planned.ordered_on.year,
                buyer_unit=units.get(planned.buyer),
                supplier=suppliers[planned.supplier],
                funding_source=planned.funding,
                ordered_on=planned.ordered_on,
                note=planned.note,
                status=planned.status,
                created_by=office,
                created_at=planned.created_at,
                placed_at=None
                if planned.cancelled_at
                else planned.created_at + dt.timedelta(hours=1),
            )
        )
    PurchaseOrder.objects.bulk_create(headers)
    lines, payments, arrivals, arrival_lines = [], [], [], []
    for planned, order in zip(todo, headers, strict=True):
        steps = [("", OrderStatus.DRAFT, planned.created_at, "")]
        if planned.cancelled_at:
            steps.append(
                (OrderStatus.DRAFT, OrderStatus.CANCELLED, planned.cancelled_at, planned.note)
            )
        else:
            steps.append((OrderStatus.DRAFT, OrderStatus.PLACED, order.placed_at, ""))
        by_item = {}
        for item, quantity, price, expected in planned.lines:
            line = PurchaseOrderLine(
                order=order,
                item=items[item],
                quantity=quantity,
                unit_price=Decimal(price),
                expected_arrival=expected,
                arrived_quantity=(planned.arrival or {"lines": {}})["lines"].get(item, 0),
            )
            lines.append(line)
            by_item[item] = line
        if planned.arrival:
            event = events[planned.arrival["uuid"]]
            recorded = event.occurred_at + dt.timedelta(minutes=20)
            arrivals.append(
                OrderArrival(
                    order=order,
                    warehouse=warehouses[planned.arrival["warehouse"]],
                    receipt_event=event,
                    arrived_at=event.occurred_at,
                    recorded_by=office,
                    recorded_at=recorded,
                )
            )
            arrival_lines.append([(by_item[i], q) for i, q in planned.arrival["lines"].items()])
            done = (
                OrderStatus.PARTLY_ARRIVED
                if planned.status == "partly_arrived"
                else OrderStatus.ARRIVED
            )
            steps.append((OrderStatus.PLACED, done, recorded, event.document_number))
        for n, (day, amount) in enumerate(planned.paid):
            payments.append(
                OrderPayment(
                    order=order,
                    amount=amount,
                    paid_on=day,
                    recorded_by=office,
                    recorded_at=generate.at(day, 15, 0),
                    client_uuid=generate.allocation_uuid(f"payment:{planned.key}:{n}"),
                )
            )
        if planned.closed_at:
            steps.append((OrderStatus.ARRIVED, OrderStatus.CLOSED, planned.closed_at, ""))
        order.version = len(steps)
        transitions.extend(
            OrderTransition(order=order, from_status=a, to_status=b, by=office, at=when, note=note)
            for a, b, when, note in steps
        )
    PurchaseOrder.objects.bulk_update(headers, ["version"])
    PurchaseOrderLine.objects.bulk_create(lines)
    OrderTransition.objects.bulk_create(transitions)
    OrderArrival.objects.bulk_create(arrivals)
    OrderArrivalLine.objects.bulk_create(
        [
            OrderArrivalLine(arrival=arrival, order_line=line, quantity=quantity)
            for arrival, pairs in zip(arrivals, arrival_lines, strict=True)
            for line, quantity in pairs
        ]
    )
    OrderPayment.objects.bulk_create(payments)
    # The office's next order of a year follows the demo's numbers of that year.
    for year in {o.ordered_on.year for o in orders}:
        last = max(int(o.number.rsplit("-", 1)[1]) for o in orders if o.ordered_on.year == year)
        sequence, _created = OrderYearSequence.objects.get_or_create(year=year)
        if sequence.last_number < last:
            sequence.last_number = last
            sequence.save(update_fields=["last_number"])
    return {"created": len(todo), "existing": len(existing)}


def _net_requirement(province: Province, *, item, day, horizon) -> dict:
    """Σ over the prefectures that reported `item` on `day` of (average consumption of their
    last 7 days × horizon − stock − expected arrivals within 3 days), never below 0 each."""
    rows = DailyFigure.objects.filter(
        item__code=item, date__range=(day - dt.timedelta(days=6), day)
    ).values("prefecture_id", "date", "consumption", "stock", "expected_arrivals_3d")
    consumption, today = defaultdict(list), {}
    for row in rows:
        consumption[row["prefecture_id"]].append(row["consumption"])
        if row["date"] == day:
            today[row["prefecture_id"]] = row
    totals = {"rate": 0, "need": 0, "stock": 0, "arriving": 0, "net": 0, "prefectures": 0}
    for prefecture, row in today.items():
        rate = sum(consumption[prefecture]) / len(consumption[prefecture])
        need = rate * horizon
        totals["rate"] += rate
        totals["need"] += need
        totals["stock"] += row["stock"]
        totals["arriving"] += row["expected_arrivals_3d"]
        totals["net"] += max(0, need - row["stock"] - row["expected_arrivals_3d"])
        totals["prefectures"] += 1
    return {k: math.ceil(v) for k, v in totals.items()}


def _national_create(province: Province, *, office) -> dict:
    """The request sent up and the allocations announced for it, through procurement's
    services; the allocation that arrived is linked to the national consignment the ledger
    already holds (its line of the item), not booked again. Found again by the request's
    item, day and justification, and the allocations by their notice reference."""
    spec = province.procurement["national"]
    request_spec = spec["request"]
    day = province.start + dt.timedelta(days=request_spec["sent"])
    item = request_spec["item"]
    figures = _net_requirement(province, item=item, day=day, horizon=request_spec["horizon_days"])
    step = request_spec["round_to"]
    asked = max(step, -(-figures["net"] // step) * step)
    justification = (
        f"{request_spec['justification']}。测算（{day.isoformat()}，{figures['prefectures']}个市州报表）："
        f"近7日日均消耗{figures['rate']:,}，{request_spec['horizon_days']}天需求{figures['need']:,}，"
        f"现有库存{figures['stock']:,}，3日内预计到货{figures['arriving']:,}，"
        f"净需求{figures['net']:,}；申请{asked:,}。"
    )
    request = (
        NationalRequest.objects.filter(
            item__code=item, sent_on=day, justification__startswith=request_spec["justification"]
        )
        .order_by("pk")
        .first()
    )
    created = {"requests": 0, "allocations": 0, "arrivals": 0}
    if request is None:
        request = national_request_create(
            user=office,
            item=item,
            quantity=asked,
            net_requirement=figures["net"],
            justification=justification,
            sent_on=day,
        )
        # The service records "now"; the demo's request was recorded the day it was sent.
        moment = generate.at(day, 10, 0)
        NationalRequest.objects.filter(pk=request.pk).update(created_at=moment)
        request.transitions.update(at=moment)
        created["requests"] += 1
    for n, entry in enumerate(spec["allocations"]):
        announced = province.start + dt.timedelta(days=entry["announced"])
        event = line = None
        if entry["receipt_day"] is not None:
            event = StockEvent.objects.filter(
                client_uuid=generate.ledger_event_uuid(province, f"{entry['receipt_day']}:national")
            ).first()
            line = event and event.lines.filter(item__code=item).first()
            if line is None:
                raise ValueError(
                    f"national.allocations[{n}]: no national consignment of {item} on day "
                    f"{entry['receipt_day']}"
                )
            reference = entry["reference"] or event.source_document
            quantity, warehouse = line.quantity, event.warehouse
            expected = local_date(event.occurred_at)
        else:
            reference = entry["reference"]
            quantity = entry["quantity"]
            warehouse = entry["warehouse"]
            expected = province.start + dt.timedelta(days=entry["expected"])
        allocation = NationalAllocation.objects.filter(reference=reference, item__code=item).first()
        if allocation is None:
            request.refresh_from_db()
            still = request.quantity - request.granted_quantity
            allocation = national_allocation_announce(
                user=office,
                item=item,
                quantity=quantity,
                expected_arrival=expected,
                warehouse=warehouse,
                # Linked while the request still asks for it; beyond, recorded on its own.
                request=request if quantity <= still else None,
                reference=reference,
                announced_on=announced,
            )
            # Recorded the day it was announced (the service records "now"), as is the
            # request's step it moved.
            moment = generate.at(announced, 11, n)
            NationalAllocation.objects.filter(pk=allocation.pk).update(created_at=moment)
            if allocation.request_id:
                request.transitions.filter(note=reference).update(at=moment)
            created["allocations"] += 1
        if (
            event is not None
            and not NationalAllocationArrival.objects.filter(receipt_event=event).exists()
        ):
            NationalAllocationArrival.objects.create(
                allocation=allocation,
                receipt_event=event,
                quantity=line.quantity,
                arrived_at=event.occurred_at,
                recorded_by=office,
                recorded_at=event.occurred_at + dt.timedelta(minutes=20),
                note=_("Part of the consignment %(document)s")
                % {"document": event.document_number},
            )
            NationalAllocation.objects.filter(pk=allocation.pk).update(
                arrived_quantity=F("arrived_quantity") + line.quantity
            )
            created["arrivals"] += 1
    return {**created, "request": request.number, "asked": asked, "net": figures["net"]}


def _distribution_create(province: Province, *, office) -> dict:
    """The distribution enterprises (through distribution_enterprise_create; found by credit
    code) and their daily reports of the last days, written in bulk with their history as
    the daily figures are (historic dates; the service refuses old dates for reporters)."""
    spec = province.procurement
    codes = {
        row["key"]: generate.supplier_credit_code(
            province, f"enterprise:{row['key']}", row["prefecture"]
        )
        for row in spec["enterprises"]
    }
    existing = {
        e.credit_code: e
        for e in DistributionEnterprise.objects.filter(credit_code__in=codes.values())
    }
    prefectures = {p.code: p for p in Prefecture.objects.all()}
    items = {i.code: i for i in Item.objects.all()}
    users = {u.username: u for u in User.objects.filter(role=Role.DISTRIBUTION_REPORTER)}
    enterprises, created = {}, 0
    for row in spec["enterprises"]:
        enterprise = existing.get(codes[row["key"]])
        if enterprise is None:
            reporter = users.get(row["reporter"]) if row["reporter"] else None
            with _refused_as("distribution_enterprises.csv", row["_row"], "name"):
                enterprise = distribution_enterprise_create(
                    user=office,
                    reporters=[reporter] if reporter else [],
                    items=[items[code] for code in row["items"]],
                    name=row["name"],
                    credit_code=codes[row["key"]],
                    prefecture=prefectures[row["prefecture"]],
                    contact=row["contact"],
                    phone=row["phone"],
                    note=_("Demo data: an invented enterprise."),
                )
            created += 1
        enterprises[row["key"]] = enterprise
    reporters = {
        key: (enterprise.reporters.order_by("pk").first() or office)
        for key, enterprise in enterprises.items()
    }
    rows = generate.distribution_rows(province)
    have = set(
        DistributionReport.objects.filter(
            enterprise__in=enterprises.values(),
            date__range=(min((r["date"] for r in rows), default=province.start), province.last_day),
        ).values_list("enterprise_id", "item_id", "date")
    )
    to_create = []
    for row in rows:
        enterprise, item = enterprises[row["enterprise"]], items[row["item"]]
        if (enterprise.pk, item.pk, row["date"]) in have:
            continue
        report = DistributionReport(
            enterprise=enterprise,
            item=item,
            date=row["date"],
            purchased=row["purchased"],
            shipped=row["shipped"],
            purchase_in_transit=row["purchase_in_transit"],
            stock=row["stock"],
            submitted_by=reporters[row["enterprise"]],
            first_submitted_at=row["submitted_at"],
            submitted_at=row["submitted_at"],
            correction_reason="",
        )
        report._history_user = reporters[row["enterprise"]]
        report._history_date = row["submitted_at"]
        to_create.append(report)
    if to_create:
        bulk_create_with_history(to_create, DistributionReport, batch_size=2000)
    return {
        "enterprises_created": created,
        "enterprises_existing": len(enterprises) - created,
        "reports_created": len(to_create),
        "reports_existing": len(have),
    }


@transaction.atomic
def province_procurement_create(province: Province, *, user=None, orders=()) -> dict:
    """Everything of procurement.yaml: scarce items marked, suppliers and what they offer,
    reserve-task units, the purchase orders (`orders`, from `province_inbound_plan`), the
    national request and allocations, the distribution enterprises and their reports.
    Nothing when the folder has no procurement.yaml. Idempotent."""
    if not province.procurement:
        return {"skipped": True}
    office = user or _office_user()
    marked = 0
    for item in Item.objects.filter(
        code__in=province.procurement["scarce_items"], scarce=False
    ).order_by("code"):
        item.scarce = True
        item._history_user = office
        item.save(update_fields=["scarce"])
        marked += 1
    suppliers = _suppliers_create(province, office=office)
    units = _reserve_units_create(province, office=office)
    with _refused_as("procurement.yaml", "orders", "number"):
        placed = _orders_create(
            province,
            office=office,
            orders=list(orders),
            suppliers=suppliers["by_key"],
            units=units["by_key"],
        )
    with _refused_as("procurement.yaml", "national", "request"):
        national = _national_create(province, office=office)
    with _refused_as("distribution_enterprises.csv"):
        distribution = _distribution_create(province, office=office)
    return {
        "skipped": False,
        "scarce_marked": marked,
        "suppliers_created": suppliers["created"],
        "capabilities_created": suppliers["capabilities_created"],
        "units_created": units["created"],
        "orders_created": placed["created"],
        "orders_existing": placed["existing"],
        "orders": len(orders),
        "national": national,
        **distribution,
    }


# --- all of it ----------------------------------------------------------------------------


def _user_with_role(province: Province, role: str):
    """The first of the folder's users with the role, as loaded (None when there is none).

    Users already there are left as they are; one that has another role there cannot act
    as this one, which is said rather than left to a service's PermissionDenied."""
    specs = [u for u in province.users if u.role == role]
    users = {u.username: u for u in User.objects.filter(username__in=[u.username for u in specs])}
    spec = next((spec for spec in specs if spec.username in users), None)
    if spec is None:
        return None
    user = users[spec.username]
    if user.role != role:
        message = _("“%(username)s” already exists with the role %(existing)s, not %(role)s.")
        raise ProvinceDataInvalid(
            [
                ProvinceFileError(
                    "users.csv",
                    spec.row,
                    "role",
                    message % {"username": user.username, "existing": user.role, "role": role},
                )
            ]
        )
    return user


def province_laid_shift(province: Province) -> int | None:
    """How many days the province's story was moved by when it was loaded here (0: the dates
    as recorded), or None when it is not loaded. Read from its first problem, which the
    loader keeps by description whatever the dates (problems.csv; None without problems)."""
    if not province.problems:
        return None
    row = province.problems[0]
    problem = Problem.objects.filter(description=row["description"]).order_by("pk").first()
    if problem is None:
        return None
    recorded = province.as_recorded(row["reported_at"][0])
    return (local_date(problem.reported_at) - recorded).days


@transaction.atomic
def province_load(province: Province, *, progress=None) -> dict:
    """Load everything of a province folder, in dependency order, all or nothing.

    Raises ProvinceDataInvalid (nothing saved) when a service, the ledger or the database
    refuses a row the file checks let through, naming the file and, where known, the row.

    The history is entered by the folder's first office-staff user, approved by its first
    leader, reported by its first producer reporter; the protected staff are recorded by its
    first administrator. `progress(line)`, when given, hears each step as it starts.
    """
    say = progress or (lambda line: None)
    say("  reference data …")
    references = province_reference_load(province)
    with _refused_as("users.csv"):
        users = province_users_create(province)
    admin = _user_with_role(province, Role.ADMIN)
    office = _user_with_role(province, Role.OFFICE_STAFF)
    # Each step is named by the file it mostly comes from; a row's refusal by its row.
    say("  users, protected staff, norms …")
    with _refused_as("staff_rates.csv"):
        staff = province_protected_staff_create(province, user=admin)
    with _refused_as("norms.csv"):
        norms = province_norms_create(province, user=office)
    say(f"  daily figures, {province.days} days …")
    with _refused_as("province.yaml"):
        figures = province_daily_figures_create(province, fallback_user=office)
    say("  reserve ledger …")
    with _refused_as("ledger.yaml"):
        inbound = province_inbound_plan(province)
        ledger = province_ledger_create(province, user=office, inbound=inbound)
    say("  dispatch batches and donations …")
    with _refused_as("allocation.yaml"):
        allocation = province_allocation_create(
            province,
            user=office,
            leader=_user_with_role(province, Role.LEADERSHIP),
            inbound=inbound,
        )
    say("  producers and production reports …")
    with _refused_as("producers.csv"):
        production = province_production_create(
            province, user=office, reporter=_user_with_role(province, Role.PRODUCER_REPORTER)
        )
    say("  suppliers, orders, national allocation, distribution enterprises …")
    with _refused_as("procurement.yaml"):
        procurement = province_procurement_create(province, user=office, orders=inbound["orders"])
    return {
        "references": references,
        "users": users,
        "staff": staff,
        "norms": norms,
        "figures": figures,
        "ledger": ledger,
        "allocation": allocation,
        "production": production,
        "procurement": procurement,
    }
