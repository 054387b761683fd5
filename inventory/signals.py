from django.dispatch import Signal

# Sent after commit when daily figures were created or changed, with `dates` (a set of
# dates). The reports app listens and rebuilds the snapshots those figures feed; inventory
# does not know reports exists (dependencies point one way).
daily_figures_changed = Signal()

# Sent after commit when reserve-ledger events were posted, with `dates` (the local dates the
# events happened on). Reserve stock at the end of a day is every event up to it, so the
# province rollups of those dates and every later built date change.
stock_changed = Signal()
