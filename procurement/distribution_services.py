"""State changes of the distribution enterprises (医药流通企业): their register and their daily
reports. Pages, the API and the Excel import all call these.

A daily report is one row per (enterprise, item, date) with `purchased`, `shipped`,
`purchase_in_transit` and `stock` (reports.md, "Inbound"). It goes through the one bulk-rows
pipeline (supplycoord.bulk) the prefectures' daily figures and the production reports use:
whole numbers of 0 or more up to SUPPLYCOORD["MAX_QUANTITY"], no future date, a reporter
back-dates within SUPPLYCOORD["OFFICER_BACKDATE_DAYS"] (the office freely, as for production
reports: supplycoord.permissions.can_backdate_freely), all rows or none, audited with
django-simple-history. Our own rules on top:

- an item must be one the enterprise reports (its `items`, or every active key item when it
  has none chosen);
- a later submission that changes a stored row is a correction and needs a reason, today's
  as well as a past date's (the pipeline asks one for past dates only), of at most 500
  characters (a longer one is refused, not cut short): the old figures stay in the history
  with who, when and why;
- an unchanged resubmission is counted as unchanged and writes nothing (no history row).
"""

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from supplycoord.bulk import (
    EntryKind,
    Field,
    RowError,
    RowsInvalid,
    RowsOutOfScope,
    SubmitResult,
    bulk_upsert,
    rows_submit,
)
from supplycoord.events import inbound_changed
from supplycoord.models import Role
from supplycoord.permissions import (
    can_change_distribution_register,
    can_report_for_distribution_enterprise,
)

from .distribution_selectors import reported_item_ids
from .models import DISTRIBUTION_FIGURES, DistributionEnterprise, DistributionReport

# --- The register -------------------------------------------------------------------------------

ENTERPRISE_FIELDS = ("name", "credit_code", "prefecture", "contact", "phone", "note", "active")


def _require_register_rights(user):
    if not can_change_distribution_register(user):
        raise PermissionDenied(_("Only office staff may change the distribution enterprises."))


def _set_reporters(enterprise: DistributionEnterprise, reporters) -> None:
    reporters = list(reporters)
    if any(r.effective_role != Role.DISTRIBUTION_REPORTER for r in reporters):
        raise ValidationError(
            {"reporters": _("Only distribution enterprise reporters can be assigned.")}
        )
    enterprise.reporters.set(reporters)


def _set_items(enterprise: DistributionEnterprise, items) -> None:
    items = list(items)
    if any(not item.active for item in items):
        raise ValidationError(
            {"items": _("An item withdrawn from the catalogue cannot be chosen.")}
        )
    enterprise.items.set(items)


def _normalised(fields: dict) -> dict:
    unknown = set(fields) - set(ENTERPRISE_FIELDS)
    if unknown:
        raise TypeError(f"unknown distribution enterprise fields: {sorted(unknown)}")
    if isinstance(fields.get("credit_code"), str):
        # The validator (supplycoord.lib.credit_code) checks the GB 32100 check character of
        # the upper-case code; people type it in either case, with spaces around.
        fields["credit_code"] = fields["credit_code"].strip().upper()
    for name in ("name", "contact", "phone"):
        if isinstance(fields.get(name), str):
            fields[name] = fields[name].strip()
    return fields


def _save_with_history(enterprise: DistributionEnterprise, *, user, reason: str) -> None:
    # full_clean runs the credit-code and text validators for callers that skip forms (the
    # admin is read-only, the API and commands call here).
    enterprise.full_clean(exclude=["items", "reporters"])
    enterprise._history_user = user
    enterprise._change_reason = reason
    try:
        with transaction.atomic():
            enterprise.save()
    except IntegrityError as exc:
        # Two offices saving the same new credit code at once both pass full_clean's check;
        # the second meets the unique key: the same field error, not a 500.
        raise ValidationError(
            {
                "credit_code": enterprise.unique_error_message(
                    DistributionEnterprise, ["credit_code"]
                )
            }
        ) from exc


@transaction.atomic
def distribution_enterprise_create(
    *, user, reporters=(), items=(), **fields
) -> DistributionEnterprise:
    """Add an enterprise to the register, with its reporters and the items it reports (none:
    every key item). Office only. Raises PermissionDenied, ValidationError by field."""
    _require_register_rights(user)
    enterprise = DistributionEnterprise(**_normalised(fields))
    _save_with_history(enterprise, user=user, reason="distribution_enterprise_create")
    if reporters:
        _set_reporters(enterprise, reporters)
    if items:
        _set_items(enterprise, items)
    return enterprise


@transaction.atomic
def distribution_enterprise_update(
    *, user, enterprise: DistributionEnterprise, reporters=None, items=None, **fields
) -> DistributionEnterprise:
    """Change an enterprise's entry (and, given, its reporters and items). Office only."""
    _require_register_rights(user)
    fields = _normalised(fields)
    enterprise = DistributionEnterprise.objects.select_for_update().get(pk=enterprise.pk)
    changed = False
    for name, value in fields.items():
        changed = changed or getattr(enterprise, name) != value
        setattr(enterprise, name, value)
    # One history row per real change: an unchanged entry is not saved again (a change of
    # reporters or items alone is recorded by their own history row).
    if changed:
        _save_with_history(enterprise, user=user, reason="distribution_enterprise_update")
    else:
        enterprise._history_user = user  # who changed the reporters or items, if they did
        enterprise._change_reason = "distribution_enterprise_update"
    if reporters is not None:
        _set_reporters(enterprise, reporters)
    if items is not None:
        _set_items(enterprise, items)
    return enterprise


@transaction.atomic
def distribution_enterprise_assign_reporters(
    *, user, enterprise: DistributionEnterprise, reporters
) -> DistributionEnterprise:
    """Who reports for `enterprise` (replaces the list). Office only; in its history."""
    return distribution_enterprise_update(user=user, enterprise=enterprise, reporters=reporters)


# --- Daily reports ------------------------------------------------------------------------------


class DistributionReportsInvalid(RowsInvalid):
    """Every problem of a submission of distribution reports (RowError: row, field, message)."""


class DistributionReportsOutOfScope(RowsOutOfScope):
    """The caller tried to report for an enterprise that is not theirs."""


def _verbose(field):
    return DistributionReport._meta.get_field(field).verbose_name


REASON_MAX_LENGTH = DistributionReport._meta.get_field("correction_reason").max_length


class DistributionReportsKind(EntryKind):
    """流通企业日报: one enterprise's purchases, shipments, purchases in transit and stock of
    one item on one day."""

    model = DistributionReport
    owner = "enterprise"
    owner_model = DistributionEnterprise
    owner_code_field = "credit_code"
    owner_code_upper = True
    owner_help = "Unified social credit code of the distribution enterprise."
    fields = (
        Field(
            "purchased",
            _verbose("purchased"),
            gettext_lazy("Purchased"),
            help_text="Bought that day (采购数量).",
        ),
        Field(
            "shipped",
            _verbose("shipped"),
            pgettext_lazy("distribution report", "Shipped"),
            help_text="Shipped out that day (调运数量).",
        ),
        Field(
            "purchase_in_transit",
            _verbose("purchase_in_transit"),
            gettext_lazy("Purchase in transit"),
            help_text="Bought and not arrived yet, as of that day (采购在途数量).",
        ),
        Field(
            "stock",
            _verbose("stock"),
            pgettext_lazy("distribution report", "Stock"),
            help_text="On hand that day (库存数量).",
        ),
    )
    invalid = DistributionReportsInvalid
    out_of_scope = DistributionReportsOutOfScope

    def __init__(self):
        self.item_ids: dict[int, set[int]] = {}

    def messages(self):
        return {
            "unknown_owner": _("Unknown distribution enterprise (unified social credit code)."),
            "inactive_owner": _("This distribution enterprise is not active."),
            "duplicate": _("Duplicate row: the same enterprise, item and date as row %(row)s."),
            "api_out_of_scope": _("You may not report for the enterprise of these rows."),
        }

    def may_write(self, user, owner):
        return can_report_for_distribution_enterprise(user, owner)

    def prepare(self, owners):
        self.item_ids = reported_item_ids({o.pk for o in owners})

    def check_row(self, *, owner, item, figures):
        if owner and item and item.active and item.pk not in self.item_ids.get(owner.pk, ()):
            return [("item", _("This enterprise does not report this item."))]
        return []

    def save(self, *, user, created, updated, now):
        # Every correction needs a reason, not only a past date's (the pipeline's own rule):
        # the enterprise's figures feed the inbound view the same day. A reason longer than
        # its column is refused, never cut short without a word (the pipeline keeps only the
        # first REASON_MAX_LENGTH characters).
        errors = []
        for row in updated:
            if not row.reason:
                errors.append(RowError(row.index, "reason", _("A correction needs a reason.")))
            elif len(row.reason) > REASON_MAX_LENGTH:
                message = _("At most %(limit)d characters, please.") % {"limit": REASON_MAX_LENGTH}
                errors.append(RowError(row.index, "reason", message))
        if not errors:
            bulk_upsert(self, user=user, created=created, updated=updated, now=now)
            # In the transaction: the reports' rebuild outbox commits with the figures.
            inbound_changed(dates={row.date for row in (*created, *updated)})
        return errors


DISTRIBUTION_REPORTS = DistributionReportsKind()
assert DISTRIBUTION_REPORTS.field_names == DISTRIBUTION_FIGURES


def distribution_reports_submit(
    *, user, rows: list, reason: str = "", now: dt.datetime | None = None
) -> SubmitResult:
    """Save distribution enterprises' daily reports, all rows or none (see
    `supplycoord.bulk.rows_submit`).

    Each row: enterprise (unified social credit code or DistributionEnterprise), item (code
    or Item), date, `purchased`, `shipped`, `purchase_in_transit`, `stock` (all required),
    optionally its own `reason`. A row for a stored key with other figures is a correction
    and needs a reason; the same figures again are `unchanged` and write nothing.

    Raises DistributionReportsOutOfScope if any row is for an enterprise the user does not
    report for, DistributionReportsInvalid with every problem found.
    """
    return rows_submit(DISTRIBUTION_REPORTS, user=user, rows=rows, reason=reason, now=now)


def distribution_report_submit(
    *,
    user,
    enterprise: DistributionEnterprise,
    date,
    rows: list,
    reason: str = "",
    now: dt.datetime | None = None,
) -> SubmitResult:
    """A day's report of one enterprise: `rows` are {"item", "purchased", "shipped",
    "purchase_in_transit", "stock"[, "reason"]}, one per item. Errors name the row's index in
    `rows`. See `distribution_reports_submit`."""
    return distribution_reports_submit(
        user=user,
        rows=[
            {**row, "enterprise": enterprise, "date": date} if isinstance(row, dict) else row
            for row in rows
        ],
        reason=reason,
        now=now,
    )
