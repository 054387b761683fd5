from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied


def require(predicate):
    """View decorator: log in first, then `predicate(user)` must hold, else 403."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not predicate(request.user):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def can_read_reports(user) -> bool:
    return user.sees_whole_province or user.is_prefecture_officer


def sees_whole_province(user) -> bool:
    return user.sees_whole_province


def is_office(user) -> bool:
    return user.is_office


def can_enter_daily_figures(user) -> bool:
    return user.is_office or user.is_prefecture_officer


def can_read_protected_staff(user) -> bool:
    return user.sees_whole_province or user.is_prefecture_officer
