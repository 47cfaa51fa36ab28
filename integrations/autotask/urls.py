"""The integration's own pages (under /autotask/), one module of views per capability."""

from integrations.autotask.views import bulk, linking, mapping, resolution, tickets

app_name = "autotask"

urlpatterns = [
    *mapping.urlpatterns,
    *tickets.urlpatterns,
    *resolution.urlpatterns,
    *linking.urlpatterns,
    *bulk.urlpatterns,
]
