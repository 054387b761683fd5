"""Forms of the procurement pages. They collect what a person typed; the services in
procurement/services.py parse and check it (numbers, money, dates, states, roles) and their
errors come back to these same fields, by line and field name."""

import uuid

from django import forms
from django.utils.translation import gettext_lazy as _

from inventory.models import RESERVE_KINDS, Warehouse
from supplycoord.lib.dates import validate_filter_date

from .models import FundingSource, OrderStatus, ReserveUnit, Supplier, SupplierOrigin
from .services import MAX_LEAD_TIME_DAYS

LINE_ROWS = 5
MAX_LINE_ROWS = 50
DATE = {"type": "date"}
NUMBER = {"inputmode": "numeric", "autocomplete": "off"}
MONEY = {"inputmode": "decimal", "autocomplete": "off"}


def reserve_warehouses():
    return Warehouse.objects.filter(kind__in=RESERVE_KINDS, active=True).order_by("code")


class WarehouseChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.code} {obj.name}"


class WarehousesChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.code} {obj.name}"


class SupplierSearchForm(forms.Form):
    """The directory's search: by name, origin, or "who can supply item X within N days"."""

    q = forms.CharField(label=_("Name or credit code"), required=False, max_length=128)
    origin = forms.ChoiceField(
        label=_("Origin"), required=False, choices=[("", _("All")), *SupplierOrigin.choices]
    )
    item = forms.ChoiceField(label=_("Can supply item"), required=False)
    within_days = forms.IntegerField(
        label=_("Within (days)"),
        required=False,
        min_value=0,
        max_value=MAX_LEAD_TIME_DAYS,
        widget=forms.NumberInput(attrs=NUMBER),
    )

    def __init__(self, *args, item_choices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["item"].choices = [("", _("All")), *item_choices]


class SupplierForm(forms.Form):
    name = forms.CharField(label=_("Enterprise name"), max_length=128)
    credit_code = forms.CharField(
        label=_("Unified social credit code"),
        required=False,
        max_length=18,
        help_text=_("18 characters; may be left blank only for an enterprise abroad."),
    )
    origin = forms.ChoiceField(label=_("Origin"), choices=SupplierOrigin.choices)
    contact = forms.CharField(label=_("Contact person"), required=False, max_length=64)
    phone = forms.CharField(label=_("Phone"), required=False, max_length=32)
    note = forms.CharField(
        label=_("Reliability notes"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    SERVICE_FIELDS = ("name", "credit_code", "origin", "contact", "phone", "note")


class CapabilityForm(forms.Form):
    item = forms.ChoiceField(label=_("Item"))
    daily_capacity = forms.CharField(
        label=_("Capacity per day"), max_length=20, widget=forms.TextInput(attrs=NUMBER)
    )
    lead_time_days = forms.CharField(
        label=_("Lead time (days)"), max_length=5, widget=forms.TextInput(attrs=NUMBER)
    )
    minimum_order = forms.CharField(
        label=_("Minimum order"),
        required=False,
        max_length=20,
        widget=forms.TextInput(attrs=NUMBER),
    )
    last_unit_price = forms.CharField(
        label=_("Last unit price (yuan)"),
        required=False,
        max_length=20,
        widget=forms.TextInput(attrs=MONEY),
    )

    def __init__(self, *args, item_choices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["item"].choices = [("", "—"), *item_choices]


class ReserveUnitForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=128)
    capital_granted = forms.CharField(
        label=_("Working capital granted (yuan)"),
        max_length=24,
        widget=forms.TextInput(attrs=MONEY),
    )
    warehouses = WarehousesChoiceField(
        label=_("Reserve warehouses kept"),
        required=False,
        queryset=Warehouse.objects.none(),
        widget=forms.SelectMultiple(attrs={"size": 6}),
    )
    contact = forms.CharField(label=_("Contact person"), required=False, max_length=64)
    phone = forms.CharField(label=_("Phone"), required=False, max_length=32)
    note = forms.CharField(
        label=_("Note"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["warehouses"].queryset = reserve_warehouses()


class OrderFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("All")), *OrderStatus.choices]
    )
    supplier = forms.ModelChoiceField(
        label=_("Supplier"),
        required=False,
        queryset=Supplier.objects.order_by("name"),
        empty_label=_("All"),
    )
    item = forms.ChoiceField(label=_("Item"), required=False)
    overdue = forms.BooleanField(label=_("Overdue only"), required=False)

    def __init__(self, *args, item_choices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["item"].choices = [("", _("All")), *item_choices]


class OrderHeaderForm(forms.Form):
    buyer_unit = forms.ModelChoiceField(
        label=_("Buyer"),
        required=False,
        queryset=ReserveUnit.objects.filter(active=True).order_by("name"),
        empty_label=_("The office itself"),
    )
    supplier = forms.ModelChoiceField(
        label=_("Supplier"), queryset=Supplier.objects.filter(active=True).order_by("name")
    )
    funding_source = forms.ChoiceField(label=_("Funding source"), choices=FundingSource.choices)
    ordered_on = forms.DateField(
        label=_("Ordered on"),
        validators=[validate_filter_date],
        widget=forms.DateInput(attrs=DATE, format="%Y-%m-%d"),
    )
    note = forms.CharField(
        label=_("Note"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
    expected_version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    SERVICE_FIELDS = ("buyer_unit", "supplier", "funding_source", "ordered_on", "note")

    def service_kwargs(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.SERVICE_FIELDS}


class OrderLineForm(forms.Form):
    """One line: item, quantity, unit price and expected arrival. A blank row is skipped."""

    item = forms.ChoiceField(label=_("Item"), required=False)
    quantity = forms.CharField(
        label=_("Quantity"), required=False, max_length=20, widget=forms.TextInput(attrs=NUMBER)
    )
    unit_price = forms.CharField(
        label=_("Unit price (yuan)"),
        required=False,
        max_length=24,
        widget=forms.TextInput(attrs=MONEY),
    )
    expected_arrival = forms.CharField(
        label=_("Expected arrival"),
        required=False,
        max_length=10,
        widget=forms.DateInput(attrs=DATE),
    )

    FIELDS = ("item", "quantity", "unit_price", "expected_arrival")

    def __init__(self, *args, item_choices, **kwargs):
        super().__init__(*args, **kwargs)
        # Choices are built once per page and shared by every row: no query per row.
        self.fields["item"].choices = [("", "—"), *item_choices]

    @property
    def is_blank(self) -> bool:
        data = getattr(self, "cleaned_data", None) or {}
        return not any((data.get(name) or "").strip() for name in self.FIELDS)

    def service_line(self) -> dict:
        return {name: (self.cleaned_data.get(name) or "").strip() for name in self.FIELDS}


class BaseOrderLineFormSet(forms.BaseFormSet):
    def filled_forms(self):
        """The rows holding a line, in order: the service's line i is the i-th of these."""
        return [form for form in self.forms if not form.is_blank]


OrderLineFormSet = forms.formset_factory(
    OrderLineForm,
    formset=BaseOrderLineFormSet,
    extra=LINE_ROWS,
    max_num=MAX_LINE_ROWS,
    validate_max=True,
    absolute_max=MAX_LINE_ROWS,
)


class OrderActionForm(forms.Form):
    """Place, cancel or close: the version the person saw, and a note."""

    expected_version = forms.IntegerField(widget=forms.HiddenInput)
    note = forms.CharField(label=_("Note"), required=False, max_length=2000)


class PaymentForm(forms.Form):
    amount = forms.CharField(
        label=_("Amount paid (yuan)"), max_length=24, widget=forms.TextInput(attrs=MONEY)
    )
    paid_on = forms.CharField(
        label=_("Paid on"), required=False, max_length=10, widget=forms.DateInput(attrs=DATE)
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=2000)
    client_uuid = forms.UUIDField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {}).setdefault("client_uuid", uuid.uuid4())
        super().__init__(*args, **kwargs)


class ArrivalForm(forms.Form):
    """Quantities arrived now, one field per order line (`line-<id>`), the reserve warehouse,
    when, a note. The client UUID makes a resubmitted form (a double click, a reload) a no-op."""

    warehouse = WarehouseChoiceField(
        label=_("Received into"), queryset=Warehouse.objects.none(), to_field_name="code"
    )
    arrived_at = forms.CharField(
        label=_("Arrived at"),
        required=False,
        max_length=32,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text=_("Leave blank for now; at most 7 days back."),
    )
    note = forms.CharField(
        label=_("Note"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
    expected_version = forms.IntegerField(widget=forms.HiddenInput)
    client_uuid = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args, lines, warehouses, **kwargs):
        kwargs.setdefault("initial", {})
        kwargs["initial"].setdefault("client_uuid", uuid.uuid4())
        super().__init__(*args, **kwargs)
        self.lines = lines
        self.fields["warehouse"].queryset = warehouses
        for line in lines:
            self.fields[f"line-{line.pk}"] = forms.CharField(
                label=line.item.name,
                required=False,
                max_length=20,
                widget=forms.TextInput(attrs=NUMBER),
            )

    def header_fields(self):
        return [self["warehouse"], self["arrived_at"], self["note"]]

    def line_rows(self):
        return [(line, self[f"line-{line.pk}"]) for line in self.lines]

    def service_lines(self) -> list[dict]:
        """Every line of the order in order (blank counts as 0): error i is line i."""
        return [
            {"line": line.pk, "quantity": (self.cleaned_data.get(f"line-{line.pk}") or "0").strip()}
            for line in self.lines
        ]


# --- National allocation (上面调) ---------------------------------------------------------------


class NationalRequestForm(forms.Form):
    """申请国家调拨: what the office asks for, with the net requirement it rests on."""

    # Not required here: the service names every missing or wrong field at once.
    item = forms.ChoiceField(label=_("Item"), required=False)
    quantity = forms.CharField(
        label=_("Quantity requested"),
        required=False,
        max_length=20,
        widget=forms.TextInput(attrs=NUMBER),
    )
    net_requirement = forms.CharField(
        label=_("Net requirement"),
        required=False,
        max_length=20,
        widget=forms.TextInput(attrs=NUMBER),
        help_text=_(
            "The computed net requirement the request rests on (demand − stock − inbound)."
        ),
    )
    justification = forms.CharField(
        label=_("Justification"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 5}),
    )
    sent_on = forms.CharField(
        label=_("Sent on"), required=False, max_length=10, widget=forms.DateInput(attrs=DATE)
    )

    SERVICE_FIELDS = ("item", "quantity", "net_requirement", "justification", "sent_on")

    def __init__(self, *args, item_choices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["item"].choices = [("", "—"), *item_choices]

    def service_kwargs(self) -> dict:
        return {name: self.cleaned_data.get(name) or "" for name in self.SERVICE_FIELDS}


class NationalRefuseForm(forms.Form):
    expected_version = forms.IntegerField(widget=forms.HiddenInput)
    reason = forms.CharField(label=_("Reason for refusal"), required=False, max_length=2000)


class NationalAllocationForm(forms.Form):
    """国家调拨通知: what the ministry announced, where it goes, when it is expected."""

    # Not required here: the service names every missing or wrong field at once.
    item = forms.ChoiceField(label=_("Item"), required=False)
    quantity = forms.CharField(
        label=_("Quantity announced"),
        required=False,
        max_length=20,
        widget=forms.TextInput(attrs=NUMBER),
    )
    expected_arrival = forms.CharField(
        label=_("Expected arrival"),
        required=False,
        max_length=10,
        widget=forms.DateInput(attrs=DATE),
    )
    warehouse = WarehouseChoiceField(
        label=_("Destination reserve warehouse"),
        required=False,
        queryset=Warehouse.objects.none(),
        to_field_name="code",
    )
    request = forms.ChoiceField(label=_("Answers request"), required=False)
    reference = forms.CharField(label=_("Notice reference"), required=False, max_length=64)
    announced_on = forms.CharField(
        label=_("Announced on"), required=False, max_length=10, widget=forms.DateInput(attrs=DATE)
    )
    note = forms.CharField(
        label=_("Note"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )

    SERVICE_FIELDS = (
        "item",
        "quantity",
        "expected_arrival",
        "warehouse",
        "request",
        "reference",
        "announced_on",
        "note",
    )

    def __init__(self, *args, item_choices, request_choices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["item"].choices = [("", "—"), *item_choices]
        self.fields["request"].choices = [("", _("None")), *request_choices]
        self.fields["warehouse"].queryset = reserve_warehouses()

    def service_kwargs(self) -> dict:
        return {name: self.cleaned_data.get(name) or "" for name in self.SERVICE_FIELDS}


class NationalArrivalForm(forms.Form):
    """What of an announced allocation arrived now. The client UUID makes a resubmitted form
    a no-op."""

    quantity = forms.CharField(
        label=_("Quantity arriving now"),
        required=False,
        max_length=20,
        widget=forms.TextInput(attrs=NUMBER),
    )
    arrived_at = forms.CharField(
        label=_("Arrived at"),
        required=False,
        max_length=32,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text=_("Leave blank for now; at most 7 days back."),
    )
    note = forms.CharField(
        label=_("Note"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
    client_uuid = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {})
        kwargs["initial"].setdefault("client_uuid", uuid.uuid4())
        super().__init__(*args, **kwargs)
