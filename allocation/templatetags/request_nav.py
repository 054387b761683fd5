"""The main nav's badge of requests awaiting triage (the triager's work queue): one query."""

from django import template

from supplycoord.permissions import can_triage_requests, scope_requests_to_triage

from ..models import LineDecision, SupplyRequest, SupplyRequestLine

register = template.Library()


@register.simple_tag(takes_context=True)
def requests_awaiting_triage(context) -> int:
    """How many requests the user decides on (the office: every one; a prefecture officer: its
    counties', `scope_requests_to_triage`) have a line not decided yet; 0 (no query) for
    those who triage nothing."""
    user = context.get("user")
    if not can_triage_requests(user):
        return 0
    return (
        SupplyRequestLine.objects.filter(
            decision=LineDecision.PENDING,
            request__in=scope_requests_to_triage(user, SupplyRequest.objects.all()).values("pk"),
        )
        .values("request_id")
        .distinct()
        .count()
    )
