"""Forms of the request pages (需求申请, issue 15): the list's filters, a new request (header,
lines, an attachment) and the small forms of a request's page (triage, into batches, withdraw,
attach). They only collect what a person typed; allocation/requests.py checks it, and its
errors (RequestInvalid: by line and field) come back to these same fields."""

import uuid

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from inventory.models import RESERVE_KINDS, Warehouse, WarehouseKind
from supplycoord.lib.dates import validate_filter_date
from supplycoord.lib.text import ascii_whole_number
from supplycoord.permissions import (
    scope_claimants,
    scope_issuing_warehouses,
    sees_whole_province,
)

from .forms import DestinationChoiceField
from .models import Channel, Destination, LineDecision, RequestUrgency
from .requests import JUSTIFICATION_MAX, REASON_MAX

# Blank line rows on a new request; "add a line" adds one more (no script needed).
LINE_ROWS = 3
MAX_LINE_ROWS = 50

DATE = {"type": "date"}
NUMBER = {"inputmode": "numeric", "autocomplete": "off"}

STATE_CHOICES = [
    ("", _("All")),
    ("open", _("Open")),
    ("awaiting_triage", _("Awaiting triage")),
    ("closed", _("Closed")),
]


def claimants_for_filter(user):
    """Whom the list may be filtered by: the whole province sees every claimant; anyone else
    the claimants it requests for."""
    claimants = Destination.objects.all()
    return claimants if sees_whole_province(user) else scope_claimants(user, claimants)


def _date(label, **kwargs):
    return forms.DateField(
        label=label,
        widget=forms.DateInput(attrs=DATE, format="%Y-%m-%d"),
        **kwargs,
    )


class RequestFilterForm(forms.Form):
    state = forms.ChoiceField(
        label=pgettext_lazy("request", "State"), required=False, choices=STATE_CHOICES
    )
    urgency = forms.ChoiceField(
        label=_("Urgency"), required=False, choices=[("", _("All")), *RequestUrgency.choices]
    )
    claimant = DestinationChoiceField(
        label=_("Claimant"),
        required=False,
        queryset=Destination.objects.none(),
        empty_label=_("All"),
    )
    item = forms.ChoiceField(label=_("Item"), required=False)
    submitted_from = _date(_("Submitted from"), required=False, validators=[validate_filter_date])
    submitted_to = _date(_("Submitted to"), required=False, validators=[validate_filter_date])

    def __init__(self, *args, user, item_choices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["claimant"].queryset = claimants_for_filter(user)
        self.fields["item"].choices = [("", _("All")), *item_choices]

    def clean(self):
        data = super().clean()
        start, end = data.get("submitted_from"), data.get("submitted_to")
        if start and end and start > end:
            self.add_error("submitted_to", _("The end date is before the start date."))
        return data


class RequestHeaderForm(forms.Form):
    claimant = DestinationChoiceField(label=_("Claimant"), queryset=Destination.objects.none())
    urgency = forms.ChoiceField(
        label=_("Urgency"), choices=RequestUrgency.choices, initial=RequestUrgency.ROUTINE
    )
    needed_by = _date(_("Needed by"), validators=[validate_filter_date])
    justification = forms.CharField(
        label=_("Justification"),
        max_length=JUSTIFICATION_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Why, for whom, and how the quantities were reckoned (beds, staff, days)."),
    )
    attachment = forms.FileField(
        label=_("Attachment (optional)"),
        required=False,
        help_text=_("A signed list or a letter: PDF, OFD, JPEG, PNG, Word or Excel."),
    )
    client_uuid = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args, user, **kwargs):
        initial = kwargs.setdefault("initial", {})
        initial.setdefault("client_uuid", uuid.uuid4())
        super().__init__(*args, **kwargs)
        claimants = scope_claimants(user, Destination.objects.filter(active=True))
        self.fields["claimant"].queryset = claimants
        # A unit requester with one unit (or an officer with one claimant): no choice to make.
        only = list(claimants[:2])
        if len(only) == 1:
            self.fields["claimant"].initial = only[0].pk
            self.fields["claimant"].empty_label = None


class RequestLineForm(forms.Form):
    """One line: an item and the quantity asked. A blank row is skipped."""

    item = forms.ChoiceField(label=_("Item"), required=False)
    quantity = forms.CharField(
        label=_("Quantity"), required=False, max_length=20, widget=forms.TextInput(attrs=NUMBER)
    )

    def __init__(self, *args, item_choices, **kwargs):
        super().__init__(*args, **kwargs)
        # Built once per page and shared by every row: no query per row.
        self.fields["item"].choices = [("", "—"), *item_choices]

    @property
    def is_blank(self) -> bool:
        data = getattr(self, "cleaned_data", None) or {}
        return not (data.get("item") or (data.get("quantity") or "").strip())

    def service_line(self) -> dict:
        """The line as the service takes it. A quantity that is not plain digits (thousands
        separators allowed) goes as typed: the service says what is wrong with it."""
        raw = (self.cleaned_data.get("quantity") or "").strip()
        number = ascii_whole_number(raw.replace(",", "").replace("，", ""))
        return {"item": self.cleaned_data.get("item") or None, "quantity": number or raw or None}


class BaseRequestLineFormSet(forms.BaseFormSet):
    def filled_forms(self):
        """The rows holding a line, in order: the service's line i is the i-th of these."""
        return [form for form in self.forms if not form.is_blank]


RequestLineFormSet = forms.formset_factory(
    RequestLineForm,
    formset=BaseRequestLineFormSet,
    extra=LINE_ROWS,
    max_num=MAX_LINE_ROWS,
    validate_max=True,
    absolute_max=MAX_LINE_ROWS,
)


# --- A request's page -------------------------------------------------------------------------

TRIAGE_CHOICES = [
    ("", _("Leave as it is")),
    (LineDecision.ACCEPTED, _("Accept")),
    (LineDecision.ACCEPTED_PART, _("Accept in part")),
    (LineDecision.REFUSED, _("Refuse")),
]


class VersionForm(forms.Form):
    expected_version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)


class TriageForm(VersionForm):
    """Per line of the request (fields line-<id>-decision, -accepted_quantity, -reason): a line
    left as it is is not sent to the service."""

    def __init__(self, *args, lines, **kwargs):
        super().__init__(*args, **kwargs)
        self.lines = lines
        for line in lines:
            self.fields[f"line-{line.pk}-decision"] = forms.ChoiceField(
                label=_("Decision"), required=False, choices=TRIAGE_CHOICES
            )
            self.fields[f"line-{line.pk}-accepted_quantity"] = forms.CharField(
                label=_("Quantity accepted"),
                required=False,
                max_length=20,
                widget=forms.TextInput(attrs=NUMBER),
            )
            self.fields[f"line-{line.pk}-reason"] = forms.CharField(
                label=_("Reason"), required=False, max_length=REASON_MAX
            )

    def decisions(self) -> tuple[list[dict], list[int]]:
        """(the decisions for the service, the line id of each in the same order)."""
        decisions, line_ids = [], []
        for line in self.lines:
            decision = self.cleaned_data.get(f"line-{line.pk}-decision")
            if not decision:
                continue
            raw = (self.cleaned_data.get(f"line-{line.pk}-accepted_quantity") or "").strip()
            quantity = ascii_whole_number(raw.replace(",", ""))
            decisions.append(
                {
                    "line": line.pk,
                    "decision": decision,
                    "accepted_quantity": quantity if quantity is not None else (raw or None),
                    "reason": self.cleaned_data.get(f"line-{line.pk}-reason") or "",
                }
            )
            line_ids.append(line.pk)
        return decisions, line_ids

    def rows(self):
        """(line, decision field, quantity field, reason field) for the template."""
        return [
            (
                line,
                self[f"line-{line.pk}-decision"],
                self[f"line-{line.pk}-accepted_quantity"],
                self[f"line-{line.pk}-reason"],
            )
            for line in self.lines
        ]


class WarehouseChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.code} {obj.name}"


class IntoBatchesForm(VersionForm):
    """Accepted lines into draft batches from a warehouse `user` issues from: the office's
    reserve warehouses, or a prefecture officer's own (three-level dispatch)."""

    source_warehouse = WarehouseChoiceField(
        label=_("Ship from"),
        queryset=Warehouse.objects.none(),
        error_messages={"invalid_choice": _("Choose a warehouse you issue batches from.")},
    )
    channel = forms.ChoiceField(
        label=_("Channel"),
        choices=[c for c in Channel.choices if c[0] != Channel.DONATION],
        initial=Channel.RESERVE,
    )
    lines = forms.TypedMultipleChoiceField(
        label=_("Accepted lines"), coerce=int, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, line_choices, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["source_warehouse"].queryset = scope_issuing_warehouses(
            user,
            Warehouse.objects.filter(
                Q(kind__in=RESERVE_KINDS) | Q(kind=WarehouseKind.PREFECTURE), active=True
            ),
        ).order_by("code")
        self.fields["lines"].choices = line_choices
        self.fields["lines"].initial = [pk for pk, _label in line_choices]


class WithdrawForm(VersionForm):
    reason = forms.CharField(label=_("Reason"), max_length=REASON_MAX)


class AttachForm(forms.Form):
    file = forms.FileField(label=_("File"))
    description = forms.CharField(label=_("Description"), required=False, max_length=200)
