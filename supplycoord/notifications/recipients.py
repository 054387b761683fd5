"""Who an event is for, said by role and place (core notions), resolved after commit.

Each function returns a condition on users; `notify(recipients=[...])` takes several and
tells the active users matching any of them, minus those the event's scope leaves out
(supplycoord.permissions.scope_recipients). The app raising the event passes ids, never
rows of its own: the core knows no app.
"""

from django.db.models import Q

from ..models import Role


def office() -> Q:
    """Office staff (保障组工作人员)."""
    return Q(role=Role.OFFICE_STAFF)


def leadership() -> Q:
    """The leadership group (领导小组)."""
    return Q(role=Role.LEADERSHIP)


def prefecture_officers(prefecture_id: int) -> Q:
    return Q(role=Role.PREFECTURE_OFFICER, prefecture_id=prefecture_id)


def prefecture_leads(prefecture_id: int) -> Q:
    return Q(role=Role.PREFECTURE_LEAD, prefecture_id=prefecture_id)


def county_officers(county_id: int) -> Q:
    return Q(role=Role.COUNTY_OFFICER, county_id=county_id)


def users(ids) -> Q:
    """These users, by id (a request's submitter and requesters, a producer's commissioners)."""
    return Q(pk__in=sorted({int(pk) for pk in ids if pk is not None}))
