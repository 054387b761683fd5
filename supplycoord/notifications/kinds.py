"""The kinds of notification, and how one is worded in the reader's language.

A notification stores its kind and params, never text: `render` words it when it is shown
(in the page's language) or sent (in the recipient's, `User.language`). Params hold what
the words need, so rendering reads nothing from the database:

- numbers (ints are written with their thousands grouped), codes, ISO dates: as they are;
- names and labels as `translated(...)`: {"_t": {"zh-hans": "兰州市", "en": "Lanzhou"}}, taken
  when the event happened (a row's name_zh/name_en, or a translatable label in every
  language of settings.LANGUAGES);
- lists of the above, joined the language's way (、 or ", "), at most LIST_MAX shown.

Like supplycoord/events.py names the changes apps make, this table names the events apps
notify; the core imports no app. A new kind is one entry here (and its call site).
"""

from __future__ import annotations

import dataclasses
from contextlib import nullcontext

from django.conf import settings
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from ..lib.numbers import grouped
from ..models import Role

LIST_MAX = 10


@dataclasses.dataclass(frozen=True)
class Kind:
    code: str
    label: Promise
    # Who receives it, said on the preferences page.
    audience: Promise
    # The roles that may receive it: the preferences page offers it to them.
    roles: tuple[str, ...]
    title: Promise
    body: Promise
    # Another wording for params["variant"] (e.g. an order or a national allocation).
    variants: dict = dataclasses.field(default_factory=dict)


KINDS: dict[str, Kind] = {
    kind.code: kind
    for kind in (
        Kind(
            code="figures_missing",
            label=_("Daily figures missing before the cut-off"),
            audience=_("Officers whose figures for today are not complete"),
            roles=(Role.PREFECTURE_OFFICER, Role.COUNTY_OFFICER),
            title=_("%(place)s: figures for %(date)s not complete"),
            body=_(
                "Key items not reported yet for %(date)s: %(missing)s of %(expected)s "
                "(%(items)s). The cut-off is %(cutoff)s."
            ),
        ),
        Kind(
            code="batch_awaiting_approval",
            label=_("Batches awaiting approval"),
            audience=_(
                "Leadership for the province's batches, a prefecture's lead for the prefecture's"
            ),
            roles=(Role.LEADERSHIP, Role.PREFECTURE_LEAD),
            title=_("Batch %(batch)s awaits approval"),
            body=_(
                "Draft batch %(batch)s from %(source)s to %(destination)s awaits your "
                "approval (lines: %(lines)s)."
            ),
        ),
        Kind(
            code="request_emergency",
            label=_("New emergency requests"),
            audience=_("The office, and a prefecture's officers for its counties' requests"),
            roles=(Role.OFFICE_STAFF, Role.PREFECTURE_OFFICER),
            title=_("Emergency request %(request)s from %(claimant)s"),
            body=_("%(claimant)s needs by %(needed_by)s: %(items)s."),
        ),
        Kind(
            code="inbound_overdue",
            label=_("Overdue inbound"),
            audience=_("The office"),
            roles=(Role.OFFICE_STAFF,),
            title=_("Purchase order %(number)s is overdue"),
            body=_(
                "Purchase order %(number)s from %(supplier)s was expected by %(expected)s and "
                "has not all arrived (overdue lines: %(lines)s)."
            ),
            variants={
                "national": (
                    _("National allocation %(number)s is overdue"),
                    _(
                        "National allocation %(number)s (%(item)s, %(outstanding)s %(unit)s "
                        "outstanding) was expected by %(expected)s and has not arrived."
                    ),
                )
            },
        ),
        Kind(
            code="alerts_opened",
            label=_("New alerts"),
            audience=_("The office"),
            roles=(Role.OFFICE_STAFF,),
            title=_("New alerts: %(count)s"),
            body=_("The build of %(date)s opened new alerts: %(kinds)s."),
        ),
        Kind(
            code="request_triaged",
            label=_("Requests triaged"),
            audience=_("Who submitted the request, and the requesters of its claimant"),
            roles=(
                Role.UNIT_REQUESTER,
                Role.COUNTY_OFFICER,
                Role.PREFECTURE_OFFICER,
                Role.OFFICE_STAFF,
            ),
            title=_("Request %(request)s was triaged"),
            body=_(
                "Request %(request)s of %(claimant)s: accepted %(accepted)s, accepted in part "
                "%(part)s, refused %(refused)s, awaiting triage %(pending)s."
            ),
        ),
        Kind(
            code="production_report_missing",
            label=_("Production reports missing"),
            audience=_("The commissioners of producers whose report for today is missing"),
            roles=(Role.PRODUCER_REPORTER,),
            title=_("%(producer)s: production report for %(date)s missing"),
            body=_("Items not reported yet for %(date)s: %(missing)s of %(expected)s (%(items)s)."),
        ),
    )
}


def kinds_for(user) -> list[Kind]:
    """The kinds `user`'s role may receive (an admin: every kind), in the table's order."""
    role = user.effective_role
    if role == Role.ADMIN:
        return list(KINDS.values())
    return [kind for kind in KINDS.values() if role in kind.roles]


def translated(value) -> dict:
    """A param worded in every language of the site, for `render` to pick the reader's.

    `value`: a row with name_zh/name_en (a prefecture, an item, a destination), a
    translatable label (gettext_lazy), or a function called once per language."""
    if hasattr(value, "name_zh"):
        zh = value.name_zh
        return {"_t": {"zh-hans": zh, "en": getattr(value, "name_en", "") or zh}}
    texts = {}
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            texts[code] = str(value() if callable(value) else value)
    return {"_t": texts}


def _language() -> str:
    return (translation.get_language() or settings.LANGUAGE_CODE).lower()


def _word(value, language: str) -> str:
    if isinstance(value, dict) and "_t" in value:
        texts = value["_t"]
        if language.startswith("en") and texts.get("en"):
            return texts["en"]
        return texts.get("zh-hans") or next(iter(texts.values()), "")
    if isinstance(value, list):
        words = [_word(v, language) for v in value[:LIST_MAX]]
        if len(value) > LIST_MAX:
            words.append("…")
        return (", " if language.startswith("en") else "、").join(words)
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value)
    if isinstance(value, int):
        return grouped(value)
    return str(value)


class _Words(dict):
    # A param the wording names but the event did not give reads "?", never a KeyError.
    def __missing__(self, key):
        return "?"


def render(kind_code: str, params: dict, *, language: str | None = None) -> tuple[str, str]:
    """(title, body) of a notification, in `language` (default: the active one)."""
    with translation.override(language) if language else nullcontext():
        lang = _language()
        kind = KINDS.get(kind_code)
        if kind is None:  # a kind since removed: say what it was
            return kind_code, ""
        title, body = kind.variants.get((params or {}).get("variant"), (kind.title, kind.body))
        words = _Words({key: _word(value, lang) for key, value in (params or {}).items()})
        return str(title) % words, str(body) % words


def label(kind_code: str) -> str:
    kind = KINDS.get(kind_code)
    return str(kind.label) if kind else kind_code
