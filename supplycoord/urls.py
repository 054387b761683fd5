from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("inventory/", include("inventory.urls")),
    path("allocation/", include("allocation.urls")),
    path("reports/", include("reports.urls")),
    path("production/", include("production.urls")),
    path("admin/", admin.site.urls),
    path("api/", include("supplycoord.api_urls")),
]
