"""POST /api/runs/ — token-authenticated run ingestion.

Request: `Authorization: Bearer <token>` (an IngestToken, created in the admin), `Content-Type:
application/json`, body = one run object or a list of 1…`settings.INGEST_MAX_ITEMS` run objects:

    {"customer": "Acme",              # must exist (name matched ignoring case)
     "job": "Nightly image",          # created on first sight
     "backup_software": "Veeam", "job_type": "Image", "schedule": "daily 22:00",   # optional, new jobs only
     "started_at": "2025-01-31T22:00:00Z",     # ISO-8601 with offset; naive timestamps are rejected
     "finished_at": "2025-01-31T22:40:00Z",    # optional, >= started_at
     "status": "success" | "warning" | "error" | "missed",
     "summary": "…", "details": "…",           # optional
     "external_id": "veeam-4711"}              # required; idempotency key per job

Responses (always JSON, never a 500 for bad input):

* 201 at least one run created / 200 every run was already present:
  `{"created": n, "already_present": m, "runs": [{"id": 1, "created": true}, …]}` in input order.
* 400 `{"errors": [{"index": i, "field": "status", "message": "…"}]}` — invalid JSON, an empty list, more
  than INGEST_MAX_ITEMS items (index null), or any invalid item. Nothing is written (all-or-nothing).
* 401 missing/unknown/inactive token, 405 not POST, 413 body larger than INGEST_MAX_BODY_BYTES,
  415 not application/json — `{"detail": "…"}`, nothing written.

See runs/ingest.py for the validation rules.
"""

import json

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from . import ingest
from .models import IngestToken


def _detail(status, message, **headers):
    response = JsonResponse({"detail": message}, status=status)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def _errors(*errors):
    return JsonResponse({"errors": [error.as_dict() for error in errors]}, status=400)


def _request_error(message):
    return JsonResponse(
        {"errors": [{"index": None, "field": ingest.NON_FIELD, "message": message}]}, status=400
    )


def _authenticate(request):
    scheme, _, raw_token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not raw_token.strip():
        return None
    token = IngestToken.authenticate(raw_token.strip())
    if token is not None:
        IngestToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
    return token


def _read_body(request):
    """The raw body, or None when it is larger than INGEST_MAX_BODY_BYTES."""
    limit = settings.INGEST_MAX_BODY_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        return None
    try:
        body = request.body
    except RequestDataTooBig:
        return None
    return None if len(body) > limit else body


@csrf_exempt
def ingest_runs(request):
    if request.method != "POST":
        return _detail(405, "Method not allowed; use POST.", Allow="POST")
    if _authenticate(request) is None:
        return _detail(401, "Missing, unknown or inactive ingest token.", WWW_Authenticate="Bearer")
    if request.content_type != "application/json":
        return _detail(415, "Content-Type must be application/json.")
    body = _read_body(request)
    if body is None:
        return _detail(413, f"Request body is larger than {settings.INGEST_MAX_BODY_BYTES} bytes.")
    try:
        payload = json.loads(body.decode("utf-8-sig"))  # a leading BOM (PowerShell 5) is tolerated
    except (UnicodeDecodeError, ValueError, RecursionError):
        return _request_error("Body is not valid UTF-8 JSON.")

    items = payload if isinstance(payload, list) else [payload]
    if not isinstance(payload, list | dict):
        return _request_error("Body must be a run object or a list of run objects.")
    if not items:
        return _request_error("The list of runs is empty.")
    if len(items) > settings.INGEST_MAX_ITEMS:
        return _request_error(f"At most {settings.INGEST_MAX_ITEMS} runs per request (got {len(items)}).")

    try:
        result = ingest.ingest_runs(items, source="api")
    except ingest.IngestValidationError as exc:
        return _errors(*exc.errors)
    return JsonResponse(
        {
            "created": result.created_count,
            "already_present": result.existing_count,
            "runs": [{"id": outcome.run.pk, "created": outcome.created} for outcome in result.outcomes],
        },
        status=201 if result.created_count else 200,
    )
