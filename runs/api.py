"""POST /api/runs/ (skeleton: filled in by the ingestion work)."""

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST


@csrf_exempt
@require_POST
def ingest_runs(request):
    return JsonResponse({"detail": "not implemented"}, status=501)
