from django.urls import path

from . import views

app_name = "inventory"
urlpatterns = [
    path("daily/", views.daily_entry, name="daily_entry"),
    path("daily/import/", views.daily_import, name="daily_import"),
    path(
        "daily/import/template.xlsx",
        views.daily_import_template,
        name="daily_import_template",
    ),
    path("counties/", views.county_status, name="county_status"),
    path("counties/entry/", views.county_entry, name="county_entry"),
    path("counties/import/", views.county_import, name="county_import"),
    path(
        "counties/import/template.xlsx",
        views.county_import_template,
        name="county_import_template",
    ),
    path("protected-staff/", views.protected_staff, name="protected_staff"),
    path("warehouses/", views.warehouse_list, name="warehouse_list"),
    path("warehouses/<str:code>/", views.warehouse_detail, name="warehouse_detail"),
    path(
        "warehouses/<str:code>/items/<str:item_code>/",
        views.stock_card,
        name="stock_card",
    ),
    path(
        "warehouses/<str:code>/items/<str:item_code>/export/<str:fmt>/",
        views.stock_card_export,
        name="stock_card_export",
    ),
    path(
        "warehouses/<str:code>/new/<str:kind>/",
        views.stock_event_new,
        name="stock_event_new",
    ),
    path("events/<str:document_number>/", views.stock_event_detail, name="stock_event_detail"),
    path(
        "events/<str:document_number>/reverse/",
        views.stock_event_reverse,
        name="stock_event_reverse",
    ),
    path(
        "events/<str:document_number>/voucher/",
        views.stock_event_voucher,
        name="stock_event_voucher",
    ),
]
