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
