"""Forms of the reserve ledger pages: an event's header, its lines, a reversal, stock card filters.

They only check what a person typed (numbers, choices, dates). Stock, scope and the back-dating
window are the services' business; the errors they raise come back to these same fields.
"""

import datetime as dt
import uuid

from django import forms
from django.utils.translation import gettext_lazy as _

from supplycoord.lib.dates import validate_filter_date

from .models import AdjustmentReason, IssueKind, ReceiptSource, StockEventKind

# Blank line rows on a new event form; "more rows" adds this many again, up to the maximum.
LINE_ROWS = 10
MAX_LINE_ROWS = 100


class EventHeaderForm(forms.Form):
    """What every event has: the day it happened, a note, and the client UUID of this form."""

    occurred_on = forms.DateField(
        label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    note = forms.CharField(
        label=_("Note"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
    # Generated when the form is first shown and posted back unchanged: a second submission of
    # the same form (double click, retry after a timeout) finds the event the first one made.
    client_uuid = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args, today: dt.date, earliest: dt.date, **kwargs):
        kwargs.setdefault("initial", {})
        kwargs["initial"].setdefault("occurred_on", today)
        kwargs["initial"].setdefault("client_uuid", uuid.uuid4())
        super().__init__(*args, **kwargs)
        self.today, self.earliest = today, earliest
        widget = self.fields["occurred_on"].widget
        widget.attrs.update({"min": earliest.isoformat(), "max": today.isoformat()})

    def clean_occurred_on(self):
        day = self.cleaned_data["occurred_on"]
        if day > self.today:
            raise forms.ValidationError(_("The date cannot be in the future."))
        if day < self.earliest:
            raise forms.ValidationError(
                _("Events can be back-dated to %(earliest)s at the earliest."),
                params={"earliest": self.earliest.isoformat()},
            )
        return day

    def service_kwargs(self) -> dict:
        """Header fields as the service takes them (occurred_at is added by the view)."""
        return {"note": self.cleaned_data["note"], "client_uuid": self.cleaned_data["client_uuid"]}


class ReceiptHeaderForm(EventHeaderForm):
    # No default: a wrong source would misstate where the province's stock came from.
    source = forms.ChoiceField(label=_("Source"), choices=[("", "—"), *ReceiptSource.choices])
    source_document = forms.CharField(
        label=_("Source document"),
        max_length=128,
        required=False,
        help_text=_("Supplier invoice, allocation notice, donation record…"),
    )
    counterparty = forms.CharField(label=_("Supplier or donor"), max_length=128, required=False)

    field_order = ["source", "source_document", "counterparty", "occurred_on", "note"]

    def service_kwargs(self):
        data = self.cleaned_data
        return {
            **super().service_kwargs(),
            "source": data["source"],
            "source_document": data["source_document"],
            "counterparty": data["counterparty"],
        }


class IssueHeaderForm(EventHeaderForm):
    issue_kind = forms.ChoiceField(label=_("Issue kind"), choices=IssueKind.choices)
    counterparty = forms.CharField(label=_("Recipient"), max_length=128)
    source_document = forms.CharField(
        label=_("Dispatch document"),
        max_length=128,
        required=False,
        help_text=_("Dispatch batch, allocation notice or transfer order."),
    )

    field_order = ["issue_kind", "counterparty", "source_document", "occurred_on", "note"]

    def service_kwargs(self):
        data = self.cleaned_data
        return {
            **super().service_kwargs(),
            "issue_kind": data["issue_kind"],
            "counterparty": data["counterparty"],
            "source_document": data["source_document"],
        }


class AdjustmentHeaderForm(EventHeaderForm):
    reason = forms.ChoiceField(label=_("Reason"), choices=[("", "—"), *AdjustmentReason.choices])

    field_order = ["reason", "occurred_on", "note"]

    def service_kwargs(self):
        return {**super().service_kwargs(), "reason": self.cleaned_data["reason"]}


class CountHeaderForm(EventHeaderForm):
    field_order = ["occurred_on", "note"]


HEADER_FORMS = {
    StockEventKind.RECEIPT: ReceiptHeaderForm,
    StockEventKind.ISSUE: IssueHeaderForm,
    StockEventKind.ADJUSTMENT: AdjustmentHeaderForm,
    StockEventKind.COUNT: CountHeaderForm,
}


class LineForm(forms.Form):
    """One line: an item and a figure. A row left blank is skipped, not an error.

    The figure stays text here: the ledger service reads numbers (full-width digits and
    thousands separators included) and checks their sign, and its errors come back to this
    row, so the page and the API accept exactly the same input.
    """

    item = forms.ChoiceField(label=_("Item"), required=False)
    quantity = forms.CharField(label=_("Quantity"), required=False, max_length=24)

    def __init__(self, *args, item_choices, kind, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind = kind
        # The choices are built once per page and shared by every row: no query per row.
        self.fields["item"].choices = [("", "—"), *item_choices]
        quantity = self.fields["quantity"]
        quantity.label = QUANTITY_LABELS[kind]
        quantity.widget.attrs.update({"inputmode": "numeric", "autocomplete": "off"})

    @property
    def is_blank(self) -> bool:
        data = getattr(self, "cleaned_data", None) or {}
        return not data.get("item") and not data.get("quantity")

    def clean(self):
        data = super().clean()
        item, quantity = data.get("item"), data.get("quantity")
        if item and not quantity and "quantity" not in self.errors:
            self.add_error("quantity", _("Enter the figure for this item."))
        if quantity and not item and "item" not in self.errors:
            self.add_error("item", _("Choose the item of this figure."))
        return data


QUANTITY_LABELS = {
    StockEventKind.RECEIPT: _("Quantity received"),
    StockEventKind.ISSUE: _("Quantity issued"),
    StockEventKind.ADJUSTMENT: _("Change (+ in, − out)"),
    StockEventKind.COUNT: _("Counted"),
}


class BaseLineFormSet(forms.BaseFormSet):
    def filled_forms(self):
        """The rows holding a line, in order: the service's line i is the i-th of these."""
        return [form for form in self.forms if not form.is_blank]


LineFormSet = forms.formset_factory(
    LineForm,
    formset=BaseLineFormSet,
    extra=LINE_ROWS,
    max_num=MAX_LINE_ROWS,
    validate_max=True,
    absolute_max=MAX_LINE_ROWS,
)


class ReversalForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for the reversal"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Say what was wrong: it stays on the ledger beside both documents."),
    )

    def clean_reason(self):
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError(_("A reversal needs a reason."))
        return reason


class StockCardFilterForm(forms.Form):
    """?from=&to=&kind=: a date range and the kinds of event to list (all when none)."""

    kind = forms.MultipleChoiceField(
        label=_("Kinds"),
        required=False,
        choices=StockEventKind.choices,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # "from" is a Python keyword, so the date fields are added under their query names here.
        date_widget = {"type": "date"}
        self.fields = {
            "from": forms.DateField(
                label=_("From"),
                required=False,
                validators=[validate_filter_date],
                widget=forms.DateInput(attrs=date_widget, format="%Y-%m-%d"),
            ),
            "to": forms.DateField(
                label=_("To"),
                required=False,
                validators=[validate_filter_date],
                widget=forms.DateInput(attrs=date_widget, format="%Y-%m-%d"),
            ),
            "kind": self.fields["kind"],
        }

    def clean(self):
        data = super().clean()
        start, end = data.get("from"), data.get("to")
        if start and end and start > end:
            self.add_error("to", _("The end date is before the start date."))
        return data

    def filters(self) -> dict:
        """Selector keyword arguments; an invalid filter is left out rather than guessed."""
        if not self.is_valid():
            data = {k: v for k, v in self.cleaned_data.items() if k not in self.errors}
        else:
            data = self.cleaned_data
        return {
            "date_from": data.get("from"),
            "date_to": data.get("to"),
            "kinds": data.get("kind") or None,
        }


class ReportsAsSumForm(forms.Form):
    """The office's switch of a prefecture to reporting as the sum of its counties (or back)."""

    value = forms.TypedChoiceField(
        label=_("Reports as the sum of its counties"),
        choices=[("on", _("yes")), ("off", _("no"))],
        coerce=lambda value: value == "on",
    )
