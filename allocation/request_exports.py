"""The emergency demand list (紧急物品需求清单, issue 15), declared on the one exporter base
(supplycoord/exports.py): the open lines of emergency requests the reader may see, one row per
line, soonest needed first. `urgency=urgent` adds the urgent requests.

A line is open while it awaits triage or while what was accepted is not all dispatched
(allocation/request_selectors.py); "still open" is the quantity asked for a line awaiting
triage, accepted − dispatched for an accepted one. Every text cell, the justification and the
reason included, goes through the base's `formula_safe`.
"""

import datetime as dt

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from supplycoord import permissions
from supplycoord.exports import CHUNK, DATE, DATETIME, INT, TEXT, Column, Exporter, local_naive
from supplycoord.lib.dates import local_today

from .models import ACCEPTED_DECISIONS, LineDecision, RequestUrgency, SupplyRequest
from .models import SupplyRequestLine as Line
from .request_selectors import line_progress, open_request_line_ids_q


def still_open(line, progress) -> int:
    if line.decision == LineDecision.PENDING:
        return line.quantity
    if line.decision in ACCEPTED_DECISIONS:
        return max(0, line.accepted_quantity - progress.dispatched)
    return 0


class EmergencyDemandListExport(Exporter):
    """`params`: urgency ("" or "emergency": emergency requests; "urgent": emergency and
    urgent). Anything else is an invalid export (a 400 naming it)."""

    read_rule = staticmethod(permissions.can_read_requests)

    title = gettext_lazy("Emergency demand list")

    def __init__(self, user, params=None, *, today: dt.date | None = None):
        super().__init__(user, params)
        self.today = today or local_today()
        urgency = (self.params.get("urgency") or "").strip()
        self.problem = ""
        if urgency not in ("", RequestUrgency.EMERGENCY, RequestUrgency.URGENT):
            self.problem = _("Urgency: choose emergency, or urgent to add the urgent requests.")
        self.urgencies = [RequestUrgency.EMERGENCY]
        if urgency == RequestUrgency.URGENT:
            self.urgencies.append(RequestUrgency.URGENT)

    @property
    def valid(self) -> bool:
        return not self.problem

    def error_text(self) -> str:
        return self.problem

    def _lines(self):
        requests = permissions.scope_requests(self.user, SupplyRequest.objects.all())
        return Line.objects.filter(
            request__in=requests.values("pk"),
            request__urgency__in=self.urgencies,
            pk__in=open_request_line_ids_q(),
        )

    def count(self) -> int:
        return self._lines().count()

    def columns(self):
        return [
            Column("number", _("Request number"), TEXT, width=14),
            Column("claimant", _("Claimant"), TEXT, width=24),
            Column("kind", _("Kind"), TEXT, width=14),
            Column("item", _("Item"), TEXT, width=24),
            Column("unit", _("Unit"), TEXT, width=6),
            Column("asked", _("Quantity asked"), INT, width=12),
            Column("accepted", _("Quantity accepted"), INT, width=12),
            Column("in_batches", _("In batches"), INT, width=12),
            Column("dispatched", _("Dispatched"), INT, width=12),
            Column("still_open", _("Still open"), INT, width=12),
            Column("needed_by", _("Needed by"), DATE, width=12),
            Column("submitted_at", _("Submitted at"), DATETIME, width=17),
            Column("justification", _("Justification"), TEXT, width=36),
            Column("decision_reason", _("Decision reason"), TEXT, width=28),
        ]

    def filters_text(self) -> str:
        if RequestUrgency.URGENT in self.urgencies:
            words = _("Open lines of emergency and urgent requests")
        else:
            words = _("Open lines of emergency requests")
        return "; ".join([words, _("as of %(date)s") % {"date": self.today.isoformat()}])

    def filename_parts(self):
        return [self.today.isoformat()]

    def rows(self):
        lines = (
            self._lines()
            .select_related("request__claimant", "item")
            .order_by("request__needed_by", "request__submitted_at", "request__number", "pk")
        )
        chunk = []
        for line in lines.iterator(chunk_size=CHUNK):
            chunk.append(line)
            if len(chunk) == CHUNK:
                yield from self._rows(chunk)
                chunk = []
        yield from self._rows(chunk)

    def _rows(self, lines):
        progress = line_progress(line.pk for line in lines)
        for line in lines:
            done = progress[line.pk]
            request = line.request
            yield {
                "number": request.number,
                "claimant": request.claimant.name,
                "kind": str(request.claimant.get_kind_display()),
                "item": line.item.name,
                "unit": str(line.item.get_unit_display()),
                "asked": line.quantity,
                "accepted": line.accepted_quantity
                if line.decision != LineDecision.PENDING
                else None,
                "in_batches": done.in_batches,
                "dispatched": done.dispatched,
                "still_open": still_open(line, done),
                "needed_by": request.needed_by,
                "submitted_at": local_naive(request.submitted_at),
                "justification": request.justification,
                "decision_reason": line.decision_reason,
            }
