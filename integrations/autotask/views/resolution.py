"""Phase 5: resolving tickets."""

urlpatterns = []
