"""Operator pages. (Skeleton: filled in by the pages work.)"""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse


@login_required
def run_checks(request):
    return HttpResponse("Run Checks")


@login_required
def review_runs(request):
    return HttpResponse(status=405)


@login_required
def run_detail(request, pk):
    return HttpResponse("Run")


@login_required
def job_detail(request, pk):
    return HttpResponse("Job")
