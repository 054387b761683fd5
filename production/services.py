"""State changes of production. Pages, the API and imports all call these."""

import datetime as dt

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from inventory.models import ReceiptSource, StockEvent
from inventory.services import (
    LedgerError,
    RowError,
    SubmitResult,
    errors_listed,
    parse_whole_number,
    stock_receive,
    stock_reverse,
    too_many_errors,
)
from supplycoord.lib.dates import entry_date_error, parse_iso_date
from supplycoord.lib.text import text_error
from supplycoord.models import Item, Role
from supplycoord.selectors import earliest_entry_date

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
from .selectors import user_can_change_producer

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
    if not user.is_authenticated or not user.is_office:
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


@transaction.atomic
def production_line_set_status(
    *, user, line: ProductionLine, status: str, on: dt.date | None = None
) -> ProductionLine:
    """Move a line to `status`. Commissioning records the actual date (`on`, else kept)."""
    line = ProductionLine.objects.select_for_update().select_related("producer").get(pk=line.pk)
    if not user_can_change_producer(user, line.producer):
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
    if not user_can_change_producer(user, producer):
        raise PermissionDenied(_("You may not add licences to this producer."))
    licence = Licence(
        producer=producer, kind=kind, number=number, issuer=issuer, issued=issued, expires=expires
    )
    _save_with_history(licence, user=user, reason="licence_add")
    return licence


# --- Daily production reports -------------------------------------------------------------

# Figures a row must carry; the others default to 0 (raw_material_days to "not reported").
REQUIRED_REPORT_FIELDS = ("output", "factory_stock")
# When a report's delivery into the held reserve is booked on its date (local time).
RESERVE_RECEIPT_TIME = dt.time(18, 0)


class ProductionReportsInvalid(Exception):
    """Every problem of a submission of production reports (RowError: row, field, message)."""

    def __init__(self, errors: list[RowError]):
        super().__init__(f"{len(errors)} invalid field(s)")
        # In row order, at most SUPPLYCOORD["MAX_ERRORS_REPORTED"] (see `errors_listed`).
        self.errors, self.more_not_listed = errors_listed(errors)


class ProductionReportsOutOfScope(Exception):
    """The caller tried to report for a producer that is not theirs."""

    def __init__(self, rows: list[int]):
        super().__init__(f"rows outside the caller's scope: {rows}")
        self.rows = rows


# PostgreSQL cannot store or even compare a text holding NUL: such a code is unknown, such
# a free text (reason, description, resolution) is refused by the rule every door applies
# (supplycoord.lib.text: no control characters but tab and line breaks), never a 500.
NUL = "\x00"


def _free_text_error(text) -> str | None:
    return text_error(text, multiline=True) if isinstance(text, str) else None


def production_reports_submit(
    *, user, rows: list[dict], reason: str = "", now: dt.datetime | None = None
) -> SubmitResult:
    """Save producers' daily production reports, all rows or none.

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
    now = now or timezone.now()
    limit = settings.SUPPLYCOORD["MAX_ROWS_PER_SUBMISSION"]
    if len(rows) > limit:
        raise ProductionReportsInvalid(
            [
                RowError(
                    None,
                    "non_field_errors",
                    _("At most %(limit)d rows may be sent at once; split the submission.")
                    % {"limit": limit},
                )
            ]
        )
    message = _free_text_error(reason)
    if message:
        raise ProductionReportsInvalid([RowError(None, "reason", message)])
    try:
        return _production_reports_submit_once(user=user, rows=rows, reason=reason, now=now)
    except IntegrityError:
        # Two first submissions of one key at once: the loser runs again as a correction.
        return _production_reports_submit_once(user=user, rows=rows, reason=reason, now=now)


def _report_figures(row, index, errors) -> dict:
    figures = {}
    for field in REPORT_FIELDS:
        value = row.get(field)
        if field not in REQUIRED_REPORT_FIELDS and value in (None, ""):
            value = 0
        number, message = parse_whole_number(value)
        if message:
            errors.append(RowError(index, field, message))
        figures[field] = number
    value = row.get("raw_material_days")
    figures["raw_material_days"] = None
    if value not in (None, ""):
        number, message = parse_whole_number(value)
        if message:
            errors.append(RowError(index, "raw_material_days", message))
        elif number > 10_000:
            errors.append(RowError(index, "raw_material_days", _("This number is too large.")))
        else:
            figures["raw_material_days"] = number
    held, stock = figures.get("held_for_province"), figures.get("factory_stock")
    if held is not None and stock is not None and held > stock:
        errors.append(
            RowError(
                index,
                "held_for_province",
                _("What is held for the province cannot exceed the stock at the factory."),
            )
        )
    return figures


@transaction.atomic
def _production_reports_submit_once(*, user, rows, reason, now) -> SubmitResult:
    today = timezone.localdate(now)
    first_allowed = earliest_entry_date(user, today=today)
    producers = _producers_by_code(rows)
    items = _items_by_code(rows)
    line_items = _line_items({p.pk for p in producers.values()} | _instance_ids(rows))

    errors: list[RowError] = []
    out_of_scope: list[int] = []
    parsed = []
    seen: dict[tuple, int] = {}
    for index, row in enumerate(rows):
        if too_many_errors(errors):
            break  # enough to refuse the submission and to list
        if not isinstance(row, dict):
            errors.append(RowError(index, "non_field_errors", _("Each row must be an object.")))
            continue
        row_errors: list[RowError] = []
        producer = _resolve(row.get("producer"), Producer, producers)
        if producer is None:
            row_errors.append(
                RowError(index, "producer", _("Unknown producer (unified social credit code)."))
            )
        elif not producer.active:
            row_errors.append(RowError(index, "producer", _("This producer is not active.")))
        elif not user_can_change_producer(user, producer):
            out_of_scope.append(index)
        item = _resolve(row.get("item"), Item, items)
        if item is None:
            row_errors.append(RowError(index, "item", _("Unknown item code.")))
        elif not item.active:
            # As the daily figures: and the ledger would refuse its delivery anyway.
            row_errors.append(
                RowError(index, "item", _("This item is no longer in the catalogue."))
            )
        elif producer is not None and item.pk not in line_items.get(producer.pk, set()):
            row_errors.append(
                RowError(index, "item", _("This producer has no production line for this item."))
            )
        date = parse_iso_date(row.get("date"))
        message = entry_date_error(date, today=today, first_allowed=first_allowed)
        if message:
            row_errors.append(RowError(index, "date", message))
        figures = _report_figures(row, index, row_errors)
        if (
            producer is not None
            and figures.get("to_reserve")
            and producer.held_reserve_warehouse_id is None
        ):
            row_errors.append(
                RowError(
                    index,
                    "to_reserve",
                    _(
                        "This producer holds no reserve for the province yet: the office must "
                        "first set its held-reserve warehouse."
                    ),
                )
            )
        if producer and item and date:
            key = (producer.pk, item.pk, date)
            if key in seen:
                row_errors.append(
                    RowError(
                        index,
                        "item",
                        _("Duplicate row: the same producer, item and date as row %(row)d.")
                        % {"row": seen[key]},
                    )
                )
            else:
                seen[key] = index
        own_reason = row.get("reason")
        if own_reason not in (None, "") and not isinstance(own_reason, str):
            row_errors.append(RowError(index, "reason", _("The reason must be text.")))
        elif _free_text_error(own_reason):
            row_errors.append(RowError(index, "reason", _free_text_error(own_reason)))
        errors.extend(row_errors)
        if not row_errors and index not in out_of_scope:
            row_reason = str(own_reason or reason or "").strip()
            parsed.append((index, producer, item, date, figures, row_reason))

    if out_of_scope:
        raise ProductionReportsOutOfScope(out_of_scope)

    existing = _existing_reports(parsed)
    result = SubmitResult()
    to_save = []
    for index, producer, item, date, figures, row_reason in parsed:
        current = existing.get((producer.pk, item.pk, date))
        if current is None:
            report = ProductionReport(
                producer=producer,
                item=item,
                date=date,
                submitted_by=user,
                first_submitted_at=now,
                submitted_at=now,
                **figures,
            )
            to_save.append((index, report, None))
            continue
        if current.figures() == figures:
            result.unchanged += 1
            continue
        if date < today and not row_reason:
            errors.append(
                RowError(index, "reason", _("A correction of a past date needs a reason."))
            )
            if too_many_errors(errors):
                break
            continue
        previous_to_reserve = current.to_reserve
        for field, value in figures.items():
            setattr(current, field, value)
        current.submitted_by = user
        current.submitted_at = now
        current.correction_reason = row_reason[:500]
        current._change_reason = row_reason[:100]
        to_save.append((index, current, previous_to_reserve))

    if errors:
        raise ProductionReportsInvalid(errors)

    for index, report, previous_to_reserve in to_save:
        if previous_to_reserve is None or report.to_reserve != previous_to_reserve:
            try:
                _book_reserve_receipt(report, user=user, now=now, reason=report.correction_reason)
            except LedgerError as error:
                errors.append(RowError(index, "to_reserve", error.message))
                if too_many_errors(errors):
                    break
                continue
            except PermissionDenied as error:
                # The first receipt lies in a warehouse that is no longer this producer's
                # held reserve (the office changed it): only the office may reverse it now.
                errors.append(RowError(index, "to_reserve", str(error)))
                if too_many_errors(errors):
                    break
                continue
        report._history_user = user
        report.save()
        if previous_to_reserve is None:
            result.created += 1
        else:
            result.updated += 1
        result.dates_changed.add(report.date)
    if errors:
        # Receipts already booked for earlier rows roll back with the transaction.
        raise ProductionReportsInvalid(errors)
    return result


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
        note=_("Delivered into the held reserve (production report of %(date)s)")
        % {"date": report.date.isoformat()},
        history=True,
        for_production_report=True,
    )


def _producers_by_code(rows) -> dict[str, Producer]:
    codes = {
        row["producer"].strip().upper()
        for row in rows
        if isinstance(row, dict) and isinstance(row.get("producer"), str)
    }
    codes = {code for code in codes if NUL not in code}
    if not codes:
        return {}
    producers = Producer.objects.filter(credit_code__in=codes).select_related(
        "held_reserve_warehouse"
    )
    return {p.credit_code: p for p in producers}


def _items_by_code(rows) -> dict[str, Item]:
    codes = {
        row["item"].strip()
        for row in rows
        if isinstance(row, dict) and isinstance(row.get("item"), str) and NUL not in row["item"]
    }
    return {i.code: i for i in Item.objects.filter(code__in=codes)} if codes else {}


def _instance_ids(rows) -> set[int]:
    return {
        row["producer"].pk
        for row in rows
        if isinstance(row, dict) and isinstance(row.get("producer"), Producer)
    }


def _resolve(value, model, by_code):
    if isinstance(value, model):
        return value
    if isinstance(value, str):
        key = value.strip()
        return by_code.get(key.upper() if model is Producer else key)
    return None


def _line_items(producer_ids) -> dict[int, set[int]]:
    """The items each producer has a production line for (any status)."""
    found: dict[int, set[int]] = {}
    pairs = ProductionLine.objects.filter(producer_id__in=producer_ids).values_list(
        "producer_id", "item_id"
    )
    for producer_id, item_id in pairs:
        found.setdefault(producer_id, set()).add(item_id)
    return found


def _existing_reports(parsed) -> dict[tuple, ProductionReport]:
    if not parsed:
        return {}
    wanted = {(p.pk, i.pk, d) for _, p, i, d, _, _ in parsed}
    queryset = (
        # Only the reports are locked: PostgreSQL refuses FOR UPDATE on the nullable side of
        # the outer join to their receipt, which stock_reverse locks itself.
        ProductionReport.objects.select_for_update(of=("self",))
        .filter(
            producer_id__in={k[0] for k in wanted},
            item_id__in={k[1] for k in wanted},
            date__in={k[2] for k in wanted},
        )
        .select_related("reserve_receipt")
        .order_by("pk")
    )
    return {
        (r.producer_id, r.item_id, r.date): r
        for r in queryset
        if (r.producer_id, r.item_id, r.date) in wanted
    }


# --- Problems -----------------------------------------------------------------------------


def _require_problem_rights(user, producer):
    if not user_can_change_producer(user, producer):
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
