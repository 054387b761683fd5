"""The request for national allocation (申请国家调拨) as the office sends it, declared on the
one exporter base (supplycoord/exports.py): the title block, a table of the item requested,
then the justification and the signature lines a printed request carries.

Every text cell, the justification included, goes through the base's `formula_safe`: a
justification typed as "=…" stays text in the spreadsheet.
"""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from supplycoord import permissions
from supplycoord.exports import DATE, INT, TEXT, Column, Exporter, Strong

from . import selectors


class NationalRequestExport(Exporter):
    """`params`: {"number": "SQ-2020-001"}. The rows: the item requested (one row, the table
    of items), an empty row, the justification, an empty row, then the signature lines."""

    read_rule = staticmethod(permissions.can_read_procurement)

    title = gettext_lazy("Request for national allocation")

    def __init__(self, user, params=None):
        super().__init__(user, params)
        number = (self.params.get("number") or "").strip()
        self.request = (
            selectors.national_requests_visible_to(user).filter(number=number).first()
            if number
            else None
        )

    @property
    def valid(self) -> bool:
        return self.request is not None

    def error_text(self) -> str:
        return _("No such request.")

    def columns(self):
        return [
            Column("position", _("No."), INT, width=8),
            Column("code", _("Item code"), TEXT, width=12),
            Column("item", _("Item"), TEXT, width=28),
            Column("specification", _("Specification"), TEXT, width=20),
            Column("unit", _("Unit"), TEXT, width=8),
            Column("net_requirement", _("Net requirement"), INT, width=16),
            Column("quantity", _("Quantity requested"), INT, width=16),
            Column("sent_on", _("Sent on"), DATE, width=14),
        ]

    def date_range(self):
        return (self.request.sent_on, self.request.sent_on)

    def filters_text(self) -> str:
        return _("Request %(number)s") % {"number": self.request.number}

    def filename_parts(self):
        return [self.request.number]

    def count(self) -> int:
        return 1

    def rows(self):
        request = self.request
        item = request.item
        yield {
            "position": 1,
            "code": item.code,
            "item": item.name,
            "specification": item.specification,
            "unit": str(item.get_unit_display()),
            "net_requirement": request.net_requirement,
            "quantity": request.quantity,
            "sent_on": request.sent_on,
        }
        yield {}
        yield Strong({"position": None, "code": _("Justification")})
        yield {"code": request.justification}
        yield {}
        for label in (
            _("Prepared by (signature):"),
            _("Checked by (signature):"),
            _("Head of the office (signature and seal):"),
            _("Date:"),
        ):
            yield Strong({"code": label})
            yield {}
