"""Exports of the production app, declared on the one exporter base (supplycoord/exports.py):
the producer register (企业名录) and the daily production ledger (生产日报台账), as .xlsx and
as streamed CSV.

Rows are scoped by `producers_visible_to` / `reports_visible_to`: office and leadership get
every producer, an officer their prefecture's, a reporter their own. Headers are in the UI
language (Chinese by default); figures are written as numbers, not text. The CSV starts with
a byte-order mark so Excel reads its Chinese as UTF-8. Both read a constant number of
queries; the ledger is read in chunks, so memory stays flat however many reports there are.
"""

import datetime as dt

from django import forms
from django.db.models import Count, IntegerField, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from supplycoord import permissions
from supplycoord.exports import (
    DATE,
    DATETIME,
    INT,
    Column,
    Exporter,
    bilingual,
    describe_filters,
    person_name,
)
from supplycoord.lib.dates import local_today, validate_filter_date
from supplycoord.models import Item, Unit

from .models import Licence, LineStatus, Problem, ProblemStatus, ProducerStatus, ProductionLine
from .selectors import producers_visible_to, reports_visible_to

# Ledger rows are read from the database in chunks of this many, never all at once.
CHUNK = 2000


# --- The producer register ------------------------------------------------------------------


class ProducerRegister(Exporter):
    """One row per producer the user sees, with its capacity per item it has lines for."""

    read_rule = staticmethod(permissions.can_read_production)

    title = gettext_lazy("Producer register")

    def __init__(self, user, params=None, *, today: dt.date | None = None):
        super().__init__(user, params)
        self.today = today or local_today()
        licences = Licence.objects.filter(producer=OuterRef("pk")).order_by()
        open_problems = (
            Problem.objects.filter(producer=OuterRef("pk"))
            .exclude(status=ProblemStatus.RESOLVED)
            .order_by()
        )
        # Subqueries, not joins: two counted relations joined at once would multiply.
        self.producers = producers_visible_to(user).annotate(
            licence_count=Coalesce(
                Subquery(
                    licences.values("producer").annotate(n=Count("pk")).values("n"),
                    output_field=IntegerField(),
                ),
                Value(0),
            ),
            next_expiry=Subquery(
                licences.filter(expires__gte=self.today).order_by("expires").values("expires")[:1]
            ),
            open_problem_count=Coalesce(
                Subquery(
                    open_problems.values("producer").annotate(n=Count("pk")).values("n"),
                    output_field=IntegerField(),
                ),
                Value(0),
            ),
        )
        lines = (
            ProductionLine.objects.filter(producer__in=self.producers.values("pk"))
            .exclude(status=LineStatus.STOPPED)
            .order_by()
            .values("producer_id", "item_id")
            .annotate(
                commissioned=Sum(
                    "daily_capacity", filter=Q(status=LineStatus.COMMISSIONED), default=0
                ),
                when_all_built=Sum("daily_capacity"),
            )
        )
        self.capacity = {(r["producer_id"], r["item_id"]): r for r in lines}
        self.items = list(Item.objects.filter(pk__in={item for _p, item in self.capacity}))

    def count(self) -> int:
        return self.producers.count()

    def columns(self) -> list[Column]:
        columns = [
            Column("name", _("Producer"), width=28),
            Column("credit_code", _("Unified social credit code"), width=21),
            Column("prefecture", _("Prefecture"), width=12),
            Column("county", _("County"), width=12),
            Column("status", _("Status"), width=14),
            Column("resumption_date", _("Resumption date"), DATE, 12),
            Column("national_whitelist", _("On the national key enterprise list since"), DATE, 14),
            Column(
                "provincial_whitelist", _("On the provincial key enterprise list since"), DATE, 14
            ),
        ]
        units = dict(Unit.choices)
        for item in self.items:
            unit = units.get(item.unit, item.unit)
            columns += [
                Column(
                    f"commissioned_{item.pk}",
                    _("%(item)s: commissioned capacity (%(unit)s/day)")
                    % {"item": item.name, "unit": unit},
                    INT,
                    16,
                ),
                Column(
                    f"when_all_built_{item.pk}",
                    _("%(item)s: capacity when all built (%(unit)s/day)")
                    % {"item": item.name, "unit": unit},
                    INT,
                    16,
                ),
            ]
        columns += [
            Column("licence_count", _("Licences"), INT, 9),
            Column("next_expiry", _("Next licence expiry"), DATE, 12),
            Column("open_problems", _("Open problems"), INT, 10),
        ]
        return columns

    def rows(self):
        statuses = dict(ProducerStatus.choices)
        for producer in self.producers.order_by("prefecture__code", "name", "pk"):
            row = {
                "name": producer.name,
                "credit_code": producer.credit_code,
                "prefecture": producer.prefecture.name,
                "county": producer.county.name if producer.county else "",
                "status": str(statuses.get(producer.status, producer.status)),
                "resumption_date": producer.resumption_date,
                "national_whitelist": producer.national_whitelist_since,
                "provincial_whitelist": producer.provincial_whitelist_since,
                "licence_count": producer.licence_count,
                "next_expiry": producer.next_expiry,
                "open_problems": producer.open_problem_count,
            }
            for item in self.items:
                capacity = self.capacity.get((producer.pk, item.pk))
                row[f"commissioned_{item.pk}"] = capacity["commissioned"] if capacity else None
                row[f"when_all_built_{item.pk}"] = capacity["when_all_built"] if capacity else None
            yield row

    def filename_parts(self):
        return [self.today.isoformat()]


# --- The daily production ledger ---------------------------------------------------------


class LedgerFilterForm(forms.Form):
    date_from = forms.DateField(
        label=gettext_lazy("From"), required=False, validators=[validate_filter_date]
    )
    date_to = forms.DateField(
        label=gettext_lazy("To"), required=False, validators=[validate_filter_date]
    )
    item = forms.ModelChoiceField(
        label=gettext_lazy("Item"),
        queryset=Item.objects.all(),
        to_field_name="code",
        required=False,
    )

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            raise forms.ValidationError(
                _("The start date must not be after the end date."), code="inverted_range"
            )
        return cleaned


LEDGER_FIELDS = (
    "date",
    "producer__name",
    "producer__credit_code",
    "item__code",
    "item__name_zh",
    "item__name_en",
    "item__unit",
    "output",
    "to_reserve",
    "to_prefectures",
    "to_market",
    "factory_stock",
    "held_for_province",
    "raw_material_days",
    "submitted_by__username",
    "submitted_by__first_name",
    "submitted_by__last_name",
    "submitted_at",
    "correction_reason",
)


class ProductionLedger(Exporter):
    """The reports the user sees, filtered by ?date_from, ?date_to (inclusive) and ?item."""

    read_rule = staticmethod(permissions.can_read_production)

    title = gettext_lazy("Production ledger")

    def __init__(self, user, params=None, *, today: dt.date | None = None):
        super().__init__(user, params)
        self.today = today or local_today()
        self.form = LedgerFilterForm(self.params)
        self._valid = self.form.is_valid()
        self.cleaned = self.form.cleaned_data if self._valid else {}
        reports = reports_visible_to(user)
        if self.cleaned.get("date_from"):
            reports = reports.filter(date__gte=self.cleaned["date_from"])
        if self.cleaned.get("date_to"):
            reports = reports.filter(date__lte=self.cleaned["date_to"])
        if self.cleaned.get("item"):
            reports = reports.filter(item=self.cleaned["item"])
        self.reports = reports if self._valid else reports.none()

    @property
    def valid(self) -> bool:
        return self._valid

    def date_range(self):
        return (self.cleaned.get("date_from"), self.cleaned.get("date_to"))

    def filters_text(self) -> str:
        return describe_filters(self.form, skip=("date_from", "date_to"))

    def count(self) -> int:
        return self.reports.count()

    @property
    def errors(self):
        return self.form.errors

    def error_text(self) -> str:
        return "; ".join(
            " ".join(str(e) for e in errors)
            if field == "__all__"
            else f"{field}: {' '.join(errors)}"
            for field, errors in self.form.errors.items()
        )

    def columns(self) -> list[Column]:
        return [
            Column("date", _("Date"), DATE, 11),
            Column("producer", _("Producer"), width=28),
            Column("credit_code", _("Unified social credit code"), width=21),
            Column("item_code", _("Item code"), width=10),
            Column("item", _("Item"), width=20),
            Column("unit", _("Unit"), width=7),
            Column("output", _("Output"), INT, 12),
            Column("to_reserve", _("Delivered into the province's held reserve"), INT, 14),
            Column("to_prefectures", _("Shipped to prefectures"), INT, 12),
            Column("to_market", _("Sold on the market"), INT, 12),
            Column("shipped", _("Shipped in total"), INT, 12),
            Column("factory_stock", _("Stock at the factory"), INT, 12),
            Column("held_for_province", _("Of which held for the province"), INT, 12),
            Column("raw_material_days", _("Raw materials on hand (days)"), INT, 10),
            Column("submitted_by", _("Submitted by"), width=12),
            Column("submitted_at", _("Submitted at"), DATETIME, 17),
            Column("correction_reason", _("Reason for correction"), width=30),
        ]

    def rows(self):
        units = {value: str(label) for value, label in Unit.choices}
        values = (
            self.reports.order_by(
                "date", "producer__prefecture__code", "producer__name", "item__sort_order", "pk"
            )
            .values(*LEDGER_FIELDS)
            .iterator(chunk_size=CHUNK)
        )
        for r in values:
            yield {
                "date": r["date"],
                "producer": r["producer__name"],
                "credit_code": r["producer__credit_code"],
                "item_code": r["item__code"],
                "item": bilingual(r["item__name_zh"], r["item__name_en"]),
                "unit": units.get(r["item__unit"], r["item__unit"]),
                "output": r["output"],
                "to_reserve": r["to_reserve"],
                "to_prefectures": r["to_prefectures"],
                "to_market": r["to_market"],
                "shipped": r["to_reserve"] + r["to_prefectures"] + r["to_market"],
                "factory_stock": r["factory_stock"],
                "held_for_province": r["held_for_province"],
                "raw_material_days": r["raw_material_days"],
                "submitted_by": person_name(
                    r["submitted_by__username"],
                    r["submitted_by__first_name"],
                    r["submitted_by__last_name"],
                ),
                "submitted_at": r["submitted_at"],
                "correction_reason": r["correction_reason"],
            }

    def filename_parts(self):
        start, end = self.cleaned.get("date_from"), self.cleaned.get("date_to")
        parts = [d.isoformat() for d in (start, end) if d] or [self.today.isoformat()]
        if self.cleaned.get("item"):
            parts.append(self.cleaned["item"].code)
        return parts
