"""Placeholder: being written (issue 5)."""

from django.http import Http404


def report_import(request, *args, **kwargs):
    raise Http404


def report_import_template(request, *args, **kwargs):
    raise Http404
