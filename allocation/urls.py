from django.urls import path

from . import donation_views, views

app_name = "allocation"
urlpatterns = [
    path("batches/", views.batch_list, name="batch_list"),
    path("batches/new/", views.batch_form, name="batch_new"),
    path("batches/available/", views.available_stock, name="available_stock"),
    path("batches/<str:number>/", views.batch_detail, name="batch_detail"),
    path("batches/<str:number>/edit/", views.batch_form, name="batch_edit"),
    path("batches/<str:number>/receive/", views.batch_receive, name="batch_receive"),
    path("batches/<str:number>/note/", views.batch_note, name="batch_note"),
    path(
        "batches/<str:number>/attachments/",
        views.batch_attachment_upload,
        name="batch_attachment_upload",
    ),
    path(
        "batches/<str:number>/attachments/<int:pk>/",
        views.batch_attachment_download,
        name="batch_attachment_download",
    ),
    path("batches/<str:number>/<str:action>/", views.batch_action, name="batch_action"),
    path("export/ledger.csv", views.ledger_export_csv, name="ledger_csv"),
    path("export/ledger.xlsx", views.ledger_export_xlsx, name="ledger_xlsx"),
    path("export/ledger/<str:job_id>/", views.ledger_export_job, name="ledger_job"),
    path(
        "export/ledger/<str:job_id>/download/",
        views.ledger_export_download,
        name="ledger_job_download",
    ),
]

urlpatterns += [
    path("donations/", donation_views.donation_list, name="donation_list"),
    path("donations/ledger.xlsx", donation_views.donation_list_xlsx, name="donation_xlsx"),
    path("donations/new/", donation_views.donation_new, name="donation_new"),
    path("donations/<int:pk>/", donation_views.donation_detail, name="donation_detail"),
    path(
        "donations/<int:pk>/certificate/",
        donation_views.donation_certificate,
        name="donation_certificate",
    ),
    path("public/donations/", donation_views.public_donations, name="public_donations"),
]

# Requests from below (issue 15), the reqapi pages: the Excel import, the emergency demand list,
# the fill rates, the claimant register. Their own imports: the block stays self-contained.
from . import claimant_views, request_report_views  # noqa: E402

urlpatterns += [
    path("requests/import/", request_report_views.import_page, name="request_import"),
    path(
        "requests/import/template.xlsx",
        request_report_views.import_template,
        name="request_import_template",
    ),
    path(
        "requests/emergency-list.<str:fmt>",
        request_report_views.emergency_list_export,
        name="request_emergency_list",
    ),
    path("requests/fill-rates/", request_report_views.fill_rate_page, name="request_fill_rates"),
    path("claimants/", claimant_views.claimant_list, name="claimant_list"),
    path("claimants/new/", claimant_views.claimant_edit, name="claimant_new"),
    path("claimants/<int:pk>/", claimant_views.claimant_edit, name="claimant_edit"),
]

# Requests from below (issue 15), the reqpages pages: the list, a new request, a request's page
# and its forms (triage, into draft batches, withdraw, attachments).
from . import request_views  # noqa: E402

urlpatterns += [
    path("requests/", request_views.request_list, name="request_list"),
    path("requests/new/", request_views.request_new, name="request_new"),
    path("requests/<str:number>/", request_views.request_detail, name="request_detail"),
    path(
        "requests/<str:number>/triage/",
        request_views.request_triage_view,
        name="request_triage",
    ),
    path(
        "requests/<str:number>/into-batches/",
        request_views.request_into_batches_view,
        name="request_into_batches",
    ),
    path(
        "requests/<str:number>/withdraw/",
        request_views.request_withdraw_view,
        name="request_withdraw",
    ),
    path(
        "requests/<str:number>/attachments/",
        request_views.request_attachment_upload,
        name="request_attachment_upload",
    ),
    path(
        "requests/<str:number>/attachments/<int:pk>/",
        request_views.request_attachment_download,
        name="request_attachment_download",
    ),
]
