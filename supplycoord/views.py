from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render


@login_required
def home(request):
    """Each role lands where its daily work is."""
    user = request.user
    if user.is_prefecture_officer:
        return redirect("inventory:daily_entry")
    if user.sees_whole_province:
        return redirect("reports:overview")
    if user.is_producer_reporter:
        return redirect("production:commissioner")
    # Users an admin has not yet given a role: say so plainly instead of bouncing to a 403.
    return render(request, "home.html")
