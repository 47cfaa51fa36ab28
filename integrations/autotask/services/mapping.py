"""Phase 3: customer ↔ Autotask company mapping (by company id; the name is only a cached label).

Public API (fixed): search_companies, map_customer, unmap_customer, mapping_for, check_mappings.
"""

from integrations.autotask.models import AutotaskSettings, CompanyMapping


def mapping_for(customer):
    """The customer's CompanyMapping in the active environment, or None (unmapped). No API call.

    The mapping may be unusable (status inactive/missing/invalid, or stored for another database id than
    the active tenant's): callers that act on it check `mapping.is_usable` and the database id.
    """
    environment = AutotaskSettings.load().environment
    return CompanyMapping.objects.filter(customer=customer, environment=environment).first()
