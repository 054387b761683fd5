"""Print the demo users that exist, with their roles and documented passwords."""

import unicodedata

from django.core.management.base import BaseCommand

from reports.province import GANSU, province_read
from reports.province.load import province_users_listing


def _width(text: str) -> int:
    # Chinese characters take two columns in a terminal.
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


class Command(BaseCommand):
    help = (
        "Print the demo users (username, role, prefecture or county, password) for `make run`; "
        "with --data DIR, the users of that province folder."
    )

    def add_arguments(self, parser):
        parser.add_argument("--data", default=str(GANSU), metavar="DIR")

    def handle(self, *args, data, **options):
        rows = province_users_listing(province_read(data))
        if not rows:
            self.stdout.write("No demo users yet: run `python manage.py load_demo`.")
            return
        table = [("username", "role", "prefecture / county", "password", "reports for")]
        for row in rows:
            prefecture = f"{row['prefecture']} {row['prefecture_name']}".strip()
            if row["county"]:  # a county officer: its county too
                prefecture = f"{prefecture} / {row['county']} {row['county_name']}"
            password = row["password"] if row["password_unchanged"] else "(changed since load_demo)"
            table.append(
                (row["username"], f"{row['role_label']}", prefecture, password, row["reports_for"])
            )
        widths = [max(_width(r[i]) for r in table) for i in range(5)]
        self.stdout.write("Demo users (demo data only: never use these passwords elsewhere)")
        for index, line in enumerate(table):
            self.stdout.write(
                "  "
                + "  ".join(_pad(cell, w) for cell, w in zip(line, widths, strict=True)).rstrip()
            )
            if index == 0:
                self.stdout.write("  " + "  ".join("-" * w for w in widths))
