"""The notification pages: the bell (an htmx partial), the list, the preferences, the office's
webhook endpoints. They validate and call the services and selectors, nothing more."""

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from ..permissions import can_manage_webhooks, is_signed_in, require
from . import selectors, services
from .forms import PreferencesForm, WebhookEndpointForm
from .models import CHANNELS, Channel, Notification, WebhookEndpoint


def _list_url(request) -> str:
    """Back to the list as it was (its page and filter), from the form's `next`."""
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("notifications:list")


# htmx stops polling on this status and swaps nothing.
HTMX_STOP_POLLING = 286


@require_GET
def bell(request):
    """The header's bell with the unread count; base.html loads it with htmx after the page,
    so a page's own queries stay its own. Signed out meanwhile (another tab): the bell stops
    asking, rather than swap the sign-in page into the header."""
    if not is_signed_in(request.user):
        return HttpResponse(status=HTMX_STOP_POLLING)
    return render(
        request, "notifications/_bell.html", {"unread": selectors.unread_count(request.user)}
    )


@require_GET
@require(is_signed_in)
def notification_list(request):
    unread_only = request.GET.get("unread") == "1"
    page, shown = selectors.notifications_page(
        request.user, page=request.GET.get("page") or 1, unread_only=unread_only
    )
    return render(
        request,
        "notifications/list.html",
        {
            "page_obj": page,
            "shown": shown,
            "unread_only": unread_only,
            "unread": selectors.unread_count(request.user),
        },
    )


@require_GET
@require(is_signed_in)
def notification_open(request, pk: int):
    """Follow a notification's link, marking it read."""
    notification = get_object_or_404(Notification, pk=pk, recipient=request.user)
    services.notification_mark_read(user=request.user, notification_id=notification.pk)
    target = notification.url
    if not target or not url_has_allowed_host_and_scheme(target, allowed_hosts=None):
        return redirect("notifications:list")
    return redirect(target)


@require_POST
@require(is_signed_in)
def notification_read(request, pk: int):
    if not services.notification_mark_read(user=request.user, notification_id=pk):
        raise Http404
    return redirect(_list_url(request))


@require_POST
@require(is_signed_in)
def notifications_read_all(request):
    count = services.notifications_mark_all_read(user=request.user)
    if count:
        messages.success(request, _("%(count)s notifications marked read.") % {"count": count})
    return redirect(_list_url(request))


@require(is_signed_in)
def preferences(request):
    user = request.user
    rows = selectors.preference_rows(user)
    hour, _chosen = selectors.digest_hour(user)
    form = PreferencesForm(
        request.POST or None,
        rows=rows,
        initial={
            "digest_hour": hour,
            # Unset: what the user reads the site in now.
            "language": user.language or translation.get_language(),
        },
    )
    if request.method == "POST" and form.is_valid():
        services.preferences_save(
            user=user,
            choices=form.choices(),
            digest_hour=form.cleaned_data["digest_hour"],
            language=form.cleaned_data["language"],
        )
        messages.success(request, _("Your notification preferences were saved."))
        return redirect("notifications:preferences")
    return render(
        request,
        "notifications/preferences.html",
        {
            "form": form,
            "grid": form.grid(),
            "channels": [Channel(channel) for channel in CHANNELS],
            "has_email": bool(user.email),
        },
        status=400 if form.is_bound else 200,
    )


@require(can_manage_webhooks)
def webhooks(request):
    """The office's gateways: every endpoint with its deliveries counted, the latest
    deliveries, and the form of a new endpoint."""
    form = WebhookEndpointForm(request.POST or None, creating=True)
    if request.method == "POST" and form.is_valid():
        endpoint = services.webhook_endpoint_save(user=request.user, **form.cleaned_data)
        messages.success(request, _("Endpoint %(name)s saved.") % {"name": endpoint.name})
        return redirect("notifications:webhooks")
    return render(
        request,
        "notifications/webhooks.html",
        {
            "form": form,
            "endpoints": selectors.endpoints_with_counts(),
            "deliveries": selectors.recent_webhook_deliveries(),
        },
        status=400 if form.is_bound else 200,
    )


@require(can_manage_webhooks)
def webhook_edit(request, pk: int):
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
    initial = {
        "name": endpoint.name,
        "url": endpoint.url,
        "kinds": endpoint.kinds,
        "active": endpoint.active,
    }
    form = WebhookEndpointForm(request.POST or None, initial=initial, creating=False)
    if request.method == "POST" and form.is_valid():
        services.webhook_endpoint_save(user=request.user, endpoint=endpoint, **form.cleaned_data)
        messages.success(request, _("Endpoint %(name)s saved.") % {"name": endpoint.name})
        return redirect("notifications:webhooks")
    return render(
        request,
        "notifications/webhook_form.html",
        {"form": form, "endpoint": endpoint},
        status=400 if form.is_bound else 200,
    )
