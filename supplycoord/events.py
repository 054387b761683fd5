"""Changes an app makes that an app further right must react to, in the same transaction.

Dependencies point one way (style.md): inventory and allocation never import reports, yet the
snapshots reports builds go stale when daily figures, the reserve ledger or a batch change.
The writer calls the one function here that names its change (`daily_figures_changed`,
`stock_changed`, `batch_moved`), inside its transaction, with the local dates it touched. The
project's settings (`SUPPLYCOORD_EVENT_HANDLERS`) name, per event, the services that react:
one table, read in one place, instead of signals connected at start-up or readers registered
in a module global. The core knows no app; the settings are the composition root.

A handler runs inside the writer's transaction, so what it writes (the reports' rebuild
outbox) commits or rolls back with the change and survives a worker's death; it defers its
side effects (queued builds) to `transaction.on_commit`. A handler's error rolls the change
back: a change whose reaction cannot be recorded is not half made.
"""

from __future__ import annotations

import datetime as dt
import functools

from django.conf import settings
from django.utils.module_loading import import_string

# The events the core knows, and what each carries. A new event is one more name here, one
# function below and one entry in settings.SUPPLYCOORD_EVENT_HANDLERS.
EVENTS = (
    "daily_figures_changed",
    "stock_changed",
    "batch_moved",
    "protected_staff_changed",
    "inbound_changed",
)


@functools.cache
def _imported(paths: tuple[str, ...]) -> tuple:
    return tuple(import_string(path) for path in paths)


def _handlers(event: str) -> tuple:
    if event not in EVENTS:
        raise ValueError(f"unknown event {event!r}")
    # Keyed on the paths, not the event: a test overriding the settings gets its own handlers.
    return _imported(tuple(settings.SUPPLYCOORD_EVENT_HANDLERS.get(event, ())))


def _emit(event: str, dates) -> None:
    dates = frozenset(dates)
    if not dates:
        return
    for handler in _handlers(event):
        handler(dates=dates)


def daily_figures_changed(*, dates: set[dt.date]) -> None:
    """Daily figures of these dates were created or changed (a submission, an import)."""
    _emit("daily_figures_changed", dates)


def stock_changed(*, dates: set[dt.date]) -> None:
    """Reserve-ledger events happened on these dates: every later stock figure moves too."""
    _emit("stock_changed", dates)


def batch_moved(*, dates: set[dt.date]) -> None:
    """A dispatch batch left, was (partly) received or was closed on these dates: in-transit
    from each of them on changes."""
    _emit("batch_moved", dates)


def protected_staff_changed(*, dates: set[dt.date]) -> None:
    """Protected staff (保障人员数) changed on these dates (today's, as they are kept current):
    the per-person comparisons of the spot checks stored for recent dates rest on the old
    counts."""
    _emit("protected_staff_changed", dates)


def inbound_changed(*, dates: set[dt.date]) -> None:
    """What is coming changed as of these dates: an order placed, cancelled or closed, an
    allocation announced, an enterprise's purchase in transit reported (reports.md,
    "Inbound"). Arrivals are stock events and reach the reports through `stock_changed`."""
    _emit("inbound_changed", dates)
