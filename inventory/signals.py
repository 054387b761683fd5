from django.dispatch import Signal

# Sent inside the writer's transaction, just before it commits, when daily figures were
# created or changed, with `dates` (a set of dates). The reports app listens: it records the
# snapshots those figures feed as stale (its outbox, in the same transaction) and rebuilds them
# after the commit. Inventory does not know reports exists (dependencies point one way).
# Listeners write only what must commit with the change; side effects go to on_commit.
daily_figures_changed = Signal()

# Sent inside the transaction when reserve-ledger events were posted, with `dates` (the
# local dates the events happened on). Reserve stock at the end of a day is every event up to
# it, so the province rollups of those dates and every later built date change.
stock_changed = Signal()
