from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

from reports.urls import screen_urls

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/", views.password_change, name="password_change"),
    # The admin's own "change password" page would set the password without revoking the API
    # token: it sends staff to the page above, which does both.
    path(
        "admin/password_change/",
        RedirectView.as_view(pattern_name="password_change", permanent=False),
    ),
    path("i18n/", include("django.conf.urls.i18n")),
    path("inventory/", include("inventory.urls")),
    path("procurement/", include("procurement.urls")),
    path("allocation/", include("allocation.urls")),
    path("reports/", include("reports.urls")),
    path("screen/", include(screen_urls)),
    # The production dashboard is a report now (it reads the snapshots); its old address,
    # bookmarked by leadership, keeps working.
    path(
        "production/dashboard/",
        RedirectView.as_view(
            pattern_name="reports:production_dashboard", permanent=True, query_string=True
        ),
    ),
    path("production/", include("production.urls")),
    path("exports/", include("supplycoord.export_urls")),
    path("notifications/", include("supplycoord.notifications.urls")),
    path("admin/", admin.site.urls),
    path("api/", include("supplycoord.api_urls")),
]

# Under /api/ every error is JSON, also those Django answers before a view runs.
handler400 = "supplycoord.lib.api_input.bad_request"
handler403 = "supplycoord.lib.api_input.permission_denied"
handler404 = "supplycoord.lib.api_input.page_not_found"
handler500 = "supplycoord.lib.api_input.server_error"
