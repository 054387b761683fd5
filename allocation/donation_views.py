"""Donation pages: the donation ledger (捐赠物资台账) and its Excel export, a donation's trace,
the printable certificate of receipt (捐赠接收凭证), the receipt form, and the public summary
(no login; opt-in donations only; never a private donor's name or anyone's contact)."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from inventory.selectors import ledger_items, office_province, warehouses_visible_to
from inventory.services import LedgerError
from supplycoord.lib.dates import local_date, local_today
from supplycoord.permissions import can_record_donation, require, sees_whole_province
from supplycoord.views_exports import export_response

from . import services
from .donation_forms import DonationForm, DonationLineFormSet
from .exports import DonationLedgerExport, certificate_number, restriction_text
from .models import SHIPPED_STATUSES, DispatchBatchLine, Donation, DonorKind
from .selectors import donation_trace, donation_traces


def _ledger(request):
    """The ledger's filter form and the donations it keeps: the export's, so the page and the
    file list the same donations."""
    export = DonationLedgerExport(request.user, request.GET)
    return export.form, export.donations


@require_GET
@require(sees_whole_province)
def donation_list(request):
    filters, donations = _ledger(request)
    traces = donation_traces(donations)
    query = request.GET.urlencode()
    return render(
        request,
        "allocation/donation_list.html",
        {
            "filters": filters,
            "traces": traces,
            "export_query": f"?{query}" if query else "",
            "can_create": can_record_donation(request.user),
        },
    )


@require_GET
@require(sees_whole_province)
def donation_list_xlsx(request):
    """捐赠物资台账.xlsx: one row per donation the ledger's filters keep (allocation/exports.py)."""
    return export_response(
        DonationLedgerExport(request.user, request.GET), "xlsx", user=request.user
    )


def _donation(pk):
    return get_object_or_404(
        Donation.objects.select_related(
            "warehouse",
            "warehouse__prefecture",
            "restricted_prefecture",
            "restricted_destination",
            "created_by",
        ),
        pk=pk,
    )


@require_GET
@require(sees_whole_province)
def donation_detail(request, pk):
    donation = _donation(pk)
    return render(
        request,
        "allocation/donation_detail.html",
        {
            "donation": donation,
            "trace": donation_trace(donation),
            "restriction": restriction_text(donation),
            "certificate_number": certificate_number(donation),
        },
    )


@require_GET
@require(sees_whole_province)
def donation_certificate(request, pk):
    """捐赠接收凭证: the printable A4 certificate of receipt, with a signature and seal block."""
    donation = _donation(pk)
    lines = list(donation.lines.select_related("item").order_by("item__sort_order", "item__code"))
    return render(
        request,
        "allocation/donation_certificate.html",
        {
            "donation": donation,
            "lines": lines,
            "total": sum(line.quantity for line in lines),
            "certificate_number": certificate_number(donation),
            "province": office_province(donation.warehouse),
        },
    )


@require(can_record_donation)
def donation_new(request):
    warehouses = warehouses_visible_to(request.user).order_by("code")
    item_choices = [
        (item.code, f"{item.code} {item.name} ({item.get_unit_display()})")
        for item in ledger_items()
    ]
    form = DonationForm(
        request.POST or None,
        warehouses=warehouses,
        initial={"received_on": local_today()},
    )
    lines = DonationLineFormSet(
        request.POST or None, prefix="lines", form_kwargs={"item_choices": item_choices}
    )
    page_errors: list[str] = []
    if request.method == "POST" and form.is_valid() and lines.is_valid():
        filled = [f for f in lines.forms if not f.is_blank]
        items = {item.code: item for item in ledger_items()}
        data = form.cleaned_data
        try:
            if not filled:
                raise services.AllocationInvalid([(None, _("Add at least one line."))])
            donation = services.donation_receive(
                user=request.user,
                warehouse=data["warehouse"],
                donor_name=data["donor_name"],
                donor_kind=data["donor_kind"],
                foreign=data["foreign"],
                received_on=data["received_on"],
                declared_value=data["declared_value"],
                restriction=data["restriction"],
                restricted_prefecture=data["restricted_prefecture"],
                restricted_destination=data["restricted_destination"],
                public=data["public"],
                note=data["note"],
                lines=[(items[f.cleaned_data["item"]], f.cleaned_data["quantity"]) for f in filled],
            )
        except services.AllocationInvalid as exc:
            for index, message in exc.errors:
                if index is not None and 0 <= index < len(filled):
                    filled[index].add_error(None, message)
                elif message not in page_errors:
                    page_errors.append(message)
        except LedgerError as exc:
            page_errors.append(exc.message)
        except PermissionDenied:
            raise
        else:
            messages.success(request, _("Donation recorded and received into the warehouse."))
            return redirect("allocation:donation_detail", pk=donation.pk)
    return render(
        request,
        "allocation/donation_form.html",
        {"form": form, "lines": lines, "page_errors": page_errors},
    )


@require_GET
def public_donations(request):
    """The public summary: no login. Only donations whose donor agreed (public=True); a
    private person is "Individual donor"; destinations and dates of dispatched batches only —
    no contacts, phones or officers."""
    donations = list(
        Donation.objects.filter(public=True)
        .prefetch_related("lines__item")
        .order_by("-received_on", "-id")
    )
    went = {}
    for donation_id, name_zh, name_en, dispatched_at, item_id, quantity in (
        DispatchBatchLine.objects.filter(donation__in=donations, batch__status__in=SHIPPED_STATUSES)
        .order_by("batch__dispatched_at", "pk")
        .values_list(
            "donation_id",
            "batch__destination__name_zh",
            "batch__destination__name_en",
            "batch__dispatched_at",
            "item_id",
            "quantity",
        )
    ):
        went.setdefault(donation_id, []).append(
            {
                "name_zh": name_zh,
                "name_en": name_en,
                "date": local_date(dispatched_at) if dispatched_at else None,
                "item_id": item_id,
                "quantity": quantity,
            }
        )
    english = (request.LANGUAGE_CODE or "").startswith("en")
    rows = []
    for donation in donations:
        items = {line.item_id: line.item for line in donation.lines.all()}
        rows.append(
            {
                "pk": donation.pk,
                "donor": donation.donor_name
                if donation.donor_kind == DonorKind.ORGANISATION
                else _("Individual donor"),
                "foreign": donation.foreign,
                "received_on": donation.received_on,
                "lines": list(donation.lines.all()),
                "went": [
                    {
                        "destination": (w["name_en"] if english and w["name_en"] else w["name_zh"]),
                        "date": w["date"],
                        "item": items.get(w["item_id"]),
                        "quantity": w["quantity"],
                    }
                    for w in went.get(donation.pk, [])
                ],
            }
        )
    return render(request, "allocation/public_donations.html", {"rows": rows})
