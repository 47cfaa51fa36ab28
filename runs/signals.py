"""Public signals of the runs app. Integrations connect receivers; core never imports them.

Both are sent from `transaction.on_commit`, so a receiver sees committed data and a rolled-back
change sends nothing.
"""

from django.dispatch import Signal

# Sent once for each run that ingestion (API or import command) creates — not for re-posted duplicates,
# not for a dry run, and not for runs made by `seed_demo` (history, not new arrivals).
# kwargs: sender=Run, run=<Run> (job and customer loaded), source="api" | "import"
run_recorded = Signal()

# Sent when operators mark runs reviewed or un-reviewed (one send per action, however many runs), with
# only the runs whose state changed; not sent when nothing changed.
# kwargs: sender=Run, runs=<list[Run]> (job and customer loaded), user=<User>, reviewed=<bool>
run_reviewed = Signal()

# Both are sent with `send_robust()`: a receiver that raises is logged and does not stop the others.
