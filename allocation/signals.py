from django.dispatch import Signal

# Sent inside the transaction when a dispatch batch left its warehouse, was (partly) received
# or was closed, with `dates` (the local dates it happened on). A prefecture's in-transit
# figure at the end of day d counts every batch dispatched by then and not received by then,
# so the snapshots of those dates and every later built date change. The reports app listens
# (its outbox row commits with the batch; the rebuild runs after the commit).
batch_moved = Signal()
