"""Placeholder: being written (issue 5)."""

from django.http import Http404


def producer_list(request, *args, **kwargs):
    raise Http404


def producer_detail(request, *args, **kwargs):
    raise Http404


def commissioner(request, *args, **kwargs):
    raise Http404


def report_entry(request, *args, **kwargs):
    raise Http404


def problem_list(request, *args, **kwargs):
    raise Http404


def problem_new(request, *args, **kwargs):
    raise Http404


def problem_detail(request, *args, **kwargs):
    raise Http404
