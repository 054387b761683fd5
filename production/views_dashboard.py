"""Placeholder: being written (issue 5)."""

from django.http import Http404


def dashboard(request, *args, **kwargs):
    raise Http404


def producers_export(request, *args, **kwargs):
    raise Http404


def reports_export(request, *args, **kwargs):
    raise Http404
