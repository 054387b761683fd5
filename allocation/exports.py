"""Exports of allocation, declared on the one exporter base (supplycoord/exports.py): the
allocation ledger (调拨台账) with its summary sheet (汇总), and the donation ledger (捐赠物资台账).

The ledger has one row per line of a dispatch batch, read by one `.values()` query in chunks:
no per-row queries and no model instances, so memory stays flat however long the ledger.
Unless a status filter says otherwise, only batches that left the warehouse (dispatched,
partly received, received, closed) are listed: drafts and cancelled batches moved nothing.
Totals are per unit of measure, one row each.

The ledger's CSV is written by PostgreSQL itself (`COPY … TO STDOUT WITH CSV`): a million
lines in seconds, in constant memory (bench/ledger_export.py measures it). Its columns and
headers come from the same declaration as the generic writer's, each column's SQL next to
its key, text through `csv_text_sql` (supplycoord/exports.py); a test holds the two byte for byte equal.
"""

from django.conf import settings
from django.db.models import F, Sum
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from supplycoord import permissions
from supplycoord.exports import (
    DATE,
    DATETIME,
    DECIMAL,
    INT,
    Column,
    Exporter,
    Strong,
    bilingual,
    copy_columns,
    copy_csv_lines,
    describe_filters,
    english,
    mogrify,
    person_name,
    queryset_sql,
    sql_case,
)
from supplycoord.lib.dates import LATEST_FILTER_DATE, earliest_date, local_today
from supplycoord.models import Unit

from .donation_forms import DonationFilterForm
from .filters import PROVINCE_LEVEL_LABEL, BatchFilter, filter_lines
from .models import (
    SHIPPED_STATUSES,
    BatchStatus,
    Channel,
    DestinationKind,
    DispatchBatchLine,
    Donation,
)
from .selectors import (
    allocation_totals,
    batches_visible_to,
    donation_traces,
    overdue_batches_filter,
    overdue_on_param,
)

# Lines are read from the database in chunks of this many, never all at once.
CHUNK = 2000

FIELDS = (
    "id",
    "batch__number",
    "batch__dispatched_at",
    "batch__expected_arrival",
    "batch__received_at",
    "batch__source_warehouse__code",
    "batch__issuing_prefecture__name_zh",
    "batch__issuing_prefecture__name_en",
    "batch__destination__kind",
    "batch__destination__name_zh",
    "batch__destination__name_en",
    "item__code",
    "item__name_zh",
    "item__name_en",
    "item__specification",
    "item__unit",
    "quantity",
    "channel",
    "donation_id",
    "donation__donor_name",
    "batch__status",
    "received_quantity",
    "batch__dispatched_by__username",
    "batch__dispatched_by__first_name",
    "batch__dispatched_by__last_name",
)


class AllocationLedgerExport(Exporter):
    """The caller's ledger lines for the list's filters (`params`: a QueryDict or dict).

    Three-level dispatch: each line says who issued its batch (the province, or the
    prefecture that shipped from its own warehouse); `level` draws the ledger and its
    summary at one level; a prefecture's officer or lead gets what `scope_batches` gives
    them, whatever the filters."""

    read_rule = staticmethod(permissions.can_read_prefecture_data)

    title = _("Allocation ledger")
    background_setting = "LEDGER_EXPORT_ASYNC_ROWS"

    def __init__(self, user, params=None):
        super().__init__(user, params)
        params = self.params.copy()
        # The list page names the destination kind `kind`; the API `destination_kind`.
        if params.get("kind") and not params.get("destination_kind"):
            params["destination_kind"] = params["kind"]
        self.filterset = BatchFilter(params, queryset=batches_visible_to(user))
        self._valid = self.filterset.is_valid()
        self.cleaned = self.filterset.form.cleaned_data if self._valid else {}
        batches = self.filterset.qs
        if not self.cleaned.get("status"):
            batches = batches.filter(status__in=SHIPPED_STATUSES)
        # The list's ?overdue= (batches on the road past their expected arrival): the file
        # holds what the page shows.
        overdue_on = overdue_on_param(self.params.get("overdue", ""))
        if overdue_on:
            batches = overdue_batches_filter(batches, date=overdue_on)
        lines = DispatchBatchLine.objects.filter(batch__in=batches.order_by().values("pk"))
        self.lines = filter_lines(lines, self.cleaned)

    @property
    def valid(self) -> bool:
        return self._valid

    @property
    def errors(self):
        return self.filterset.errors

    def error_text(self) -> str:
        return "; ".join(
            f"{field}: {' '.join(str(e) for e in errors)}" for field, errors in self.errors.items()
        )

    def columns(self):
        return [
            Column("number", _("Batch number"), width=11),
            Column("dispatched_at", _("Dispatched at"), DATETIME, 17),
            Column("expected_arrival", _("Expected arrival"), DATE, 12),
            Column("received_at", _("Receipt completed at"), DATETIME, 17),
            Column("source_warehouse", _("Source warehouse"), width=10),
            Column("issued_by", _("Issued by"), width=12),
            Column("destination_kind", _("Destination kind"), width=14),
            Column("destination", _("Destination"), width=22),
            Column("item_code", _("Item code"), width=10),
            Column("item", _("Item"), width=20),
            Column("specification", _("Specification"), width=16),
            Column("unit", _("Unit"), width=7),
            Column("quantity", _("Quantity"), INT, 12),
            Column("channel", _("Channel"), width=12),
            Column("donation", _("Donation"), width=20),
            Column("status", _("Status"), width=10),
            Column("received_quantity", _("Received quantity"), INT, 12),
            Column("discrepancy", _("Discrepancy"), INT, 11),
            Column("handled_by", _("Handled by"), width=12),
        ]

    def date_range(self):
        return (self.cleaned.get("from"), self.cleaned.get("to"))

    def filters_text(self) -> str:
        return describe_filters(self.filterset.form, skip=("from", "to"))

    def filename_parts(self):
        return [d.isoformat() for d in self.date_range() if d]

    def count(self) -> int:
        return self.lines.count()

    def rows(self):
        yield from self.line_rows()
        yield from self.totals_rows()

    def line_rows(self):
        """One dict per line, in chunks; one query in all."""
        units = dict(Unit.choices)
        kinds = dict(DestinationKind.choices)
        channels = dict(Channel.choices)
        statuses = dict(BatchStatus.choices)
        labels = {}
        province = str(PROVINCE_LEVEL_LABEL)

        def label(table, value):
            key = (id(table), value)
            if key not in labels:
                labels[key] = str(table.get(value, value))
            return labels[key]

        values = (
            self.lines.order_by("batch__dispatched_at", "batch__number", "id")
            .values(*FIELDS)
            .iterator(chunk_size=CHUNK)
        )
        for r in values:
            donation = ""
            if r["donation_id"]:
                donation = f"#{r['donation_id']} {r['donation__donor_name']}"
            yield {
                "number": r["batch__number"],
                "dispatched_at": r["batch__dispatched_at"],
                "expected_arrival": r["batch__expected_arrival"],
                "received_at": r["batch__received_at"],
                "source_warehouse": r["batch__source_warehouse__code"],
                "issued_by": bilingual(
                    r["batch__issuing_prefecture__name_zh"],
                    r["batch__issuing_prefecture__name_en"],
                )
                if r["batch__issuing_prefecture__name_zh"]
                else province,
                "destination_kind": label(kinds, r["batch__destination__kind"]),
                "destination": bilingual(
                    r["batch__destination__name_zh"], r["batch__destination__name_en"]
                ),
                "item_code": r["item__code"],
                "item": bilingual(r["item__name_zh"], r["item__name_en"]),
                "specification": r["item__specification"],
                "unit": label(units, r["item__unit"]),
                "quantity": r["quantity"],
                "channel": label(channels, r["channel"]),
                "donation": donation,
                "status": label(statuses, r["batch__status"]),
                "received_quantity": r["received_quantity"],
                "discrepancy": r["received_quantity"] - r["quantity"],
                "handled_by": person_name(
                    r["batch__dispatched_by__username"],
                    r["batch__dispatched_by__first_name"],
                    r["batch__dispatched_by__last_name"],
                ),
            }

    def totals_rows(self):
        """One total per unit of measure (pieces and kilograms are never added); a ledger
        without lines ends with one zero total."""
        units = dict(Unit.choices)
        sums = (
            self.lines.order_by()
            .values("item__unit")
            .annotate(quantity=Sum("quantity"), received=Sum("received_quantity"))
            .order_by("item__unit")
        )
        rows = [
            Strong(
                number=str(_("Total")),
                unit=str(units.get(s["item__unit"], s["item__unit"])),
                quantity=s["quantity"],
                received_quantity=s["received"],
                discrepancy=s["received"] - s["quantity"],
            )
            for s in sums
        ]
        return rows or [
            Strong(number=str(_("Total")), quantity=0, received_quantity=0, discrepancy=0)
        ]

    def totals(self, lines=None) -> dict:
        """reports.md "Allocation totals" over the same lines (or `lines`, a part of them)."""
        return allocation_totals(
            self.cleaned.get("from") or earliest_date(),
            self.cleaned.get("to") or LATEST_FILTER_DATE,
            lines=self.lines if lines is None else lines,
        )

    def extra_sheets(self):
        return [AllocationSummaryExport(self)]


class AllocationSummaryExport(Exporter):
    """汇总: the allocation totals by destination kind, destination, item and channel, one
    block per unit of measure, over the ledger's batches and lines."""

    read_rule = staticmethod(permissions.can_read_prefecture_data)

    title = pgettext_lazy("ledger sheet", "Summary")

    def __init__(self, ledger: AllocationLedgerExport):
        super().__init__(ledger.user, ledger.params)
        self.ledger = ledger

    def sheet_name(self):
        return str(self.title)

    def date_range(self):
        return self.ledger.date_range()

    def filters_text(self):
        return self.ledger.filters_text()

    def columns(self):
        return [
            Column("section", _("Grouping"), width=18),
            Column("name", _("Name"), width=28),
            Column("quantity", _("Quantity"), INT, 14),
            Column("unit", _("Unit"), width=8),
        ]

    def rows(self):
        kinds = dict(DestinationKind.choices)
        channels = dict(Channel.choices)
        units = dict(Unit.choices)
        yield Strong(section=str(_("Number of batches")), quantity=self.ledger.totals()["batches"])
        present = (
            self.ledger.lines.order_by("item__unit").values_list("item__unit", flat=True).distinct()
        )
        for unit in present:
            label = str(units.get(unit, unit))
            totals = self.ledger.totals(self.ledger.lines.filter(item__unit=unit))
            yield Strong(section=str(_("Total")), quantity=totals["total"], unit=label)
            sections = (
                (
                    _("By destination kind"),
                    totals["by_destination_kind"],
                    lambda r: str(kinds.get(r["destination_kind"], r["destination_kind"])),
                ),
                (
                    _("By destination"),
                    totals["by_destination"],
                    lambda r: bilingual(r["name_zh"], r["name_en"]),
                ),
                (_("By item"), totals["by_item"], lambda r: r["item_code"]),
                (
                    _("By channel"),
                    totals["by_channel"],
                    lambda r: str(channels.get(r["channel"], r["channel"])),
                ),
            )
            for title, rows, name in sections:
                for r in rows:
                    yield {
                        "section": str(title),
                        "name": name(r),
                        "quantity": r["quantity"],
                        "unit": label,
                    }


# --- The ledger's CSV through COPY ------------------------------------------------------------
# Each column's SQL by key, over the annotated lines below; %(…)s parameters are labels in
# the UI language and the office's time zone. The SELECT is built from `columns()`, so a
# column added to the declaration without its SQL fails loudly (KeyError), never silently.

_LINE_ANNOTATIONS = {
    "b_number": "batch__number",
    "b_dispatched_at": "batch__dispatched_at",
    "b_expected_arrival": "batch__expected_arrival",
    "b_received_at": "batch__received_at",
    "b_source": "batch__source_warehouse__code",
    "b_issuer_zh": "batch__issuing_prefecture__name_zh",
    "b_issuer_en": "batch__issuing_prefecture__name_en",
    "b_kind": "batch__destination__kind",
    "b_dest_zh": "batch__destination__name_zh",
    "b_dest_en": "batch__destination__name_en",
    "i_code": "item__code",
    "i_zh": "item__name_zh",
    "i_en": "item__name_en",
    "i_spec": "item__specification",
    "i_unit": "item__unit",
    "l_quantity": "quantity",
    "l_channel": "channel",
    "l_donation": "donation_id",
    "d_donor": "donation__donor_name",
    "b_status": "batch__status",
    "l_received": "received_quantity",
    "u_name": "batch__dispatched_by__username",
    "u_first": "batch__dispatched_by__first_name",
    "u_last": "batch__dispatched_by__last_name",
    "l_id": "id",
}


def _copy_expressions(params: dict, *, english: bool) -> dict:
    minute = "'YYYY-MM-DD HH24:MI'"
    return {
        "number": "b_number",
        "dispatched_at": f"to_char(b_dispatched_at AT TIME ZONE %(tz)s, {minute})",
        "expected_arrival": "to_char(b_expected_arrival, 'YYYY-MM-DD')",
        "received_at": f"to_char(b_received_at AT TIME ZONE %(tz)s, {minute})",
        "source_warehouse": "b_source",
        "issued_by": "CASE WHEN b_issuer_zh IS NULL THEN %(province)s ELSE "
        + ("COALESCE(NULLIF(b_issuer_en, ''), b_issuer_zh)" if english else "b_issuer_zh")
        + " END",
        "destination_kind": sql_case("b_kind", DestinationKind.choices, params, "k"),
        "destination": "COALESCE(NULLIF(b_dest_en, ''), b_dest_zh)" if english else "b_dest_zh",
        "item_code": "i_code",
        "item": "COALESCE(NULLIF(i_en, ''), i_zh)" if english else "i_zh",
        "specification": "i_spec",
        "unit": sql_case("i_unit", Unit.choices, params, "u"),
        "quantity": "l_quantity",
        "channel": sql_case("l_channel", Channel.choices, params, "c"),
        "donation": "CASE WHEN l_donation IS NOT NULL THEN '#' || l_donation || ' ' || d_donor END",
        "status": sql_case("b_status", BatchStatus.choices, params, "s"),
        "received_quantity": "l_received",
        "discrepancy": "l_received - l_quantity",
        "handled_by": "COALESCE(NULLIF(trim(coalesce(u_first, '') || ' ' || "
        "coalesce(u_last, '')), ''), u_name)",
    }


def _ledger_copy_sql(export: AllocationLedgerExport) -> str:
    lines = (
        export.lines.order_by()
        .annotate(**{name: F(path) for name, path in _LINE_ANNOTATIONS.items()})
        .values(*_LINE_ANNOTATIONS)
    )
    params = {"tz": settings.TIME_ZONE, "province": str(PROVINCE_LEVEL_LABEL)}
    selected = copy_columns(export.columns(), _copy_expressions(params, english=english()))
    sql = (
        f"SELECT {', '.join(selected)} FROM ({queryset_sql(lines)}) AS ledger "
        "ORDER BY b_dispatched_at, b_number, l_id"
    )
    return mogrify(sql, params)


def ledger_csv_lines(export: AllocationLedgerExport):
    """The ledger's CSV: the declaration's header (with BOM), the lines formatted by
    PostgreSQL (`supplycoord.exports.copy_csv_lines`), the totals per unit."""
    copy_sql = _ledger_copy_sql(export)
    totals = export.totals_rows()
    yield from copy_csv_lines(export, [copy_sql], totals)


# --- The donation ledger (捐赠物资台账) -------------------------------------------------------


def certificate_number(donation) -> str:
    """捐赠接收凭证 number: JZ, the year received and the donation's id, e.g. JZ2020-00012."""
    return f"JZ{donation.received_on:%Y}-{donation.pk:05d}"


def restriction_text(donation) -> str:
    text = str(donation.get_restriction_display())
    if donation.restricted_prefecture:
        text += f" · {donation.restricted_prefecture.name}"
    if donation.restricted_destination:
        text += f" · {donation.restricted_destination.name}"
    return text


def _items_text(trace) -> str:
    return "；".join(
        f"{row['item'].name} {row['received']}{row['item'].get_unit_display()}"
        for row in trace["lines"]
    )


class DonationLedgerExport(Exporter):
    """One row per donation the ledger's filters keep, newest first. Its received, allocated
    and remaining quantities are sums over the donation's items: written only when they share
    one unit (else the items column says each with its own)."""

    read_rule = staticmethod(permissions.sees_whole_province)

    title = _("Donation ledger")

    def __init__(self, user, params=None):
        super().__init__(user, params)
        self.form = DonationFilterForm(self.params or None)
        self.form.is_valid()
        self.donations = self.form.filter(
            Donation.objects.select_related(
                "warehouse", "restricted_prefecture", "restricted_destination"
            )
        ).order_by("-received_on", "-id")

    def columns(self):
        return [
            Column("certificate", _("Certificate number"), width=14),
            Column("donor", _("Donor"), width=24),
            Column("donor_kind", _("Donor kind"), width=10),
            Column("origin", _("Origin"), width=9),
            Column("received_on", _("Received on"), DATE, 12),
            Column("items", _("Donated items"), width=36),
            Column("declared_value", _("Declared value"), DECIMAL, 14, unit=_("yuan")),
            Column("restriction", _("Restriction"), width=20),
            Column("warehouse", _("Receiving warehouse"), width=18),
            Column("unit", _("Unit"), width=7),
            Column("received", _("Quantity received"), INT, 11),
            Column("allocated", _("Allocated"), INT, 11),
            Column("remaining", _("Remaining in the warehouse"), INT, 11),
        ]

    def date_range(self):
        cleaned = getattr(self.form, "cleaned_data", {})
        return (cleaned.get("date_from"), cleaned.get("date_to"))

    def filters_text(self):
        return describe_filters(self.form, skip=("date_from", "date_to"))

    def filename_parts(self):
        return [local_today().isoformat()]

    def count(self) -> int:
        return self.donations.count()

    def rows(self):
        for trace in donation_traces(self.donations):
            donation = trace["donation"]
            units = {row["item"].get_unit_display() for row in trace["lines"]}
            one_unit = len(units) == 1
            yield {
                "certificate": certificate_number(donation),
                "donor": donation.donor_name,
                "donor_kind": str(donation.get_donor_kind_display()),
                "origin": str(_("From abroad") if donation.foreign else _("Domestic")),
                "received_on": donation.received_on,
                "items": _items_text(trace),
                "declared_value": donation.declared_value,
                "restriction": restriction_text(donation),
                "warehouse": f"{donation.warehouse.code} {donation.warehouse.name}",
                "unit": str(next(iter(units))) if one_unit else "",
                "received": trace["received"] if one_unit else None,
                "allocated": trace["allocated"] if one_unit else None,
                "remaining": trace["remaining"] if one_unit else None,
            }
