from django.urls import path

from . import views

app_name = "inventory"
urlpatterns = [
    path("daily/", views.daily_entry, name="daily_entry"),
    path("protected-staff/", views.protected_staff, name="protected_staff"),
]
