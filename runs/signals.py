"""Public signals of the runs app. Integrations connect receivers; core never imports them.

Both are sent from `transaction.on_commit`, so a receiver sees committed data and a rolled-back
change sends nothing.
"""

from django.dispatch import Signal

# Sent once for each run that ingestion (API or import command) creates — not for re-posted duplicates.
# kwargs: sender=Run, run=<Run>, source="api" | "import" | "seed"
run_recorded = Signal()

# Sent when operators mark runs reviewed or un-reviewed (one send per action, however many runs).
# kwargs: sender=Run, runs=<list[Run]>, user=<User>, reviewed=<bool>
run_reviewed = Signal()
