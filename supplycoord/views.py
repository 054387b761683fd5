from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect


@login_required
def home(request):
    """Officers land on today's entry form; everyone else on the province overview."""
    if request.user.is_prefecture_officer:
        return redirect("inventory:daily_entry")
    return redirect("reports:overview")
