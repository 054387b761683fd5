from django.urls import path

from . import distribution_views, views

app_name = "procurement"
urlpatterns = [
    # Distribution enterprises (医药流通企业): distribution_views.py
    path("distribution/", distribution_views.enterprise_list, name="distribution_list"),
    path("distribution/new/", distribution_views.enterprise_form, name="distribution_new"),
    path(
        "distribution/rollup/", distribution_views.distribution_rollup, name="distribution_rollup"
    ),
    path("distribution/report/", distribution_views.report_entry, name="distribution_report"),
    path("distribution/import/", distribution_views.report_import, name="distribution_import"),
    path(
        "distribution/import/template.xlsx",
        distribution_views.report_import_template,
        name="distribution_import_template",
    ),
    path(
        "distribution/<int:pk>/", distribution_views.enterprise_detail, name="distribution_detail"
    ),
    path(
        "distribution/<int:pk>/edit/", distribution_views.enterprise_form, name="distribution_edit"
    ),
    path("suppliers/", views.supplier_list, name="supplier_list"),
    path("suppliers/new/", views.supplier_form, name="supplier_new"),
    path("suppliers/<int:pk>/", views.supplier_detail, name="supplier_detail"),
    path("suppliers/<int:pk>/edit/", views.supplier_form, name="supplier_edit"),
    path(
        "suppliers/<int:pk>/items/<int:capability_pk>/remove/",
        views.capability_remove,
        name="capability_remove",
    ),
    path("units/", views.unit_list, name="unit_list"),
    path("units/new/", views.unit_form, name="unit_new"),
    path("units/<int:pk>/", views.unit_detail, name="unit_detail"),
    path("units/<int:pk>/edit/", views.unit_form, name="unit_edit"),
    path("orders/", views.order_list, name="order_list"),
    path("orders/new/", views.order_form, name="order_new"),
    path("orders/import/", views.orders_import_page, name="orders_import"),
    path("orders/export.<str:fmt>", views.orders_export, name="orders_export"),
    path(
        "orders/import/template.xlsx",
        views.orders_import_template,
        name="orders_import_template",
    ),
    path("orders/<str:number>/", views.order_detail, name="order_detail"),
    path("orders/<str:number>/edit/", views.order_form, name="order_edit"),
    path("orders/<str:number>/arrival/", views.order_arrival, name="order_arrival"),
    path("orders/<str:number>/payment/", views.order_payment, name="order_payment"),
    path("orders/<str:number>/<str:action>/", views.order_action, name="order_action"),
    path("national/requests/", views.national_request_list, name="national_request_list"),
    path("national/requests/new/", views.national_request_form, name="national_request_new"),
    path(
        "national/requests/<str:number>/",
        views.national_request_detail,
        name="national_request_detail",
    ),
    path(
        "national/requests/<str:number>/refuse/",
        views.national_request_refuse,
        name="national_request_refuse",
    ),
    path(
        "national/requests/<str:number>/export.xlsx",
        views.national_request_export,
        name="national_request_export",
    ),
    path("national/allocations/", views.national_allocation_list, name="national_allocation_list"),
    path(
        "national/allocations/new/",
        views.national_allocation_form,
        name="national_allocation_new",
    ),
    path(
        "national/allocations/<int:pk>/",
        views.national_allocation_detail,
        name="national_allocation_detail",
    ),
    path(
        "national/allocations/<int:pk>/arrival/",
        views.national_allocation_arrival,
        name="national_allocation_arrival",
    ),
]
