"""Phase 3: company search and mapping pages."""

urlpatterns = []
