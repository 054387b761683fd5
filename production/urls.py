from django.urls import path

from . import views, views_dashboard, views_import

app_name = "production"
urlpatterns = [
    # Register and producer pages (views.py)
    path("", views.producer_list, name="producer_list"),
    path("producers/<int:pk>/", views.producer_detail, name="producer_detail"),
    path(
        "producers/<int:pk>/held-reserve/",
        views.producer_held_reserve_set,
        name="producer_held_reserve_set",
    ),
    path("commissioner/", views.commissioner, name="commissioner"),
    path("reports/new/", views.report_entry, name="report_entry"),
    path("problems/", views.problem_list, name="problem_list"),
    path("problems/new/", views.problem_new, name="problem_new"),
    path("problems/<int:pk>/", views.problem_detail, name="problem_detail"),
    # Excel import of daily production reports (views_import.py)
    path("reports/import/", views_import.report_import, name="report_import"),
    path(
        "reports/import/template.xlsx",
        views_import.report_import_template,
        name="report_import_template",
    ),
    # Exports (views_dashboard.py); the dashboard itself is a report (reports:production_dashboard)
    path("export/producers.<str:fmt>", views_dashboard.producers_export, name="producers_export"),
    path("export/reports.<str:fmt>", views_dashboard.reports_export, name="reports_export"),
]
