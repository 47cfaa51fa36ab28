"""What the integration adds to core pages through the template slots (backupchecks/extensions.py).

One extension class per capability. Every slot renders from the database only — never an Autotask call —
and list slots bulk-load in `prepare_<slot>` so a page's SQL query count does not grow with its rows.
"""

from backupchecks.extensions import TemplateExtension, register


class MappingExtension(TemplateExtension):
    """Phase 3: the customer's company-mapping badge."""

    name = "Autotask company mapping"


class TicketExtension(TemplateExtension):
    """Phase 4: a run's ticket (number, link, state) and the Create Autotask ticket action."""

    name = "Autotask tickets"


class ResolutionExtension(TemplateExtension):
    """Phase 5: the Resolve ticket action and the outcome of a resolution."""

    name = "Autotask ticket resolution"


class LinkingExtension(TemplateExtension):
    """Phase 6: link an existing ticket, the manual-number fallback, the run's Autotask timeline."""

    name = "Autotask ticket linking"


EXTENSIONS = (MappingExtension, TicketExtension, ResolutionExtension, LinkingExtension)


def register_all():
    for extension_class in EXTENSIONS:
        register(extension_class)
