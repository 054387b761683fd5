"""Pages of the exports: the one response every export view returns, the list of background
exports (the office sees everyone's, each user their own), a job's progress and its file."""

import copy

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from . import exports
from .lib.exports import attachment_header
from .models import ExportStatus

EXPORTS_PAGE_SIZE = 50


def export_response(exporter, fmt: str, *, user=None, job_url=None, csv_lines=None):
    """The file of `exporter` in `fmt`: CSV streamed (by `csv_lines(exporter)`, default the
    base's writer); xlsx from a temporary file, or, above the exporter's row threshold, a
    background job `user` is redirected to (`job_url(job)`, default the job's page). An
    invalid filter is a 400 saying which."""
    if fmt not in exports.FORMATS:
        raise Http404
    if not exporter.valid:
        return HttpResponseBadRequest(
            exporter.error_text(), content_type="text/plain; charset=utf-8"
        )
    if user is not None and exporter.runs_in_background(fmt):
        job = exports.export_job_start(user=user, exporter=exporter, fmt=fmt)
        return redirect(job_url(job) if job_url else reverse("exports:job", args=[job.pk]))
    # Named in the UI language of this request (RFC 5987 filename*), with the English name as
    # the ASCII fallback. Set by hand: FileResponse would keep only what follows a "/".
    disposition = attachment_header(exporter.filename(fmt), fallback=exporter.ascii_filename(fmt))
    if fmt == "xlsx":
        response = FileResponse(
            exports.xlsx_file(exporter), as_attachment=True, content_type=exports.XLSX_CONTENT_TYPE
        )
        response["Content-Disposition"] = disposition
        return response
    response = StreamingHttpResponse(
        exports.csv_chunks((csv_lines or exports.csv_lines)(exporter)),
        content_type=exports.CSV_CONTENT_TYPE,
    )
    response["Content-Disposition"] = disposition
    return response


def own_job_or_404(user, job_id):
    job = exports.export_job_of(user, job_id)
    if job is None:
        raise Http404
    return job


def job_file_response(user, job):
    """The file of `job` for `user`, its asker: a 404 unless it is done, not expired, and
    `user` still has the access it was made with (exports.export_job_unavailable). The
    download is named as the job was named when asked for (`job.filename`), in the language
    of that request, the language its headers and title block were written in."""
    if exports.export_job_unavailable(user, job) is not None:
        raise Http404
    if job.status != ExportStatus.DONE or not job.file:
        raise Http404
    try:
        handle = job.file.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    content_type = (
        exports.XLSX_CONTENT_TYPE if job.file_format == "xlsx" else exports.CSV_CONTENT_TYPE
    )
    response = FileResponse(handle, as_attachment=True, content_type=content_type)
    # Named as shown when it was asked for (in its language), not as stored; the ASCII
    # fallback is its English name, as an export downloaded at once has.
    response["Content-Disposition"] = attachment_header(
        job.filename, fallback=exports.export_job_ascii_filename(job)
    )
    return response


def job_page_context(job, *, download_url) -> dict:
    return {
        "job": job,
        # What it exported, in the reader's language (the stored title is the asker's).
        "title": exports.export_job_title(job),
        "job_id": job.pk,
        "download_url": download_url,
        "keep_hours": settings.SUPPLYCOORD.get("EXPORT_KEEP_HOURS", 24),
    }


def job_page(request, job, *, template, download_url):
    """The page of `job`, its progress and then its download link; when its file is no longer
    to be given (exports.export_job_unavailable) the page offers no link and says to export
    again: past its expiry, as expired; after the asker's access changed, as a 404 saying so
    (the file holds the rows of the access they had)."""
    reason = exports.export_job_unavailable(request.user, job)
    status = 200
    if reason is not None:
        job = copy.copy(job)  # shown as expired: no link, no polling, "export again"
        job.status = ExportStatus.EXPIRED
        download_url = None
        if reason == exports.ACCESS_CHANGED:
            status = 404
            messages.warning(
                request,
                _(
                    "Your access has changed since this export was made, so its file is no "
                    "longer yours to download. Make the export again."
                ),
            )
    return render(
        request, template, job_page_context(job, download_url=download_url), status=status
    )


@require_GET
@login_required
def export_list(request):
    """Who exported what and when: every export for the office, one's own for others."""
    jobs = exports.export_jobs_visible_to(request.user)
    page = Paginator(jobs, EXPORTS_PAGE_SIZE).get_page(request.GET.get("page"))
    for job in page:
        # What each exported, in the reader's language, whoever asked and in which language.
        job.shown_title = exports.export_job_title(job)
    return render(
        request,
        "exports/export_list.html",
        {
            "page_obj": page,
            "jobs": page.object_list,
            "everyone": request.user.is_office,
            "keep_hours": settings.SUPPLYCOORD.get("EXPORT_KEEP_HOURS", 24),
        },
    )


@require_GET
@login_required
def export_job(request, job_id):
    """A background export: its progress while written, then the download link."""
    job = own_job_or_404(request.user, job_id)
    return job_page(
        request,
        job,
        template="exports/export_job.html",
        download_url=reverse("exports:download", args=[job.pk]),
    )


@require_GET
@login_required
def export_download(request, job_id):
    """The file of one's own background export (it holds the rows in the asker's scope)."""
    return job_file_response(request.user, own_job_or_404(request.user, job_id))
