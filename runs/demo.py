"""Demo data: realistic, deterministic customers, backup jobs and nightly runs, plus the three demo users.

Used by `manage.py seed_demo` and by `benchmarks/run.py`; tests call it directly.

Deterministic: the same arguments (and seed) always give the same customer and job names, the same
status of every run and the same texts. Only the dates move: the history always ends *last night*
relative to `now`, so the demo looks current whenever it is seeded. Passwords of the demo users are
the one deliberately random part (`secrets`), never derived from the seed.

Seeding uses `bulk_create` in batches and does **not** send `runs.signals.run_recorded`: 100,000
seeded runs would mean 100,000 signals (and, with the Autotask app, as many ticket decisions). Seeded
runs are history, not new arrivals.
"""

import os
import random
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from customers.models import Customer
from runs.models import BackupJob, Run, RunStatus
from runs.roles import ADMIN, OPERATOR, VIEWER

DEFAULT_SEED = 20240601
DEFAULT_CUSTOMERS = 12
DEFAULT_JOBS_PER_CUSTOMER = 3
DEFAULT_DAYS = 30
#: attention runs (warning/error/missed) that started within this many nights stay unreviewed
UNREVIEWED_NIGHTS = 3
#: marks seeded customers, so `seed_demo --reset` removes only what the seed made
DEMO_NOTE = "Demo customer created by manage.py seed_demo."
#: prefix of every seeded run's source_external_id
DEMO_SOURCE_PREFIX = "demo-"

#: (username, group, is_staff, is_superuser)
DEMO_USERS = (
    ("admin", ADMIN, True, True),
    ("operator", OPERATOR, False, False),
    ("viewer", VIEWER, False, False),
)

# Realistic first customers (the default demo shows exactly these), then generated combinations.
_CURATED_CUSTOMERS = (
    "Van der Berg Accountants",
    "Northwind Dental Group",
    "Harbor Logistics B.V.",
    "Greenfield Veterinary Clinic",
    "De Vries Installatietechniek",
    "Summit Legal Partners",
    "Bakker & Zonen Bouw",
    "Lakeside Medical Centre",
    "Oak Street Architects",
    "Polder Agri Supplies",
    "Brightline Insurance Brokers",
    "Maple Leaf Primary School",
    "Riverside Property Management",
    "Janssen Transport",
    "Atlas Engineering Ltd",
    "St. Anna Care Home",
)
_NAME_FIRST = (
    "Alder", "Meijer", "Blue Harbor", "Cedar", "Dijkstra", "Eastgate", "Falcon", "Granite", "Hendriks",
    "Ironwood", "Kingsley", "Linden", "Mulder", "Northstar", "Oosterhout", "Pinecrest", "Quayside",
    "Redwood", "Smit", "Tulip", "Uniq", "Visser", "Westbrook", "Zuidhoek", "Bos", "Clearwater",
    "Driftwood", "Evergreen", "Fjord", "Goudsmit", "Hilltop", "Jansen", "Kerkhof", "Lighthouse",
    "Moorland", "Noord", "Orchard", "Prins", "Rijnland", "Silverline",
)  # fmt: skip
_NAME_TRADE = (
    "Accountants", "Dental", "Logistics", "Legal", "Architects", "Bouw", "Medical", "Engineering",
    "Insurance", "Makelaars", "Transport", "Veterinary", "Notarissen", "Consultancy", "Printing",
    "Hospitality", "Retail", "Facility Services", "Foods", "Pharmacy", "Tax Advisors", "Automotive",
    "Installations", "Recruitment", "Media", "Care", "Education Trust", "Marine", "Metaalbewerking",
    "Garden Centres",
)  # fmt: skip
_NAME_FORM = ("", " B.V.", " Ltd", " Group", " & Partners")

# (backup_software, job_type, job name, schedule hour, schedule minute, typical duration in minutes)
_JOB_TEMPLATES = (
    ("Veeam Backup & Replication", "VM image", "Backup Job - Hyper-V hosts", 22, 0, 95),
    ("Veeam Backup & Replication", "Backup copy", "Backup Copy - offsite repository", 23, 30, 140),
    ("Veeam Agent for Windows", "Server image", "Agent Backup - FS01", 21, 0, 55),
    ("Veeam Backup for Microsoft 365", "Microsoft 365", "M365 - Exchange and OneDrive", 20, 0, 70),
    ("Synology Hyper Backup", "File", "HyperBackup - NAS to C2 Storage", 1, 0, 45),
    ("Synology Active Backup for Business", "PC image", "ABB - Workstations", 19, 30, 60),
    ("NAKIVO Backup & Replication", "VM image", "NAKIVO - VMware cluster", 22, 30, 110),
    ("NAKIVO Backup & Replication", "Microsoft 365", "NAKIVO - M365 mailboxes", 2, 0, 50),
    ("Acronis Cyber Protect", "Server image", "Acronis - SQL01 entire machine", 23, 0, 80),
    ("Acronis Cyber Protect", "Files/folders", "Acronis - Finance share", 20, 30, 25),
    ("Datto SIRIS", "Image", "SIRIS - DC01 agent", 0, 0, 35),
    ("Windows Server Backup", "System state", "WSB - DC02 system state", 21, 30, 20),
)

#: the most jobs one customer can get (each from a different template)
MAX_JOBS_PER_CUSTOMER = len(_JOB_TEMPLATES)

_WARNING_TEXTS = (
    ("Job finished with warning: 1 of {n} VMs processed with warnings",
     "Changed block tracking was reset for {host}; a full read was performed.\n"
     "Processing {host}: warning — guest processing skipped (VMware Tools not running)."),
    ("Completed with warnings: {n} files skipped (in use)",
     "{n} files could not be read because they were locked by another process.\n"
     "Example: D:\\Shares\\Finance\\Ledger.xlsx (sharing violation)."),
    ("Backup completed, but the repository is {pct}% full",
     "Free space on the backup repository is below the warning threshold.\n"
     "Repository: {repo}; free: {free} GB."),
    ("Retention could not remove {n} old restore points",
     "Retention processing failed for {n} restore points (file locked by antivirus scan).\n"
     "They will be retried at the next run."),
)  # fmt: skip
_ERROR_TEXTS = (
    ("Job failed: the backup target is unreachable",
     "Failed to connect to {repo}: the network path was not found (0x80070035).\n"
     "Job retried 3 times; all attempts failed."),
    ("Failed: not enough free space on the target",
     "Write to {repo} failed: there is not enough space on the disk.\n"
     "Required: {need} GB; available: {free} GB."),
    ("Error: VSS snapshot creation failed on {host}",
     "Failed to create the VSS snapshot: VSS_E_UNEXPECTED_PROVIDER_ERROR.\n"
     "Writer 'SqlServerWriter' is in a failed state. Restarting the SQL VSS writer usually helps."),
    ("Authentication failed for the cloud repository",
     "The storage provider rejected the credentials (HTTP 403).\n"
     "The access key may have expired or been rotated."),
    ("Job failed: {n} of {m} items could not be processed",
     "Processing {host} failed: timeout waiting for the guest to respond (600 s).\n"
     "Other items completed successfully."),
)  # fmt: skip
_SUCCESS_TEXTS = (
    "Backup completed successfully ({size} GB transferred)",
    "Job completed successfully: {m} of {m} items processed",
    "Success — {size} GB processed, dedupe ratio {ratio}x",
)
_MISSED_SUMMARY = "No result received: the job did not report within its schedule window"
_MISSED_DETAILS = (
    "Expected a result for the scheduled run; nothing arrived. Check that the job and its mailer still run."
)
_HOSTS = ("DC01", "FS01", "SQL01", "APP01", "RDS01", "EXCH01", "HV01", "HV02", "ESX01", "PRINT01")
_REPOS = (
    "\\\\NAS01\\Backup",
    "Wasabi eu-central-1",
    "Synology C2 Storage",
    "ReFS repository E:\\",
    "S3 backup-offsite",
)

# (success, warning, error, missed) weights; most jobs are healthy, a few are troublesome.
_PROFILES = (
    (70, (93, 4, 2, 1)),
    (20, (72, 15, 9, 4)),
    (10, (55, 20, 20, 5)),
)
_STATUSES = (RunStatus.SUCCESS, RunStatus.WARNING, RunStatus.ERROR, RunStatus.MISSED)


@dataclass
class SeedResult:
    customers: int = 0
    jobs: int = 0
    runs: int = 0
    #: username -> password, only for users created or reset by this call
    logins: dict[str, str] = field(default_factory=dict)


def demo_exists():
    """True when a seed already ran (a demo customer exists)."""
    return Customer.objects.filter(notes=DEMO_NOTE).exists()


def customer_names(count, rng):
    """`count` unique, MSP-like customer names; the curated ones first."""
    names = list(_CURATED_CUSTOMERS[:count])
    combos = [f"{a} {b}{c}" for a in _NAME_FIRST for b in _NAME_TRADE for c in _NAME_FORM]
    rng.shuffle(combos)
    taken = set(names)
    for combo in combos:
        if len(names) >= count:
            break
        if combo not in taken:
            taken.add(combo)
            names.append(combo)
    serial = 2
    while len(names) < count:  # beyond ~6,000 customers: numbered branches
        names.append(f"{combos[len(names) % len(combos)]} (vestiging {serial})")
        serial += 1
    return names[:count]


def _texts(rng, status, software):
    values = {
        "n": rng.randint(1, 9),
        "m": rng.randint(10, 40),
        "pct": rng.randint(86, 97),
        "free": rng.randint(3, 60),
        "need": rng.randint(70, 400),
        "size": round(rng.uniform(2, 480), 1),
        "ratio": round(rng.uniform(1.4, 4.8), 1),
        "host": rng.choice(_HOSTS),
        "repo": rng.choice(_REPOS),
    }
    if status == RunStatus.SUCCESS:
        summary = rng.choice(_SUCCESS_TEXTS).format(**values)
        details = f"{software}: all items processed.\n{summary}."
    elif status == RunStatus.WARNING:
        summary, details = (t.format(**values) for t in rng.choice(_WARNING_TEXTS))
    elif status == RunStatus.ERROR:
        summary, details = (t.format(**values) for t in rng.choice(_ERROR_TEXTS))
    else:
        summary, details = _MISSED_SUMMARY, _MISSED_DETAILS
    return summary, details


def _weighted(rng, table):
    return rng.choices([item for _, item in table], weights=[w for w, _ in table])[0]


def create_demo_users():
    """Create or reset `admin`, `operator` and `viewer` with fresh random passwords.

    Returns {username: password}. The role groups come from the roles migration.
    """
    user_model = get_user_model()
    logins = {}
    for username, group_name, is_staff, is_superuser in DEMO_USERS:
        user, _ = user_model.objects.get_or_create(username=username)
        password = secrets.token_urlsafe(12)
        user.set_password(password)
        user.is_staff = is_staff
        user.is_superuser = is_superuser
        user.is_active = True
        user.save()
        user.groups.set([Group.objects.get(name=group_name)])
        logins[username] = password
    return logins


def write_logins(path, logins):
    """Write the demo logins (one `username  password  role` line each), readable by the owner only."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    roles = {username: group for username, group, _, _ in DEMO_USERS}
    lines = [
        f"{username:<10} {password}  ({roles.get(username, '')})" for username, password in logins.items()
    ]
    # Created owner-only from the start (no moment where the umask leaves it readable by others).
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write("\n".join(lines) + "\n")
    path.chmod(0o600)  # an existing file keeps its old mode through os.open
    return path


def delete_demo_data():
    """Remove what a seed made (demo customers, their jobs and runs). Returns the number of customers."""
    customers = Customer.objects.filter(notes=DEMO_NOTE)
    with transaction.atomic():
        Run.objects.filter(job__customer__in=customers).delete()
        BackupJob.objects.filter(customer__in=customers).delete()
        count, _ = customers.delete()
    return count


def seed(
    customers=DEFAULT_CUSTOMERS,
    jobs_per_customer=DEFAULT_JOBS_PER_CUSTOMER,
    days=DEFAULT_DAYS,
    *,
    seed=DEFAULT_SEED,
    now=None,
    with_users=True,
    reviewer=None,
    batch_size=5000,
    progress=None,
):
    """Create the demo data in one transaction and return a `SeedResult`.

    `customers` × `jobs_per_customer` jobs, each with one run per night for `days` nights ending last
    night (relative to `now`, default: the current time). Attention runs older than
    `UNREVIEWED_NIGHTS` nights are marked reviewed by `reviewer` (default: the demo `admin`, if present).
    Customer names that already exist in the database are skipped in favour of the next generated name.
    `progress`, if given, is called with the number of runs written after each batch.
    Raises ValueError for nonsensical sizes. Sends no signals (see the module docstring).
    """
    if customers < 0 or jobs_per_customer < 0 or days < 0:
        raise ValueError("customers, jobs_per_customer and days must not be negative")
    if jobs_per_customer > MAX_JOBS_PER_CUSTOMER:
        raise ValueError(f"at most {MAX_JOBS_PER_CUSTOMER} jobs per customer")
    rng = random.Random(seed)
    now = now or timezone.now()
    result = SeedResult()

    with transaction.atomic():
        if with_users:
            result.logins = create_demo_users()
        if reviewer is None:
            reviewer = get_user_model().objects.filter(username="admin").first()

        existing = set(Customer.objects.values_list("name", flat=True))
        wanted = customer_names(customers + len(existing), rng)
        names = [name for name in wanted if name not in existing][:customers]
        customer_objs = Customer.objects.bulk_create(
            [Customer(name=name, notes=DEMO_NOTE) for name in names], batch_size=batch_size
        )
        result.customers = len(customer_objs)

        jobs, profiles = [], []
        for customer in customer_objs:
            for software, job_type, name, hour, minute, duration in rng.sample(
                _JOB_TEMPLATES, jobs_per_customer
            ):
                jobs.append(
                    BackupJob(
                        customer=customer,
                        name=name,
                        backup_software=software,
                        job_type=job_type,
                        schedule=f"daily {hour:02d}:{minute:02d}",
                    )
                )
                profiles.append((hour, minute, duration, _weighted(rng, _PROFILES)))
        jobs = BackupJob.objects.bulk_create(jobs, batch_size=batch_size)
        result.jobs = len(jobs)

        result.runs = _create_runs(rng, jobs, profiles, days, now, reviewer, batch_size, progress)
    return result


def _night_start(night, hour, minute, now):
    """The start of a run scheduled at hh:mm for the evening of `night` (after-midnight schedules: next day)."""
    start = datetime.combine(night, time(hour, minute), tzinfo=UTC)
    if hour < 12:
        start += timedelta(days=1)
    return start


def _create_runs(rng, jobs, profiles, days, now, reviewer, batch_size, progress):
    last_night = (now - timedelta(days=1)).date()
    unreviewed_from = last_night - timedelta(days=UNREVIEWED_NIGHTS - 1)
    total, batch = 0, []
    # The demo always shows a fresh error and warning to review: last night's runs of the first two jobs.
    forced_last_night = (RunStatus.ERROR, RunStatus.WARNING)
    for job_index, (job, (hour, minute, duration, weights)) in enumerate(zip(jobs, profiles, strict=True)):
        latest_night = last_night
        # an after-midnight schedule of last night may not have run yet: its history ends a night earlier
        if _night_start(last_night, hour, minute, now) > now:
            latest_night -= timedelta(days=1)
        for age in range(days - 1, -1, -1):
            night = latest_night - timedelta(days=age)
            status = rng.choices(_STATUSES, weights=weights)[0]
            if age == 0 and job_index < len(forced_last_night):
                status = forced_last_night[job_index]
            started = _night_start(night, hour, minute, now) + timedelta(minutes=rng.randint(0, 9))
            finished = None
            if status != RunStatus.MISSED:
                finished = min(
                    started + timedelta(minutes=max(3, int(rng.gauss(duration, duration / 5)))), now
                )
                finished = max(finished, started)
            summary, details = _texts(rng, status, job.backup_software)
            run = Run(
                job=job,
                started_at=started,
                finished_at=finished,
                status=status,
                summary=summary,
                details=details,
                source_external_id=f"{DEMO_SOURCE_PREFIX}{uuid.UUID(int=rng.getrandbits(128), version=4)}",
            )
            if status != RunStatus.SUCCESS and night < unreviewed_from:
                run.reviewed_by = reviewer
                run.reviewed_at = min((finished or started) + timedelta(hours=rng.randint(7, 30)), now)
                if status == RunStatus.ERROR and rng.random() < 0.4:
                    run.manual_ticket_number = f"T{run.reviewed_at:%Y%m%d}.{rng.randint(1, 999):04d}"
            batch.append(run)
            if len(batch) >= batch_size:
                total += _flush(batch, progress, total)
                batch = []
    if batch:
        total += _flush(batch, progress, total)
    return total


def _flush(batch, progress, done):
    Run.objects.bulk_create(batch)
    if progress:
        progress(done + len(batch))
    return len(batch)
