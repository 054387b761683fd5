from django.dispatch import Signal

# Sent after commit when daily figures were created or changed, with `dates` (a set of
# dates). The reports app listens and rebuilds the snapshots those figures feed; inventory
# does not know reports exists (dependencies point one way).
daily_figures_changed = Signal()
