"""Phase 4: ticket preview and creation."""

urlpatterns = []
