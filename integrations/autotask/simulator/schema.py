"""Entity field metadata served by `entityInformation` and used for validation and query typing.

Field names are the camelCase names Autotask puts on the wire (docs/autotask-api.md §6). Only the fields
Backupchecks (and a realistic client) touch are modelled; unknown fields in write bodies are ignored.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldDef:
    name: str
    data_type: str  # integer, long, string, boolean, datetime, double, decimal, short
    required: bool = False
    read_only: bool = False
    queryable: bool = True
    reference: str = ""  # referenceEntityType
    picklist: bool = False
    length: int = 0


def _f(name, data_type="integer", **kw):
    return FieldDef(name, data_type, **kw)


def _s(name, length=100, **kw):
    return FieldDef(name, "string", length=length, **kw)


def _d(name, **kw):
    return FieldDef(name, "datetime", **kw)


@dataclass(frozen=True)
class EntityDef:
    name: str
    fields: tuple
    can_create: bool = True
    can_update: bool = True
    can_delete: bool = False
    has_udfs: bool = False
    parent: str = ""  # writes go through /{parent}/{id}/{child_path}
    child_path: str = ""

    def field(self, name):
        """Case-insensitive field lookup (Autotask field names are not case sensitive)."""
        return _FIELD_INDEX[self.name].get(str(name).lower())

    def info(self):
        return {
            "name": self.name,
            "canCreate": self.can_create,
            "canDelete": self.can_delete,
            "canQuery": True,
            "canUpdate": self.can_update,
            "userAccessForCreate": "All" if self.can_create else "None",
            "userAccessForDelete": "All" if self.can_delete else "None",
            "userAccessForQuery": "All",
            "userAccessForUpdate": "All" if self.can_update else "None",
            "hasUserDefinedFields": self.has_udfs,
            "supportsWebhookCallouts": self.name in ("Companies", "Tickets", "TicketNotes"),
        }


COMPANIES = EntityDef(
    "Companies",
    (
        _f("id", "long", read_only=True),
        _s("companyName", required=True),
        _s("companyNumber", 50),
        _f("companyType", required=True, picklist=True),
        _f("isActive", "boolean"),
        _s("phone", 25, required=True),
        _s("fax", 25),
        _s("address1", 128),
        _s("address2", 128),
        _s("city", 50),
        _s("state", 25),
        _s("postalCode", 20),
        _f("countryID", reference="Country"),
        _s("webAddress", 255),
        _f("ownerResourceID", required=True, reference="Resource"),
        _f("parentCompanyID", reference="Company"),
        _d("createDate", read_only=True),
        _f("createdByResourceID", read_only=True, reference="Resource"),
        _d("lastActivityDate", read_only=True),
        _f("impersonatorCreatorResourceID", read_only=True, reference="Resource"),
    ),
    has_udfs=True,
)

TICKETS = EntityDef(
    "Tickets",
    (
        _f("id", "long", read_only=True),
        _s("ticketNumber", 50, read_only=True),
        _s("title", 255, required=True),
        _s("description", 8000),
        _f("status", required=True, picklist=True),
        _f("priority", required=True, picklist=True),
        _f("queueID", picklist=True),
        _f("companyID", required=True, reference="Company"),
        _f("companyLocationID", reference="CompanyLocation"),
        _f("contactID", reference="Contact"),
        _f("assignedResourceID", reference="Resource"),
        _f("assignedResourceRoleID", reference="Role"),
        _f("billingCodeID", reference="BillingCode"),
        _f("contractID", reference="Contract"),
        _f("configurationItemID", reference="ConfigurationItem"),
        _f("issueType", picklist=True),
        _f("subIssueType", picklist=True),
        _f("ticketType", picklist=True),
        _f("ticketCategory", picklist=True),
        _f("source", picklist=True),
        _d("dueDateTime"),
        _f("estimatedHours", "decimal"),
        _d("createDate", read_only=True),
        _f("creatorResourceID", read_only=True, reference="Resource"),
        _f("creatorType", read_only=True, queryable=False),
        _d("completedDate", read_only=True),
        _f("completedByResourceID", read_only=True, reference="Resource"),
        _d("lastActivityDate", read_only=True),
        _f("lastActivityPersonType", read_only=True, queryable=False),
        _f("lastActivityResourceID", read_only=True, reference="Resource"),
        _s("resolution", 32000),
        _s("externalID", 50),
        _s("purchaseOrderNumber", 50),
        _s("rmmAlertID", 50),
        _f("impersonatorCreatorResourceID", read_only=True, reference="Resource"),
    ),
    has_udfs=True,
)

TICKET_NOTES = EntityDef(
    "TicketNotes",
    (
        _f("id", "long", read_only=True),
        _f("ticketID", required=True, reference="Ticket"),
        _s("title", 250),
        _s("description", 32000, required=True),
        _f("noteType", required=True, picklist=True),
        _f("publish", required=True, picklist=True),
        _d("createDateTime", read_only=True),
        _f("creatorResourceID", read_only=True, reference="Resource"),
        _f("createdByContactID", read_only=True, reference="Contact"),
        _d("lastActivityDate", read_only=True),
        _f("impersonatorCreatorResourceID", read_only=True, reference="Resource"),
        _f("impersonatorUpdaterResourceID", read_only=True, reference="Resource"),
    ),
    parent="Tickets",
    child_path="Notes",
)

TIME_ENTRIES = EntityDef(
    "TimeEntries",
    (
        _f("id", "long", read_only=True),
        _f("ticketID", reference="Ticket"),
        _f("taskID", reference="Task"),
        _f("resourceID", required=True, reference="Resource"),
        _f("roleID", reference="Role"),
        _d("dateWorked"),
        _d("startDateTime"),
        _d("endDateTime"),
        _f("hoursWorked", "decimal"),
        _f("hoursToBill", "decimal"),
        _s("summaryNotes", 8000),
        _s("internalNotes", 8000),
        _f("billingCodeID", reference="BillingCode"),
        _f("isNonBillable", "boolean"),
        _d("createDateTime", read_only=True),
        _f("creatorUserID", read_only=True, reference="Resource"),
        _d("lastModifiedDateTime", read_only=True),
        _f("impersonatorCreatorResourceID", read_only=True, reference="Resource"),
    ),
    can_delete=True,
)

RESOURCES = EntityDef(
    "Resources",
    (
        _f("id", "long", read_only=True),
        _s("firstName", 50, required=True),
        _s("lastName", 50, required=True),
        _s("email", 254, required=True),
        _s("userName", 32, required=True),
        _f("isActive", "boolean"),
        _s("resourceType", 15),
        _f("userType"),
        _s("title", 50),
        _f("defaultServiceDeskRoleID", reference="Role"),
    ),
    can_create=False,
)

ENTITIES = {e.name.lower(): e for e in (COMPANIES, TICKETS, TICKET_NOTES, TIME_ENTRIES, RESOURCES)}
_FIELD_INDEX = {e.name: {f.name.lower(): f for f in e.fields} for e in ENTITIES.values()}

# The store key (plural, as in the URL) of each entity.
STORE_KEYS = {e.name: e.name for e in ENTITIES.values()}


def entity_by_name(name):
    return ENTITIES.get(str(name).lower())
