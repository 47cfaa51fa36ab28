"""The control API under `/_simulator/` — a local test and demo tool: no auth, never counted.

Routes (JSON in, JSON out; see docs/simulator.md for curl examples):
  GET    /_simulator/tenants                                   tenants with demo credentials and db ids
  POST   /_simulator/reset                                     reseed, clear requests/faults/config
  GET    /_simulator/requests                                  every API request received
  DELETE /_simulator/requests                                  forget them
  GET    /_simulator/api-call-count?tenant=<db>&exclude_zone=1
  GET    /_simulator/config            POST /_simulator/config {option: value}
  GET    /_simulator/faults            POST /_simulator/faults {mode, entity, method, times, seconds}
  DELETE /_simulator/faults
  POST   /_simulator/tenants/<db>/companies/<id>/rename       {"name": "..."}
  POST   /_simulator/tenants/<db>/companies/<id>/deactivate
  POST   /_simulator/tenants/<db>/companies/<id>/delete
  GET    /_simulator/tenants/<db>/tickets
  GET    /_simulator/tenants/<db>/tickets/<id>/notes
  POST   /_simulator/tenants/<db>/tickets/<id>/time-entries   {"hours": 1.5, "resource_id": 123}
  POST   /_simulator/tenants/<db>/tickets/<id>/delete
  GET    /_simulator/tenants/<db>/usage                       {"usage", "peak", "threshold"}
  POST   /_simulator/tenants/<db>/usage                       {"count": 7500, "spread_seconds": 3600} or
                                                              {"ratio": 0.75, …}: another integration's usage
"""

import json


def handle(sim, request):
    from .app import Response

    def ok(body=None):
        return Response(200, {"ok": True} if body is None else body)

    def fail(status, text):
        return Response(status, {"errors": [text]})

    parts = [p for p in request.path.split("/") if p][1:]
    method = request.method
    try:
        body = json.loads(request.body) if request.body.strip() else {}
    except ValueError:
        return fail(400, "Malformed JSON body.")
    if not isinstance(body, dict):
        return fail(400, "The body must be a JSON object.")
    try:
        if parts == ["reset"] and method == "POST":
            sim.reset()
            return ok()
        if parts == ["requests"]:
            if method == "GET":
                with sim._lock:
                    records = [r.as_dict() for r in sim.requests]
                return ok({"requests": records, "count": len(records)})
            if method == "DELETE":
                sim.clear_requests()
                return ok()
        if parts == ["api-call-count"] and method == "GET":
            tenant = request.params.get("tenant")
            exclude = request.params.get("exclude_zone", "").lower() in ("1", "true", "yes")
            count = sim.api_call_count(tenant=int(tenant) if tenant else None, exclude_zone=exclude)
            return ok({"count": count})
        if parts == ["config"]:
            if method == "GET":
                return ok(sim.configure())
            if method == "POST":
                return ok(sim.configure(**body))
        if parts == ["faults"]:
            if method == "GET":
                return ok({"faults": sim.faults.list()})
            if method == "POST":
                fault = sim.inject_fault(
                    entity=body.get("entity"),
                    method=body.get("method"),
                    mode=body.get("mode", "fail_500"),
                    times=body.get("times", 1),
                    seconds=body.get("seconds"),
                )
                return ok({"fault": fault.as_dict()})
            if method == "DELETE":
                sim.clear_faults()
                return ok()
        if parts == ["tenants"] and method == "GET":
            return ok({"tenants": [_tenant_info(t, request, sim) for t in sim._tenants_by_db.values()]})
        if len(parts) >= 3 and parts[0] == "tenants":
            db_id = int(parts[1])
            sim.tenant(db_id)
            rest = parts[2:]
            if len(rest) == 3 and rest[0] == "companies" and method == "POST":
                company_id = int(rest[1])
                if rest[2] == "rename":
                    name = body.get("name")
                    if not isinstance(name, str) or not name.strip():
                        return fail(400, "A non-empty 'name' is required.")
                    sim.rename_company(db_id, company_id, name)
                    return ok()
                if rest[2] == "deactivate":
                    sim.deactivate_company(db_id, company_id)
                    return ok()
                if rest[2] == "delete":
                    sim.delete_company(db_id, company_id)
                    return ok()
            if rest == ["usage"]:
                if method == "POST":
                    count = body.get("count")
                    if count is None and body.get("ratio") is not None:
                        target = round(float(body["ratio"]) * sim.config.hourly_limit)
                        count = max(0, target - sim.hourly_usage(sim.tenant(db_id)))
                    if count is None:
                        return fail(400, "Give 'count' (requests to add) or 'ratio' (0..1 of the threshold).")
                    sim.add_usage(db_id, int(count), float(body.get("spread_seconds") or 0))
                if method in ("GET", "POST"):
                    return ok(
                        {
                            "usage": sim.hourly_usage(sim.tenant(db_id)),
                            "peak": sim.peak_usage(db_id),
                            "threshold": sim.config.hourly_limit,
                        }
                    )
            if rest == ["tickets"] and method == "GET":
                return ok({"tickets": sim.tickets(db_id)})
            if len(rest) == 3 and rest[0] == "tickets" and rest[2] == "notes" and method == "GET":
                return ok({"notes": sim.ticket_notes(db_id, int(rest[1]))})
            if len(rest) == 3 and rest[0] == "tickets" and rest[2] == "delete" and method == "POST":
                sim.delete_ticket(db_id, int(rest[1]))
                return ok()
            if len(rest) == 3 and rest[0] == "tickets" and rest[2] == "time-entries" and method == "POST":
                entry_id = sim.add_time_entry(
                    db_id,
                    int(rest[1]),
                    hours=float(body.get("hours", 1.0)),
                    resource_id=body.get("resource_id"),
                )
                return ok({"id": entry_id})
    except KeyError as exc:
        return fail(404, str(exc.args[0]) if exc.args else "Not found.")
    except ValueError as exc:
        return fail(400, str(exc))
    except Exception as exc:  # a validation error from add_time_entry, for instance
        messages = getattr(exc, "messages", None)
        if messages:
            return Response(400, {"errors": messages})
        raise
    return fail(404, f"No simulator control route {method} {request.path}.")


def _tenant_info(tenant, request, sim):
    return {
        "key": tenant.key,
        "name": tenant.name,
        "database_id": tenant.database_id,
        "username": tenant.username,
        "secret": tenant.secret,
        "integration_code": tenant.integration_code,
        "zone_name": tenant.zone_name,
        "zone_url": sim.zone_url(request, tenant),
    }
