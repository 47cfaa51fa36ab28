"""The demo's company mappings (`manage.py autotask_demo_setup`, run by `make run`): every status at once.

Demo only: a person would choose each mapping; here the demo set-up chooses for them. With the seeded
demo customers (alphabetical) it maps all but the last one to active companies of the simulator's Sandbox
tenant (first giving each chosen company its customer's name through the simulator's control API), then
uses the control API to rename the 2nd customer's company, deactivate the 3rd's
and delete the 4th's, stores the 5th's mapping for another database id, and runs a check — so the
customer pages show ok, renamed, inactive, missing, invalid and one unmapped customer.

Runs once: nothing happens when any Sandbox mapping exists (or there are fewer than two demo customers).
The control API is only ever called on a loopback simulator (or the in-process one in tests).
"""

from urllib.parse import urlsplit

import httpx
from django.conf import settings as django_settings

from customers.models import Customer
from integrations.autotask.models import AutotaskSettings, CompanyMapping
from integrations.autotask.services import connection
from integrations.autotask.services import mapping as mapping_service

#: the demo's "stored for another Autotask database" mapping points at this database id
OTHER_DATABASE_ID = 29600001
RENAMED_SUFFIX = " Holding"  # the company the demo renames in Autotask gets this suffix


def _control_client():
    """An httpx client for the simulator's control API, or None when it is not a local simulator."""
    zone_url = getattr(django_settings, "AUTOTASK_ZONE_INFO_URL", "") or ""
    parts = urlsplit(zone_url)
    transport = connection.configured_transport()
    if transport is None and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        return None  # never send control calls to a real Autotask
    return httpx.Client(base_url=f"{parts.scheme}://{parts.netloc}", transport=transport, timeout=10.0)


def map_demo_customers():
    """Create the demo mappings (see the module docstring). Returns a one-line description, or ""."""
    from runs.demo import DEMO_NOTE

    settings = AutotaskSettings.load()
    if settings.environment != "sandbox" or mapping_service.mapping_problems(settings):
        return ""
    if CompanyMapping.objects.filter(environment="sandbox").exists():
        return ""
    customers = list(Customer.objects.filter(notes=DEMO_NOTE).order_by("name"))
    if len(customers) < 2:
        return ""
    env_config = settings.active_environment()
    to_map = customers[:-1]
    with connection.build_client(connection.credentials_for(env_config)) as client:
        companies = list(
            client.query(
                "Companies",
                [
                    {"op": "eq", "field": "isActive", "value": True},
                    {"op": "eq", "field": "companyType", "value": 1},
                ],
                include_fields=["id", "companyName"],
                max_records=len(to_map),
            )
        )
    control = _control_client()
    if control is not None:
        # The demo tenant's companies have other names than the demo customers; give each chosen company
        # its customer's name first, so that a mapping (and a ticket's company) reads as a person would
        # have chosen it.
        with control:
            for customer, company in zip(to_map, companies, strict=False):
                response = control.post(
                    f"/_simulator/tenants/{env_config.database_id}/companies/{company['id']}/rename",
                    json={"name": customer.name},
                )
                response.raise_for_status()
        control = _control_client()
    for customer, company in zip(to_map, companies, strict=False):
        mapping_service.map_customer(customer, int(company["id"]))
    mapped = list(CompanyMapping.objects.filter(environment="sandbox").order_by("customer__name"))
    if control is not None:
        with control:
            db = env_config.database_id
            for mapping, action in zip(mapped[1:4], ("rename", "deactivate", "delete"), strict=False):
                body = {"name": mapping.company_name + RENAMED_SUFFIX} if action == "rename" else {}
                response = control.post(
                    f"/_simulator/tenants/{db}/companies/{mapping.company_id}/{action}", json=body
                )
                response.raise_for_status()
    if len(mapped) >= 5:
        CompanyMapping.objects.filter(pk=mapped[4].pk).update(database_id=OTHER_DATABASE_ID)
    result = mapping_service.check_mappings()
    unmapped = len(customers) - len(mapped)
    return (
        f"Autotask demo: mapped {len(mapped)} demo customers ({unmapped} left unmapped): "
        f"{result.summary_line()}."
    )
