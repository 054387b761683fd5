"""Forms of the dispatch batch pages: list filters, a draft's header and lines, a receipt,
and the small action forms of the detail page.

They only check what a person typed. Stock, donations, roles and states are the services'
business; the errors they raise come back to these same fields.
"""

from django import forms
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _

from inventory.models import Warehouse
from supplycoord.lib.dates import validate_filter_date
from supplycoord.permissions import scope_batch_destinations, scope_issuing_warehouses

from . import services
from .filters import LEVEL_PROVINCE, PROVINCE_LEVEL_LABEL
from .models import BatchPriority, BatchStatus, Channel, Destination, DestinationKind

# Blank line rows on a new batch form.
LINE_ROWS = 5
MAX_LINE_ROWS = 50

DATE_WIDGET = {"type": "date"}


def _date_field(label, **kwargs):
    return forms.DateField(
        label=label,
        required=False,
        widget=forms.DateInput(attrs=DATE_WIDGET, format="%Y-%m-%d"),
        **kwargs,
    )


class _DestinationsByKind(forms.models.ModelChoiceIterator):
    """Destinations as <optgroup>s in DestinationKind's order (prefectures, counties,
    provincial institutions, aid teams, other provinces), by code within a group: a prefecture
    or county destination by its GB/T 2260 code, one without a code after them by name."""

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        kinds = list(DestinationKind)
        destinations = sorted(
            self.queryset.select_related("prefecture", "county"),
            key=lambda d: (kinds.index(d.kind), destination_code(d) or "~", d.name_zh, d.pk),
        )
        for kind in kinds:
            group = [self.choice(d) for d in destinations if d.kind == kind]
            if group:
                yield (kind.label, group)

    def __len__(self):
        return self.queryset.count() + (1 if self.field.empty_label is not None else 0)


def destination_code(destination) -> str:
    """The division code a destination is known by: its county's, else its prefecture's."""
    if destination.kind == DestinationKind.COUNTY and destination.county_id:
        return destination.county.code
    if destination.kind == DestinationKind.PREFECTURE and destination.prefecture_id:
        return destination.prefecture.code
    return ""


class DestinationChoiceField(forms.ModelChoiceField):
    """Every <select> of destinations: grouped by kind, ordered by code (issue 12)."""

    iterator = _DestinationsByKind

    def label_from_instance(self, obj):
        code = destination_code(obj)
        return f"{code} {obj.name}" if code else obj.name


class BatchFilterForm(forms.Form):
    """The batch list's filters as a form to show; the query itself is allocation/filters.py's
    BatchFilter (shared with the API and the ledger exports), which reads the same names."""

    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("All")), *BatchStatus.choices]
    )
    destination_kind = forms.ChoiceField(
        label=_("Destination kind"),
        required=False,
        choices=[("", _("All")), *DestinationKind.choices],
    )
    destination = DestinationChoiceField(
        label=_("Destination"),
        required=False,
        queryset=Destination.objects.all(),
        empty_label=_("All"),
    )
    item = forms.ChoiceField(label=_("Item"), required=False)
    channel = forms.ChoiceField(
        label=_("Channel"), required=False, choices=[("", _("All")), *Channel.choices]
    )

    level = forms.ChoiceField(label=_("Issued by"), required=False)

    def __init__(self, *args, item_choices, issuing_prefectures=(), destinations=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["item"].choices = [("", _("All")), *item_choices]
        if destinations is not None:
            self.fields["destination"].queryset = destinations
        # Three-level dispatch: the province's own batches, or one prefecture's (those that
        # issued a batch the reader sees, `issuing_prefectures`).
        self.fields["level"].choices = [
            ("", _("All")),
            (LEVEL_PROVINCE, PROVINCE_LEVEL_LABEL),
            *((p.code, p.name) for p in issuing_prefectures),
        ]
        # "from" is a Python keyword: the date fields are added under their query names.
        self.fields["from"] = _date_field(_("From"), validators=[validate_filter_date])
        self.fields["to"] = _date_field(_("To"), validators=[validate_filter_date])

    def clean(self):
        data = super().clean()
        start, end = data.get("from"), data.get("to")
        if start and end and start > end:
            self.add_error("to", _("The end date is before the start date."))
        return data


class BatchHeaderForm(forms.Form):
    """A draft's header. The pickers offer what `user` may issue (three-level dispatch): the
    office the province's warehouses and every destination, a prefecture's officer its own
    warehouses and its prefecture's counties and units. Anything else sent is refused on its
    field, and the service checks the same rules again."""

    source_warehouse = forms.ModelChoiceField(
        label=_("Source warehouse"),
        queryset=Warehouse.objects.none(),
        to_field_name="code",
        error_messages={
            "invalid_choice": _("Choose an active warehouse you issue batches from."),
        },
    )
    destination = DestinationChoiceField(
        label=_("Destination"),
        queryset=Destination.objects.none(),
        error_messages={
            "invalid_choice": _(
                "Choose an active destination from the list: a prefecture's own batches go "
                "to its counties and units."
            ),
        },
    )
    priority = forms.ChoiceField(label=_("Priority"), choices=BatchPriority.choices)
    reason = forms.CharField(label=_("Reason"), max_length=500, required=False)
    planned_dispatch_date = _date_field(
        _("Planned dispatch date"), validators=[validate_filter_date]
    )
    expected_arrival = _date_field(_("Expected arrival"), validators=[validate_filter_date])
    carrier = forms.CharField(label=_("Carrier"), max_length=128, required=False)
    vehicle = forms.CharField(label=_("Vehicle"), max_length=64, required=False)
    note = forms.CharField(
        label=_("Note"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
    # The version the person edited; a draft changed since answers with a conflict.
    expected_version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    SERVICE_FIELDS = (
        "source_warehouse",
        "destination",
        "priority",
        "reason",
        "planned_dispatch_date",
        "expected_arrival",
        "carrier",
        "vehicle",
        "note",
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["source_warehouse"].queryset = scope_issuing_warehouses(
            user, Warehouse.objects.filter(active=True)
        ).order_by("code")
        self.fields["destination"].queryset = scope_batch_destinations(
            user, Destination.objects.filter(active=True)
        )

    def service_kwargs(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.SERVICE_FIELDS}


class BatchLineForm(forms.Form):
    """One line: item, quantity, channel and, for donated stock, the donation. A blank row
    is skipped, not an error."""

    item = forms.ChoiceField(label=_("Item"), required=False)
    quantity = forms.IntegerField(
        label=_("Quantity"), required=False, min_value=1, max_value=services.MAX_QUANTITY
    )
    channel = forms.ChoiceField(
        label=_("Channel"), required=False, choices=[("", "—"), *Channel.choices]
    )
    donation = forms.ChoiceField(label=_("Donation"), required=False)

    def __init__(self, *args, item_choices, donation_choices, **kwargs):
        super().__init__(*args, **kwargs)
        # Choices are built once per page and shared by every row: no query per row.
        self.fields["item"].choices = [("", "—"), *item_choices]
        self.fields["donation"].choices = [("", "—"), *donation_choices]
        self.fields["quantity"].widget.attrs.update({"inputmode": "numeric", "autocomplete": "off"})
        # Choosing an item asks for its balance at the chosen source warehouse (htmx).
        self.fields["item"].widget.attrs.update(
            {
                "hx-get": reverse_lazy("allocation:available_stock"),
                "hx-include": "#id_source_warehouse",
                "hx-target": f"#available-{self.prefix}",
                "hx-trigger": "change",
            }
        )

    @property
    def is_blank(self) -> bool:
        data = getattr(self, "cleaned_data", None) or {}
        return not any(data.get(name) for name in ("item", "quantity", "channel", "donation"))

    def clean(self):
        data = super().clean()
        if self.is_blank:
            return data
        if not data.get("item") and "item" not in self.errors:
            self.add_error("item", _("Choose the item of this line."))
        if not data.get("quantity") and "quantity" not in self.errors:
            self.add_error("quantity", _("Enter a quantity above zero."))
        if not data.get("channel") and "channel" not in self.errors:
            self.add_error("channel", _("Choose a channel."))
        return data

    def service_line(self) -> dict:
        data = self.cleaned_data
        return {
            "item": data["item"],
            "quantity": data["quantity"],
            "channel": data["channel"],
            "donation": int(data["donation"]) if data.get("donation") else None,
        }


class BaseBatchLineFormSet(forms.BaseFormSet):
    def filled_forms(self):
        """The rows holding a line, in order: the service's line i is the i-th of these."""
        return [form for form in self.forms if not form.is_blank]


BatchLineFormSet = forms.formset_factory(
    BatchLineForm,
    formset=BaseBatchLineFormSet,
    extra=LINE_ROWS,
    max_num=MAX_LINE_ROWS,
    validate_max=True,
    absolute_max=MAX_LINE_ROWS,
)


class BatchActionForm(forms.Form):
    """Approve, dispatch, cancel or close: the version the person saw, and a note."""

    expected_version = forms.IntegerField(widget=forms.HiddenInput)
    note = forms.CharField(label=_("Note"), required=False, max_length=2000)


class BatchReceiptForm(forms.Form):
    """Quantities received now, one field per line (`line-<id>`), a note, and whether the
    receipt is complete."""

    expected_version = forms.IntegerField(widget=forms.HiddenInput)
    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required when the quantities differ from those shipped."),
    )
    complete = forms.BooleanField(
        label=_("Receipt complete"),
        required=False,
        help_text=_("Tick when nothing more will arrive; what is missing stays a discrepancy."),
    )

    def __init__(self, *args, lines, **kwargs):
        super().__init__(*args, **kwargs)
        self.lines = lines
        for line in lines:
            self.fields[f"line-{line.pk}"] = forms.IntegerField(
                label=line.item.name,
                required=False,
                min_value=0,
                max_value=services.MAX_QUANTITY,
                widget=forms.NumberInput(attrs={"inputmode": "numeric", "min": 0}),
            )

    def line_rows(self):
        return [(line, self[f"line-{line.pk}"]) for line in self.lines]

    def received(self) -> dict[int, int]:
        return {
            line.pk: self.cleaned_data[f"line-{line.pk}"]
            for line in self.lines
            if self.cleaned_data.get(f"line-{line.pk}")
        }
