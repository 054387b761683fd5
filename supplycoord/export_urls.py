"""The exports' own pages: the list of background exports, a job, its file."""

from django.urls import path

from . import views_exports

app_name = "exports"

urlpatterns = [
    path("", views_exports.export_list, name="list"),
    path("<str:job_id>/", views_exports.export_job, name="job"),
    path("<str:job_id>/download/", views_exports.export_download, name="download"),
]
