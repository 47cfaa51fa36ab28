"""The two seeded tenants (a sandbox and a production database) and their deterministic seed data.

A sandbox is modelled as just another Autotask database with its own API user, tracking identifier,
`ci` and picklist ids (docs/autotask-api.md §1.5). Everything here is derived from a seed, so the same seed always
gives the same companies, tickets and ids.
"""

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta


@dataclass(frozen=True)
class Tenant:
    """Demo credentials and zone of one simulated Autotask database. Not secret: a local test tool."""

    key: str
    name: str
    database_id: int
    username: str
    secret: str
    integration_code: str
    zone_name: str
    zone_host: str  # where the tenant lives when the simulator is reached through an *.autotask.net host
    web_url: str

    @property
    def zone_api_url(self):
        return f"https://{self.zone_host}/ATServicesRest/"


PRODUCTION = Tenant(
    key="production",
    name="Backupchecks Demo MSP (production)",
    database_id=29683700,
    username="api-production@backupchecks-demo.example",
    secret="sim-prod-Secret-7Kq2",
    integration_code="BCSIMPRODTRACKINGID0000001",
    zone_name="AE02",
    zone_host="webservices14.autotask.net",
    web_url="https://ww14.autotask.net/",
)

SANDBOX = Tenant(
    key="sandbox",
    name="Backupchecks Demo MSP (sandbox)",
    database_id=29690015,
    username="api-sandbox@backupchecks-demo.example",
    secret="sim-sandbox-Secret-3Vm8",
    integration_code="BCSIMSANDBOXTRACKINGID0001",
    zone_name="PRE2",
    zone_host="webservices2.autotask.net",
    web_url="https://ww2.autotask.net/",
)

TENANTS = (SANDBOX, PRODUCTION)


def _pv(value, label, active=True, system=False, default=False, parent=""):
    return {
        "value": value,
        "label": label,
        "isActive": active,
        "isSystem": system,
        "isDefaultValue": default,
        "parentValue": parent,
    }


COMPANY_TYPES = [
    _pv(1, "Customer", system=True, default=True),
    _pv(2, "Lead", system=True),
    _pv(3, "Prospect", system=True),
    _pv(4, "Dead", system=True),
    _pv(6, "Cancellation", system=True, active=False),
    _pv(7, "Vendor", system=True),
    _pv(8, "Partner", system=True),
]

TICKET_TYPES = [
    _pv(1, "Service Request", system=True, default=True),
    _pv(2, "Incident", system=True),
    _pv(3, "Problem", system=True),
    _pv(4, "Change Request", system=True),
    _pv(5, "Alert", system=True),
]

# Picklists differ per tenant: queue ids are large and tenant-specific, status values beyond 1/5 are
# tenant-defined, and each tenant has inactive values (docs/autotask-api.md §6.2, §6.3, §6.6).
PICKLISTS = {
    PRODUCTION.database_id: {
        "Companies": {"companyType": COMPANY_TYPES},
        "Tickets": {
            "queueID": [
                _pv(5, "Client Portal", system=True),
                _pv(29682833, "Service Desk", default=True),
                _pv(29682834, "Monitoring Alerts"),
                _pv(29683482, "Backup Failures"),
                _pv(29683490, "Projects Intake (retired)", active=False),
            ],
            "source": [
                _pv(-2, "Insourced", system=True),
                _pv(-1, "Client Portal", system=True),
                _pv(1, "Phone", default=True),
                _pv(2, "Email"),
                _pv(4, "Monitoring Alert"),
                _pv(8, "In Person", active=False),
                _pv(64, "Backupchecks"),
            ],
            "priority": [
                _pv(4, "Critical", system=True),
                _pv(1, "High", system=True),
                _pv(2, "Medium", system=True, default=True),
                _pv(3, "Low", system=True),
                _pv(5, "P1 Emergency (old)", active=False),
            ],
            "status": [
                _pv(1, "New", system=True, default=True),
                _pv(5, "Complete", system=True),
                _pv(7, "Waiting Customer"),
                _pv(8, "In Progress"),
                _pv(9, "Waiting Materials"),
                _pv(10, "Scheduled"),
                _pv(11, "Escalate"),
                _pv(12, "Waiting Vendor"),
                _pv(14, "On Hold (retired)", active=False),
            ],
            "ticketType": TICKET_TYPES,
            "ticketCategory": [_pv(3, "Standard", default=True), _pv(104, "API Alerts")],
            "issueType": [_pv(10, "Backup"), _pv(11, "Network"), _pv(12, "Hardware", active=False)],
            "subIssueType": [
                _pv(101, "Backup job failed", parent="10"),
                _pv(102, "Backup job warning", parent="10"),
                _pv(111, "Connectivity", parent="11"),
            ],
        },
        "TicketNotes": {
            "noteType": [
                _pv(1, "Task Summary", system=True),
                _pv(2, "Task Detail", system=True),
                _pv(3, "Task Notes", system=True, default=True),
                _pv(13, "Workflow Rule Note - Task", active=False),
            ],
            "publish": [
                _pv(1, "All Autotask Users", system=True, default=True),
                _pv(2, "Internal Only", system=True),
                _pv(3, "Internal & Co-Managed", system=True),
            ],
        },
    },
    SANDBOX.database_id: {
        "Companies": {"companyType": COMPANY_TYPES},
        "Tickets": {
            "queueID": [
                _pv(5, "Client Portal", system=True),
                _pv(29700101, "Service Desk", default=True),
                _pv(29700102, "Monitoring Alerts"),
                _pv(29700109, "Backup Checks"),
                _pv(29700110, "Old Triage Queue", active=False),
            ],
            "source": [
                _pv(-2, "Insourced", system=True),
                _pv(-1, "Client Portal", system=True),
                _pv(1, "Phone", default=True),
                _pv(2, "Email"),
                _pv(4, "Monitoring Alert"),
                _pv(8, "In Person", active=False),
                _pv(71, "Backup Monitoring"),
            ],
            "priority": [
                _pv(4, "Critical", system=True),
                _pv(1, "High", system=True),
                _pv(2, "Medium", system=True, default=True),
                _pv(3, "Low", system=True),
                _pv(6, "Planned (retired)", active=False),
            ],
            "status": [
                _pv(1, "New", system=True, default=True),
                _pv(5, "Complete", system=True),
                _pv(7, "Waiting Customer"),
                _pv(8, "In Progress"),
                _pv(19, "Resolved - Awaiting Confirmation"),
                _pv(20, "Legacy Waiting", active=False),
            ],
            "ticketType": TICKET_TYPES,
            "ticketCategory": [_pv(3, "Standard", default=True), _pv(201, "Monitoring")],
            "issueType": [_pv(20, "Backup"), _pv(21, "Software")],
            "subIssueType": [_pv(201, "Backup job failed", parent="20"), _pv(211, "Licensing", parent="21")],
        },
        "TicketNotes": {
            "noteType": [
                _pv(2, "Service Desk Notification", system=True),
                _pv(3, "Task Notes", system=True, default=True),
                _pv(18, "Backup Alert Note"),
                _pv(19, "Old Note Type", active=False),
            ],
            "publish": [
                _pv(1, "All Autotask Users", system=True, default=True),
                _pv(2, "Internal Only", system=True),
            ],
        },
    },
}

# Resource roles valid for assignedResourceRoleID / roleID (there is no Roles entity in the simulator).
ROLES = {
    PRODUCTION.database_id: {29682861: "Technician", 29682862: "Engineer", 29682863: "Service Desk Lead"},
    SANDBOX.database_id: {29700301: "Technician", 29700302: "Engineer"},
}

UDF_DEFINITIONS = {
    "Companies": [
        {"name": "CustomerRanking", "label": "Customer Ranking", "type": "string", "isPickList": False},
        {"name": "BackupSLA", "label": "Backup SLA", "type": "string", "isPickList": False},
    ],
    "Tickets": [
        {
            "name": "BackupchecksRunKey",
            "label": "Backupchecks Run Key",
            "type": "string",
            "isPickList": False,
        },
    ],
}

_FIRST = [
    "Adler",
    "Arden",
    "Ashford",
    "Bakker",
    "Barlow",
    "Beaumont",
    "Bellamy",
    "Blackwood",
    "Brandt",
    "Calloway",
    "Carver",
    "Castell",
    "Colton",
    "Dekker",
    "Delgado",
    "Draper",
    "Ellison",
    "Everett",
    "Fairfax",
    "Falk",
    "Fenwick",
    "Garrison",
    "Greaves",
    "Hale",
    "Halvorsen",
    "Harland",
    "Hartwell",
    "Hayward",
    "Holloway",
    "Ingram",
    "Jansen",
    "Kessler",
    "Kingsley",
    "Lambert",
    "Larsen",
    "Lockhart",
    "Maddox",
    "Marlowe",
    "Mercer",
    "Merritt",
    "Norrell",
    "Oakley",
    "Osborne",
    "Pemberton",
    "Quinlan",
    "Radcliffe",
    "Redfern",
    "Rowan",
    "Sanderson",
    "Sinclair",
    "Stratton",
    "Sutter",
    "Thornbury",
    "Tolland",
    "Vance",
    "Verhoeven",
    "Wakefield",
    "Whitmore",
    "Winslow",
    "Yardley",
]
_SECOND = [
    "Logistics",
    "Dental",
    "Legal",
    "Accountancy",
    "Architects",
    "Engineering",
    "Bakeries",
    "Pharmacy",
    "Veterinary",
    "Motors",
    "Construction",
    "Realty",
    "Insurance",
    "Consulting",
    "Foods",
    "Printing",
    "Optics",
    "Clinic",
    "Hotels",
    "Freight",
    "Textiles",
    "Surveyors",
    "Marine",
    "Electrical",
    "Plumbing",
    "Nurseries",
    "Brewing",
    "Media",
    "Labs",
    "Robotics",
    "Orthopaedics",
    "Travel",
    "Security",
    "Solar",
    "Packaging",
    "Recruitment",
    "Furniture",
    "Catering",
    "Audio",
    "Fitness",
]
_SUFFIX = ("B.V.", "Ltd", "LLC", "Inc.", "GmbH", "& Partners", "Group", "Co.", "Holdings", "")
_CITIES = [
    "Amsterdam",
    "Utrecht",
    "Rotterdam",
    "Leeds",
    "Bristol",
    "Denver",
    "Austin",
    "Portland",
    "Hamburg",
    "Cologne",
    "Ghent",
    "Dublin",
    "Manchester",
    "Boston",
    "Seattle",
    "Eindhoven",
    "Antwerp",
    "Bremen",
]

PRODUCTION_COMPANY_COUNT = 1260
SANDBOX_COMPANY_COUNT = 42

RESOURCE_NAMES = (
    ("Sam", "Jansen", "Technician"),
    ("Alex", "Mercer", "Engineer"),
    ("Robin", "de Vries", "Service Desk Lead"),
    ("Kim", "Okafor", "Technician"),
    ("Jo", "Whitmore", "Former Engineer"),
)


def iso(dt):
    """Autotask's datetime format: ISO-8601 UTC with milliseconds and a Z."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def _company_names(rng, count):
    names, seen = [], set()
    while len(names) < count:
        name = f"{rng.choice(_FIRST)} {rng.choice(_SECOND)} {rng.choice(_SUFFIX)}".strip()
        if name.lower() in seen:
            continue
        seen.add(name.lower())
        names.append(name)
    return names


def seed_tenant(tenant, seed, now):
    """Return the initial data of one tenant as plain JSON-able dicts keyed by entity name and id."""
    rng = random.Random(f"{seed}-{tenant.key}")
    base = 0 if tenant is PRODUCTION else 1
    res_base = 29682880 if tenant is PRODUCTION else 29700400
    roles = sorted(ROLES[tenant.database_id])
    resources = {}
    for i, (first, last, title) in enumerate(RESOURCE_NAMES):
        rid = res_base + i
        email_last = last.lower().replace(" ", "")
        resources[rid] = {
            "id": rid,
            "firstName": first,
            "lastName": last,
            "email": f"{first.lower()}.{email_last}@backupchecks-demo.example",
            "userName": f"{first[0].lower()}{email_last}"[:32],
            "isActive": i != len(RESOURCE_NAMES) - 1,
            "resourceType": "Employee",
            "userType": 1,
            "title": title,
            "defaultServiceDeskRoleID": roles[i % len(roles)],
        }
    owner = res_base
    created = now - timedelta(days=900)
    count = PRODUCTION_COMPANY_COUNT if tenant is PRODUCTION else SANDBOX_COMPANY_COUNT
    companies = {
        0: _company(0, tenant.name.split(" (")[0], 8, True, owner, rng, created),
    }
    next_id = 174 + base * 1000
    for i, name in enumerate(_company_names(rng, count)):
        roll = rng.random()
        ctype = 1 if roll < 0.85 else (3 if roll < 0.93 else 7)
        active = rng.random() > 0.06
        companies[next_id] = _company(next_id, name, ctype, active, owner, rng, created + timedelta(hours=i))
        if i % 7 == 0:
            companies[next_id]["userDefinedFields"] = [
                {"name": "CustomerRanking", "value": rng.choice("ABC")}
            ]
        next_id += rng.randint(1, 3)

    picklists = PICKLISTS[tenant.database_id]["Tickets"]
    queue = next(v["value"] for v in picklists["queueID"] if v["isDefaultValue"])
    customers = [c for c in companies.values() if c["isActive"] and c["companyType"] == 1 and c["id"]]
    tickets, notes = {}, {}
    ticket_id = 128900 if tenant is PRODUCTION else 7700
    note_id = 318000 if tenant is PRODUCTION else 4100
    sequences = {}
    for i in range(6):
        created_at = now - timedelta(days=12 - i * 2, hours=3)
        day = created_at.strftime("%Y%m%d")
        sequences[day] = sequences.get(day, 0) + 1
        status = 5 if i < 2 else 1
        tickets[ticket_id] = {
            "id": ticket_id,
            "ticketNumber": f"T{day}.{sequences[day]:04d}",
            "title": f"Seeded ticket {i + 1}: printer offline",
            "description": "Seed data of the Autotask simulator.",
            "status": status,
            "priority": 2,
            "queueID": queue,
            "companyID": customers[i]["id"],
            "source": 1,
            "ticketType": 1,
            "createDate": iso(created_at),
            "lastActivityDate": iso(created_at + timedelta(hours=1)),
            "completedDate": iso(created_at + timedelta(hours=1)) if status == 5 else None,
            "externalID": "",
            "creatorResourceID": owner,
            "userDefinedFields": [],
        }
        notes[note_id] = {
            "id": note_id,
            "ticketID": ticket_id,
            "title": "First response",
            "description": "We are looking into it.",
            "noteType": 3,
            "publish": 1,
            "createDateTime": iso(created_at + timedelta(minutes=30)),
            "creatorResourceID": owner,
            "lastActivityDate": iso(created_at + timedelta(minutes=30)),
        }
        ticket_id += 1
        note_id += 1
    return {
        "Companies": companies,
        "Tickets": tickets,
        "TicketNotes": notes,
        "TimeEntries": {},
        "Resources": resources,
        "next_ids": {
            "Companies": next_id + 10,
            "Tickets": ticket_id,
            "TicketNotes": note_id,
            "TimeEntries": 52000 if tenant is PRODUCTION else 900,
        },
        "ticket_sequences": sequences,
    }


def _company(cid, name, ctype, active, owner, rng, created):
    return {
        "id": cid,
        "companyName": name,
        "companyNumber": f"C{cid:06d}",
        "companyType": ctype,
        "isActive": active,
        "phone": f"+31 20 {rng.randint(100, 999)} {rng.randint(1000, 9999)}",
        "fax": None,
        "address1": f"{rng.randint(1, 250)} {rng.choice(_FIRST)} Street",
        "address2": None,
        "city": rng.choice(_CITIES),
        "state": None,
        "postalCode": f"{rng.randint(1000, 9999)} AB",
        "countryID": 150,
        "webAddress": None,
        "ownerResourceID": owner,
        "parentCompanyID": None,
        "createDate": iso(created),
        "createdByResourceID": owner,
        "lastActivityDate": iso(created),
        "impersonatorCreatorResourceID": None,
        "userDefinedFields": [],
    }


def now_utc():
    return datetime.now(UTC)
