"""The main nav's badge of requests awaiting triage (the office's work queue): one query."""

from django import template

from supplycoord.permissions import can_triage_requests

from ..models import LineDecision, SupplyRequestLine

register = template.Library()


@register.simple_tag(takes_context=True)
def requests_awaiting_triage(context) -> int:
    """How many requests have a line the office has not decided; 0 (no query) for others."""
    user = context.get("user")
    if not can_triage_requests(user):
        return 0
    return (
        SupplyRequestLine.objects.filter(decision=LineDecision.PENDING)
        .values("request_id")
        .distinct()
        .count()
    )
