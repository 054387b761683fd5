"""State changes of production. Pages, the API and imports all call these."""

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from inventory.models import ReceiptSource, StockEvent, Warehouse, WarehouseKind
from inventory.services import LedgerError, stock_receive, stock_reverse
from supplycoord.bulk import (
    DAYS,
    EntryKind,
    Field,
    RowError,
    RowsInvalid,
    RowsOutOfScope,
    SubmitResult,
    bulk_upsert,
    rows_submit,
    too_many_errors,
)
from supplycoord.lib.text import text_error
from supplycoord.models import Role
from supplycoord.permissions import can_change_producer_register, can_report_for_producer

from .models import (
    REPORT_FIELDS,
    Licence,
    LineStatus,
    Problem,
    ProblemCategory,
    ProblemStatus,
    Producer,
    ProductionLine,
    ProductionReport,
)

# Fields office staff may set on a producer; reporters are assigned with `reporters=`.
PRODUCER_FIELDS = (
    "name",
    "credit_code",
    "prefecture",
    "county",
    "address",
    "contact",
    "phone",
    "product_categories",
    "status",
    "resumption_date",
    "national_whitelist_since",
    "provincial_whitelist_since",
    "held_reserve_warehouse",
    "active",
)


def _require_office(user):
    if not can_change_producer_register(user):
        raise PermissionDenied(_("Only office staff may change the producer register."))


def _set_reporters(producer: Producer, reporters):
    reporters = list(reporters)
    if any(r.effective_role != Role.PRODUCER_REPORTER for r in reporters):
        raise ValidationError(
            {"reporters": _("Only producer reporters or commissioners can be assigned.")}
        )
    producer.reporters.set(reporters)


def _save_with_history(obj, *, user, reason: str):
    # full_clean runs the credit-code validator and the choices for callers that skip forms.
    obj.full_clean()
    obj._history_user = user
    obj._change_reason = reason
    obj.save()


@transaction.atomic
def producer_create(*, user, reporters=(), **fields) -> Producer:
    """Add a producer to the register. Office staff only."""
    _require_office(user)
    unknown = set(fields) - set(PRODUCER_FIELDS)
    if unknown:
        raise TypeError(f"unknown producer fields: {sorted(unknown)}")
    producer = Producer(**fields)
    _save_with_history(producer, user=user, reason="producer_create")
    if reporters:
        _set_reporters(producer, reporters)
    return producer


@transaction.atomic
def producer_update(*, user, producer: Producer, reporters=None, **fields) -> Producer:
    """Change a producer's register entry (and, given `reporters`, who reports for it)."""
    _require_office(user)
    unknown = set(fields) - set(PRODUCER_FIELDS)
    if unknown:
        raise TypeError(f"unknown producer fields: {sorted(unknown)}")
    producer = Producer.objects.select_for_update().get(pk=producer.pk)
    for name, value in fields.items():
        setattr(producer, name, value)
    _save_with_history(producer, user=user, reason="producer_update")
    if reporters is not None:
        _set_reporters(producer, reporters)
    return producer


HELD_RESERVE_REASON_MAX = 70


@transaction.atomic
def producer_set_held_reserve_warehouse(
    *, user, producer: Producer, warehouse: Warehouse | None, reason: str = ""
) -> Producer:
    """Name the warehouse where the reserve `producer` holds for the province (代储) is booked,
    or none. Office staff only; recorded in the producer's history with `reason`.

    The warehouse must be a producer-held one, active, and not already another producer's
    (a held reserve belongs to one producer). Stock booked earlier stays where it was booked:
    only the producer's next reports book into the new warehouse.
    """
    _require_office(user)
    producer = Producer.objects.select_for_update().get(pk=producer.pk)
    if warehouse is not None:
        warehouse = Warehouse.objects.select_for_update().get(pk=warehouse.pk)
        if warehouse.kind != WarehouseKind.PRODUCER_HELD or not warehouse.active:
            raise ValidationError(
                {
                    "held_reserve_warehouse": _(
                        "Only an active producer-held reserve warehouse can be chosen."
                    )
                }
            )
        taken_by = Producer.objects.filter(held_reserve_warehouse=warehouse).exclude(pk=producer.pk)
        if taken_by.exists():
            raise ValidationError(
                {
                    "held_reserve_warehouse": _(
                        "This warehouse already holds the reserve of %(producer)s."
                    )
                    % {"producer": taken_by.get().name}
                }
            )
    if producer.held_reserve_warehouse_id == (warehouse.pk if warehouse else None):
        return producer
    reason = reason.strip()
    error = _free_text_error(reason) if reason else None
    if len(reason) > HELD_RESERVE_REASON_MAX:
        error = _("At most %(n)d characters.") % {"n": HELD_RESERVE_REASON_MAX}
    if error:
        raise ValidationError({"reason": error})
    producer.held_reserve_warehouse = warehouse
    # The history's change reason holds 100 characters: the change's name and the reason.
    change = "held_reserve_warehouse"
    _save_with_history(producer, user=user, reason=f"{change}: {reason}" if reason else change)
    return producer


@transaction.atomic
def production_line_set_status(
    *, user, line: ProductionLine, status: str, on: dt.date | None = None
) -> ProductionLine:
    """Move a line to `status`. Commissioning records the actual date (`on`, else kept)."""
    line = ProductionLine.objects.select_for_update().select_related("producer").get(pk=line.pk)
    if not can_report_for_producer(user, line.producer):
        raise PermissionDenied(_("You may not change this producer's lines."))
    line.status = status
    if line.status == LineStatus.COMMISSIONED and on is not None:
        line.actual_commissioning = on
    _save_with_history(line, user=user, reason="production_line_set_status")
    return line


@transaction.atomic
def licence_add(
    *,
    user,
    producer: Producer,
    kind: str,
    number: str,
    issued: dt.date,
    issuer: str = "",
    expires: dt.date | None = None,
) -> Licence:
    """Record a licence of a producer. Office staff, or a reporter of that producer."""
    if not can_report_for_producer(user, producer):
        raise PermissionDenied(_("You may not add licences to this producer."))
    licence = Licence(
        producer=producer, kind=kind, number=number, issuer=issuer, issued=issued, expires=expires
    )
    _save_with_history(licence, user=user, reason="licence_add")
    return licence


# --- Daily production reports: a declaration on the bulk-rows pipeline (supplycoord.bulk) ----

# When a report's delivery into the held reserve is booked on its date (local time).
RESERVE_RECEIPT_TIME = dt.time(18, 0)


class ProductionReportsInvalid(RowsInvalid):
    """Every problem of a submission of production reports (RowError: row, field, message)."""


class ProductionReportsOutOfScope(RowsOutOfScope):
    """The caller tried to report for a producer that is not theirs."""


def _verbose(field):
    return ProductionReport._meta.get_field(field).verbose_name


class ProductionReportsKind(EntryKind):
    """生产日报: one producer's output of one item on one day, and where it went."""

    model = ProductionReport
    owner = "producer"
    owner_model = Producer
    owner_code_field = "credit_code"
    owner_code_upper = True
    owner_help = "Unified social credit code of the producer."
    fields = (
        Field("output", _verbose("output"), gettext_lazy("Output")),
        Field(
            "to_reserve",
            _verbose("to_reserve"),
            gettext_lazy("Into the held reserve"),
            required=False,
            help_text="Delivered into the province's held reserve; booked as a receipt into "
            "the producer's held-reserve warehouse.",
        ),
        Field(
            "to_prefectures",
            _verbose("to_prefectures"),
            gettext_lazy("To prefectures"),
            required=False,
        ),
        Field("to_market", _verbose("to_market"), gettext_lazy("To the market"), required=False),
        Field(
            "factory_stock",
            _verbose("factory_stock"),
            gettext_lazy("Stock at the factory"),
            help_text="Stock at the factory.",
        ),
        Field(
            "held_for_province",
            _verbose("held_for_province"),
            gettext_lazy("Held for the province"),
            required=False,
            help_text="Of the factory stock, held for the province (代储).",
        ),
        Field(
            "raw_material_days",
            _verbose("raw_material_days"),
            gettext_lazy("Raw materials (days)"),
            unit=DAYS,
            required=False,
            empty=None,  # not reported
            max_value=10_000,
            help_text="Days of production on hand.",
        ),
    )
    invalid = ProductionReportsInvalid
    out_of_scope = ProductionReportsOutOfScope

    def __init__(self):
        self.line_items: dict[int, set[int]] = {}

    def messages(self):
        return {
            "unknown_owner": _("Unknown producer (unified social credit code)."),
            "inactive_owner": _("This producer is not active."),
            "duplicate": _("Duplicate row: the same producer, item and date as row %(row)s."),
            "api_out_of_scope": _("You may not report for the producer of these rows."),
        }

    def may_write(self, user, owner):
        return can_report_for_producer(user, owner)

    def owners(self, codes):
        return super().owners(codes).select_related("held_reserve_warehouse")

    def prepare(self, owners):
        # The items each producer has a production line for (any status).
        self.line_items = {}
        pairs = ProductionLine.objects.filter(producer__in=owners).values_list(
            "producer_id", "item_id"
        )
        for producer_id, item_id in pairs:
            self.line_items.setdefault(producer_id, set()).add(item_id)

    def check_row(self, *, owner, item, figures):
        found = []
        if owner and item and item.active and item.pk not in self.line_items.get(owner.pk, ()):
            found.append(("item", _("This producer has no production line for this item.")))
        held, stock = figures.get("held_for_province"), figures.get("factory_stock")
        if held is not None and stock is not None and held > stock:
            found.append(
                (
                    "held_for_province",
                    _("What is held for the province cannot exceed the stock at the factory."),
                )
            )
        if owner is not None and figures.get("to_reserve") and not owner.held_reserve_warehouse_id:
            found.append(
                (
                    "to_reserve",
                    _(
                        "This producer holds no reserve for the province yet: the office must "
                        "first set its held-reserve warehouse."
                    ),
                )
            )
        return found

    def new_row(self, *, user, owner, item, date, figures, now):
        report = super().new_row(
            user=user, owner=owner, item=item, date=date, figures=figures, now=now
        )
        report.reserve_receipt = None
        return report

    def stored(self, keys):
        # Only the reports are locked: PostgreSQL refuses FOR UPDATE on the nullable side of
        # the outer join to their receipt, which stock_reverse locks itself.
        return ProductionReport.objects.select_for_update(of=("self",)).select_related(
            "reserve_receipt"
        )

    def save(self, *, user, created, updated, now):
        """Book each changed delivery into the held reserve, then write the reports. A ledger
        refusal (the reserve was dispatched since) is the row's `to_reserve` error."""
        errors = []
        for row in (*created, *updated):
            if row.before is not None and row.before["to_reserve"] == row.figures["to_reserve"]:
                continue
            try:
                _book_reserve_receipt(
                    row.instance, user=user, now=now, reason=row.instance.correction_reason
                )
            except LedgerError as error:
                errors.append(RowError(row.index, "to_reserve", error.message))
            except PermissionDenied as error:
                # The first receipt lies in a warehouse that is no longer this producer's
                # held reserve (the office changed it): only the office may reverse it now.
                errors.append(RowError(row.index, "to_reserve", str(error)))
            if too_many_errors(errors):
                break
        if not errors:
            bulk_upsert(
                self,
                user=user,
                created=created,
                updated=updated,
                now=now,
                extra_update_fields=("reserve_receipt",),
            )
        return errors


PRODUCTION_REPORTS = ProductionReportsKind()
assert PRODUCTION_REPORTS.field_names == (*REPORT_FIELDS, "raw_material_days")


# PostgreSQL cannot store or even compare a text holding NUL: such a free text (reason,
# description, resolution) is refused by the rule every door applies (supplycoord.lib.text:
# no control characters but tab and line breaks), never a 500.
def _free_text_error(text) -> str | None:
    return text_error(text, multiline=True) if isinstance(text, str) else None


def production_reports_submit(
    *, user, rows: list[dict], reason: str = "", now: dt.datetime | None = None
) -> SubmitResult:
    """Save producers' daily production reports, all rows or none (see
    `supplycoord.bulk.rows_submit`).

    Each row: producer (unified social credit code or Producer), item (code or Item), date,
    `output` and `factory_stock` (required), `to_reserve`, `to_prefectures`, `to_market`,
    `held_for_province` (default 0), `raw_material_days` (optional), optionally its own
    `reason`. The item must be one the producer has a production line for; what is held for
    the province cannot exceed the factory stock.

    A row for an existing key is a correction; correcting a past date needs a reason.
    `to_reserve` > 0 books a receipt (own production) into the producer's held-reserve
    warehouse dated the report's day, so reserve stock and the snapshots include it; a
    correction of it reverses that receipt and books the new quantity. A ledger refusal (e.g.
    the reserve was dispatched since) is reported on the row's `to_reserve` and nothing is
    saved.

    Raises ProductionReportsOutOfScope if any row is for a producer the user does not report
    for, ProductionReportsInvalid with every problem found.
    """
    return rows_submit(PRODUCTION_REPORTS, user=user, rows=rows, reason=reason, now=now)


def _book_reserve_receipt(report: ProductionReport, *, user, now, reason: str) -> None:
    """Make the ledger hold `report.to_reserve` for the report: reverse, then receive."""
    already_reversed = (
        report.reserve_receipt_id is not None
        and StockEvent.objects.filter(reverses_id=report.reserve_receipt_id).exists()
    )
    # The office may have reversed the receipt on the ledger page (a mistaken delivery): the
    # ledger then holds nothing for this report, and reversing again would be refused forever.
    if report.reserve_receipt_id is not None and not already_reversed:
        stock_reverse(
            user=user,
            event=report.reserve_receipt,
            reason=reason or _("Production report corrected"),
            for_production_report=True,
        )
    if report.reserve_receipt_id is not None:
        report.reserve_receipt = None
    if not report.to_reserve:
        return
    producer = report.producer
    moment = timezone.make_aware(dt.datetime.combine(report.date, RESERVE_RECEIPT_TIME))
    report.reserve_receipt = stock_receive(
        user=user,
        warehouse=producer.held_reserve_warehouse,
        lines=[(report.item, report.to_reserve)],
        source=ReceiptSource.OWN_PRODUCTION,
        source_document=f"PR {producer.credit_code} {report.date.isoformat()}",
        counterparty=producer.name[:128],
        occurred_at=min(moment, now),
        # No note: a text written now would stay in this reporter's language for every later
        # reader. The source (own production), the source document (PR, credit code, date)
        # and the producer's held-reserve warehouse say what it is, in any language.
        history=True,
        for_production_report=True,
    )


# --- Problems -----------------------------------------------------------------------------


def _require_problem_rights(user, producer):
    if not can_report_for_producer(user, producer):
        raise PermissionDenied(_("You may not handle this producer's problems."))


@transaction.atomic
def problem_report(
    *, user, producer: Producer, category: str, description: str, now=None
) -> Problem:
    """Record a producer's problem. Office staff, or a reporter/commissioner of the producer."""
    _require_problem_rights(user, producer)
    description = (description or "").strip()
    errors = {}
    if category not in ProblemCategory.values:
        errors["category"] = _("Choose a category from the list.")
    if not description:
        errors["description"] = _("Describe the problem.")
    elif _free_text_error(description):
        errors["description"] = _free_text_error(description)
    if errors:
        raise ValidationError(errors)
    problem = Problem(
        producer=producer,
        category=category,
        description=description,
        reported_by=user,
        reported_at=now or timezone.now(),
    )
    _save_with_history(problem, user=user, reason="problem_report")
    return problem


@transaction.atomic
def problem_take(*, user, problem: Problem, owner=None) -> Problem:
    """An open problem is now being worked on by `owner` (default: the user)."""
    problem = Problem.objects.select_for_update().select_related("producer").get(pk=problem.pk)
    _require_problem_rights(user, problem.producer)
    if problem.status != ProblemStatus.OPEN:
        raise ValidationError(
            {
                "status": _("Only an open problem can be taken in hand; this one is %(status)s.")
                % {"status": problem.get_status_display()}
            }
        )
    problem.owner = owner or user
    problem.status = ProblemStatus.IN_PROGRESS
    _save_with_history(problem, user=user, reason="problem_take")
    return problem


@transaction.atomic
def problem_resolve(*, user, problem: Problem, resolution: str, now=None) -> Problem:
    """Close a problem (open or in progress) with how it was resolved."""
    problem = Problem.objects.select_for_update().select_related("producer").get(pk=problem.pk)
    _require_problem_rights(user, problem.producer)
    if problem.status == ProblemStatus.RESOLVED:
        raise ValidationError({"status": _("This problem is already resolved.")})
    resolution = (resolution or "").strip()
    if not resolution:
        raise ValidationError({"resolution": _("Say how the problem was resolved.")})
    if _free_text_error(resolution):
        raise ValidationError({"resolution": _free_text_error(resolution)})
    problem.status = ProblemStatus.RESOLVED
    problem.resolution = resolution
    problem.resolved_by = user
    problem.resolved_at = now or timezone.now()
    if problem.owner_id is None:
        problem.owner = user
    _save_with_history(problem, user=user, reason="problem_resolve")
    return problem
