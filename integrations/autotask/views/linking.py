"""Phase 6: linking existing tickets, the manual-number fallback, the run's timeline."""

urlpatterns = []
