"""Entity writes and reads: field coercion, required fields, picklist/reference checks, business rules."""

from dataclasses import dataclass
from datetime import timedelta

from .query import ci_get, parse_datetime
from .tenants import PICKLISTS, ROLES, iso

ASSIGNMENT_MESSAGE = (
    "When assigning a Resource, you must assign both a assignedResourceID and assignedResourceRoleID."
)


class ValidationError(Exception):
    """A write Autotask rejects with HTTP 500 and these `errors` strings."""

    def __init__(self, *messages):
        super().__init__("; ".join(messages))
        self.messages = list(messages)


@dataclass
class WriteContext:
    sim: object
    tenant: object
    data: dict
    impersonation: int | None

    @property
    def now(self):
        return self.sim.utcnow()

    @property
    def config(self):
        return self.sim.config


def output(entity, record):
    """The wire form of a record: every modelled field (null when unset), plus UDFs where supported."""
    out = {f.name: record.get(f.name) for f in entity.fields}
    if entity.has_udfs:
        out["userDefinedFields"] = [dict(u) for u in record.get("userDefinedFields") or []]
    return out


def _picklist(tenant, entity, field_name):
    return PICKLISTS[tenant.database_id].get(entity.name, {}).get(field_name)


def field_info(entity, tenant):
    result = []
    for f in entity.fields:
        values = _picklist(tenant, entity, f.name) if f.picklist else None
        parent_field = "issueType" if f.name == "subIssueType" else ""
        result.append(
            {
                "name": f.name,
                "dataType": f.data_type,
                "length": f.length,
                "isRequired": f.required,
                "isReadOnly": f.read_only,
                "isQueryable": f.queryable,
                "isReference": bool(f.reference),
                "referenceEntityType": f.reference,
                "isPickList": f.picklist,
                "picklistValues": None
                if values is None
                else [
                    {
                        "value": str(v["value"]),  # strings in metadata, integers on entities (§3)
                        "label": v["label"],
                        "isDefaultValue": v["isDefaultValue"],
                        "sortOrder": n,
                        "parentValue": v["parentValue"],
                        "isActive": v["isActive"],
                        "isSystem": v["isSystem"],
                    }
                    for n, v in enumerate(values, start=1)
                ],
                "picklistParentValueField": parent_field,
                "isSupportedWebhookField": False,
            }
        )
    return result


def udf_info(definitions):
    return [
        {
            "name": d["name"],
            "label": d["label"],
            "type": d["type"],
            "length": 100,
            "description": "",
            "isRequired": False,
            "isReadOnly": False,
            "isQueryable": True,
            "isReference": False,
            "referenceEntityType": "",
            "isPickList": d["isPickList"],
            "picklistValues": None,
            "picklistParentValueField": "",
            "defaultValue": None,
            "isSupportedWebhookField": False,
        }
        for d in definitions
    ]


def _coerce(field, value, errors):
    if value is None:
        return None
    kind = field.data_type
    try:
        if kind in ("integer", "long", "short"):
            if isinstance(value, bool):
                raise ValueError
            if isinstance(value, float):
                if not value.is_integer():
                    raise ValueError
                return int(value)
            return int(value)
        if kind in ("decimal", "double"):
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        if kind == "boolean":
            if isinstance(value, bool):
                return value
            if str(value).lower() in ("true", "false"):
                return str(value).lower() == "true"
            raise ValueError
        if kind == "datetime":
            return iso(parse_datetime(value))
    except (TypeError, ValueError):
        errors.append(f"Invalid value for field {field.name}: {value!r} is not a valid {kind}.")
        return None
    text = str(value)
    if field.length and len(text) > field.length:
        errors.append(f"The value for field {field.name} exceeds the maximum length of {field.length}.")
    return text


def _apply(entity, record, body, errors):
    """Copy writable fields from a (case-insensitive) body into record; read-only and unknown keys ignored."""
    if not isinstance(body, dict):
        raise ValidationError("The request body must be a JSON object.")
    for key, value in body.items():
        if str(key).lower() == "userdefinedfields":
            if entity.has_udfs:
                _apply_udfs(record, value, errors)
            continue
        field = entity.field(key)
        if field is None or field.read_only:
            continue
        record[field.name] = _coerce(field, value, errors)


def _apply_udfs(record, value, errors):
    if not isinstance(value, list):
        errors.append("userDefinedFields must be an array of {name, value} objects.")
        return
    current = {u["name"].lower(): u for u in record.get("userDefinedFields") or []}
    for udf in value:
        name = ci_get(udf, "name")
        if not isinstance(name, str) or not name:
            errors.append("Each user-defined field needs a name.")
            continue
        raw = ci_get(udf, "value")
        current[name.lower()] = {"name": name, "value": None if raw is None else str(raw)}
    record["userDefinedFields"] = list(current.values())


def _missing(record, name):
    value = record.get(name)
    return value is None or (isinstance(value, str) and not value.strip())


def _check_picklists(ctx, entity, record, errors):
    for field in entity.fields:
        if not field.picklist or record.get(field.name) is None:
            continue
        values = _picklist(ctx.tenant, entity, field.name) or []
        match = next((v for v in values if v["value"] == record[field.name]), None)
        if match is None:
            errors.append(f"Value does not reference an existing entity for {field.name} . ")
        elif not match["isActive"] and ctx.config.reject_inactive_picklist_values:
            errors.append(f"The value {record[field.name]} for field {field.name} is inactive.")


def _check_resource(ctx, record, field_name, errors, *, required_active=True):
    rid = record.get(field_name)
    if rid is None:
        return
    resource = ctx.data["Resources"].get(rid)
    if resource is None or (required_active and not resource["isActive"]):
        errors.append(f"Value does not reference an existing entity for {field_name} . ")


def _check_role(ctx, record, field_name, errors):
    if record.get(field_name) is not None and record[field_name] not in ROLES[ctx.tenant.database_id]:
        errors.append(f"Value does not reference an existing entity for {field_name} . ")


def _validate(ctx, entity, record, before):
    errors = []
    for field in entity.fields:
        if field.required and not field.read_only and _missing(record, field.name):
            errors.append(f"Missing Required Field: {field.name}.")
    _check_picklists(ctx, entity, record, errors)
    rule = _RULES.get(entity.name)
    if rule:
        rule(ctx, record, before, errors)
    if errors:
        raise ValidationError(*errors)


def _ticket_rules(ctx, record, before, errors):
    company_id = record.get("companyID")
    if company_id is not None:
        company = ctx.data["Companies"].get(company_id)
        if company is None:
            errors.append("Value does not reference an existing entity for companyID . ")
        elif not company["isActive"] and ctx.config.require_active_company:
            changed = before is None or before.get("companyID") != company_id
            if changed:
                errors.append(f"The company {company_id} is inactive and cannot be used on a ticket.")
    resource, role = record.get("assignedResourceID"), record.get("assignedResourceRoleID")
    if (resource is None) != (role is None):
        errors.append(ASSIGNMENT_MESSAGE)
    _check_resource(ctx, record, "assignedResourceID", errors)
    _check_role(ctx, record, "assignedResourceRoleID", errors)
    if ctx.config.ticket_requires_due_date and record.get("dueDateTime") is None:
        errors.append("Missing Required Field: dueDateTime.")
    if (
        ctx.config.ticket_requires_queue
        and record.get("queueID") is None
        and (resource is None or role is None)
    ):
        errors.append("A ticket must be assigned to a queue (queueID) or to a resource and role.")
    sub = record.get("subIssueType")
    if sub is not None:
        values = _picklist(ctx.tenant, _entity("Tickets"), "subIssueType") or []
        parent = next((v["parentValue"] for v in values if v["value"] == sub), None)
        if parent is not None and parent != str(record.get("issueType")):
            errors.append("The subIssueType does not belong to the selected issueType.")


def _note_rules(ctx, record, before, errors):
    if record.get("ticketID") not in ctx.data["Tickets"]:
        errors.append("Value does not reference an existing entity for ticketID . ")


def _time_entry_rules(ctx, record, before, errors):
    _check_resource(ctx, record, "resourceID", errors)
    _check_role(ctx, record, "roleID", errors)
    hours = record.get("hoursWorked")
    if hours is None or not 0 < hours <= 24:
        errors.append("hoursWorked must be greater than 0 and less than or equal to 24.")
    ticket_id = record.get("ticketID")
    if ticket_id is not None and ticket_id not in ctx.data["Tickets"]:
        errors.append("Value does not reference an existing entity for ticketID . ")
    if ticket_id is None and record.get("taskID") is None:
        errors.append("A time entry must reference a ticketID or a taskID.")


def _company_rules(ctx, record, before, errors):
    _check_resource(ctx, record, "ownerResourceID", errors)
    parent = record.get("parentCompanyID")
    if parent is not None and parent not in ctx.data["Companies"]:
        errors.append("Value does not reference an existing entity for parentCompanyID . ")


_RULES = {
    "Tickets": _ticket_rules,
    "TicketNotes": _note_rules,
    "TimeEntries": _time_entry_rules,
    "Companies": _company_rules,
}


def _entity(name):
    from .schema import entity_by_name

    return entity_by_name(name)


def _next_id(ctx, entity):
    ids = ctx.data["next_ids"]
    new_id = ids[entity.name]
    ids[entity.name] = new_id + 1
    return new_id


def create(ctx, entity, body):
    """Validate and store a new record; returns its id. Nothing is stored when validation fails."""
    errors = []
    record = {}
    _apply(entity, record, body, errors)
    if errors:
        raise ValidationError(*errors)
    now = ctx.now
    stamp = iso(now)
    if entity.name == "Tickets":
        record.setdefault("status", None)
        if record.get("dueDateTime") is None and not ctx.config.ticket_requires_due_date:
            record["dueDateTime"] = iso(now + timedelta(hours=ctx.config.default_due_hours))
    if entity.name == "TimeEntries":
        if record.get("roleID") is None and record.get("resourceID") in ctx.data["Resources"]:
            record["roleID"] = ctx.data["Resources"][record["resourceID"]].get("defaultServiceDeskRoleID")
        if record.get("dateWorked") is None:
            record["dateWorked"] = iso(now.replace(hour=0, minute=0, second=0, microsecond=0))
    if entity.name == "Companies" and record.get("isActive") is None:
        record["isActive"] = True
    _validate(ctx, entity, record, None)

    new_id = _next_id(ctx, entity)
    record["id"] = new_id
    if ctx.impersonation is not None and entity.field("impersonatorCreatorResourceID"):
        record["impersonatorCreatorResourceID"] = ctx.impersonation
    if entity.name == "Tickets":
        day = now.strftime("%Y%m%d")
        sequences = ctx.data["ticket_sequences"]
        sequences[day] = sequences.get(day, 0) + 1
        record["ticketNumber"] = f"T{day}.{sequences[day]:04d}"
        record["createDate"] = stamp
        record["lastActivityDate"] = stamp
        record["creatorResourceID"] = ctx.impersonation
        record.setdefault("externalID", None)
        record.setdefault("userDefinedFields", [])
        if record["status"] == 5:
            record["completedDate"] = stamp
            record["completedByResourceID"] = ctx.impersonation
    elif entity.name == "TicketNotes":
        record["createDateTime"] = stamp
        record["lastActivityDate"] = stamp
        record["creatorResourceID"] = ctx.impersonation
        ctx.data["Tickets"][record["ticketID"]]["lastActivityDate"] = stamp
    elif entity.name == "TimeEntries":
        record["createDateTime"] = stamp
        record["lastModifiedDateTime"] = stamp
        if record.get("ticketID") in ctx.data["Tickets"]:
            ctx.data["Tickets"][record["ticketID"]]["lastActivityDate"] = stamp
    elif entity.name == "Companies":
        record["createDate"] = stamp
        record["lastActivityDate"] = stamp
        record.setdefault("userDefinedFields", [])
    ctx.data[entity.name][new_id] = record
    return new_id


def update(ctx, entity, body, replace=False):
    """PATCH (only the fields sent) or PUT (omitted writable fields become null). The id is in the body."""
    if not isinstance(body, dict):
        raise ValidationError("The request body must be a JSON object.")
    raw_id = ci_get(body, "id")
    try:
        item_id = int(raw_id)
    except (TypeError, ValueError) as exc:
        raise ValidationError("The id field is required to update an entity.") from exc
    current = ctx.data[entity.name].get(item_id)
    if current is None:
        raise ValidationError(f"No matching {entity.name} record found with id {item_id}.")
    if entity.name == "TicketNotes" and body.get("ticketID") != current["ticketID"]:
        raise ValidationError("Value does not reference an existing entity for ticketID . ")
    record = dict(current)
    if replace:
        for field in entity.fields:
            if not field.read_only:
                record[field.name] = None
        if entity.name == "TicketNotes":
            record["ticketID"] = current["ticketID"]
    errors = []
    _apply(entity, record, body, errors)
    if errors:
        raise ValidationError(*errors)
    _validate(ctx, entity, record, current)
    stamp = iso(ctx.now)
    if entity.name == "Tickets":
        record["lastActivityDate"] = stamp
        if record.get("status") == 5 and current.get("status") != 5:
            record["completedDate"] = stamp
            record["completedByResourceID"] = ctx.impersonation
        elif record.get("status") != 5:
            record["completedDate"] = None
            record["completedByResourceID"] = None
    elif entity.name == "TicketNotes":
        record["lastActivityDate"] = stamp
        if ctx.impersonation is not None:
            record["impersonatorUpdaterResourceID"] = ctx.impersonation
    elif entity.name == "TimeEntries":
        record["lastModifiedDateTime"] = stamp
    elif "lastActivityDate" in record:
        record["lastActivityDate"] = stamp
    ctx.data[entity.name][item_id] = record
    return item_id
