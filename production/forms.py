"""Forms of the production pages. They check what a person typed; scope and state are the
services' business, and the errors they raise come back to these same fields."""

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from inventory.models import Warehouse, WarehouseKind
from supplycoord.models import Prefecture

from .models import ProblemCategory, ProblemStatus, ProducerStatus

# The problem list's default: everything not yet resolved.
UNRESOLVED = ""


class ProducerFilterForm(forms.Form):
    """The register's filters. A value that does not fit is ignored, not an error page."""

    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("All")), *ProducerStatus.choices]
    )
    prefecture = forms.ModelChoiceField(
        label=_("Prefecture"),
        required=False,
        queryset=Prefecture.objects.filter(active=True).order_by("code"),
        to_field_name="code",
        empty_label=_("All"),
    )

    def filters(self) -> dict:
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {"status": data.get("status") or None, "prefecture": data.get("prefecture")}


class HeldReserveWarehouseForm(forms.Form):
    """The office names a producer's held-reserve (代储) warehouse on the producer's page: the
    active producer-held warehouses not already another producer's, or none."""

    warehouse = forms.ModelChoiceField(
        label=_("Held-reserve warehouse"),
        required=False,
        queryset=Warehouse.objects.none(),
        empty_label=_("None (reports book no held reserve)"),
    )
    reason = forms.CharField(label=_("Reason (optional)"), required=False, max_length=70)

    def __init__(self, *args, producer, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["warehouse"].queryset = (
            Warehouse.objects.filter(kind=WarehouseKind.PRODUCER_HELD, active=True)
            .filter(models.Q(producer__isnull=True) | models.Q(producer=producer))
            .order_by("code")
        )
        self.fields["warehouse"].initial = producer.held_reserve_warehouse_id


class ProblemFilterForm(forms.Form):
    category = forms.ChoiceField(
        label=_("Category"), required=False, choices=[("", _("All")), *ProblemCategory.choices]
    )
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[(UNRESOLVED, _("Not resolved")), *ProblemStatus.choices, ("all", _("All"))],
    )

    def filters(self) -> dict:
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {"category": data.get("category") or None, "status": data.get("status") or ""}


class ProblemForm(forms.Form):
    producer = forms.ModelChoiceField(label=_("Producer"), queryset=None)
    category = forms.ChoiceField(label=_("Category"), choices=[("", "—"), *ProblemCategory.choices])
    description = forms.CharField(
        label=_("Description"), max_length=2000, widget=forms.Textarea(attrs={"rows": 5})
    )

    def __init__(self, *args, producers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["producer"].queryset = producers


class ProblemResolveForm(forms.Form):
    resolution = forms.CharField(
        label=_("How it was resolved"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )


def add_service_errors(form: forms.Form, error: ValidationError) -> None:
    """Put a service's ValidationError on the form's fields (unknown fields above the form)."""
    if hasattr(error, "error_dict"):
        for field, messages in error.message_dict.items():
            form.add_error(field if field in form.fields else None, messages)
    else:
        form.add_error(None, error.messages)
