"""The permission rules in templates: `{% can "receive_batch" batch as may_receive %}`.

The tag calls `supplycoord.permissions.can_<name>(user, *rows)` with the signed-in user, so a
button is shown by the very rule its service applies. An unknown rule name is an error, not
a silent "no".
"""

from django import template

from supplycoord import permissions

register = template.Library()


@register.simple_tag(takes_context=True)
def can(context, rule: str, *rows) -> bool:
    check = getattr(permissions, f"can_{rule}", None)
    if not callable(check):
        raise template.TemplateSyntaxError(f"No permission rule can_{rule}.")
    user = context.get("user") or getattr(context.get("request"), "user", None)
    return bool(check(user, *rows))
