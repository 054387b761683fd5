from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters

from .services import user_password_change


@login_required
def home(request):
    """Each role lands where its daily work is."""
    user = request.user
    if user.is_prefecture_officer:
        return redirect("inventory:daily_entry")
    if user.is_prefecture_lead and user.prefecture_id:
        # Three-level dispatch: the lead's work is approving its prefecture's drafts.
        query = urlencode({"status": "draft", "level": user.prefecture.code})
        return redirect(f"{reverse('allocation:batch_list')}?{query}")
    if user.is_county_officer:
        # Where its prefecture reports as the sum of its counties, the county's daily figures;
        # otherwise its county's batches to receive.
        if user.prefecture and user.prefecture.reports_as_sum_of_counties:
            return redirect("inventory:county_entry")
        return redirect("allocation:batch_list")
    if user.sees_whole_province:
        return redirect("reports:overview")
    if user.is_producer_reporter:
        return redirect("production:commissioner")
    if user.is_distribution_reporter:
        return redirect("procurement:distribution_report")
    if user.is_unit_requester:
        return redirect("allocation:request_list")
    # Users an admin has not yet given a role: say so plainly instead of bouncing to a 403.
    return render(request, "home.html")


@sensitive_post_parameters("old_password", "new_password1", "new_password2")
@login_required
def password_change(request):
    """Every role changes its own password here: the old one, then the new one twice, checked
    against AUTH_PASSWORD_VALIDATORS. The API token goes with the old password."""
    form = PasswordChangeForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        user_password_change(
            user=request.user, new_password=form.cleaned_data["new_password1"], actor=request.user
        )
        # Keep this browser signed in; the user's other sessions end with the old password.
        update_session_auth_hash(request, request.user)
        messages.success(
            request,
            _(
                "Your password was changed. Your API token no longer works: "
                "request a new one with the new password."
            ),
        )
        return redirect("password_change")
    return render(request, "registration/password_change.html", {"form": form})
