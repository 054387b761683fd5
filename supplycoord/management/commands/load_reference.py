"""Load reference data from CSV: `load_reference items path.csv`, or `--all` shipped files."""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.translation import gettext as _

from supplycoord.lib.numbers import grouped
from supplycoord.lib.text import text_error
from supplycoord.models import User
from supplycoord.services import (
    REFERENCE_KINDS,
    SHIPPED_FILES,
    ReferenceDataInvalid,
    reference_load_csv,
)


class Command(BaseCommand):
    help = (
        "Load reference data (prefectures, counties, items, staff_categories) from a CSV "
        "file, upserting by code, all or nothing. Without a path, loads the file shipped in "
        "supplycoord/data/. --all loads every shipped file."
    )

    def add_arguments(self, parser):
        parser.add_argument("kind", nargs="?", choices=REFERENCE_KINDS)
        parser.add_argument("path", nargs="?", help="CSV file (UTF-8); default: the shipped one")
        parser.add_argument(
            "--all",
            action="store_true",
            dest="load_all",
            help="load every shipped file, in dependency order",
        )
        parser.add_argument("--user", help="username recorded in the change history")

    def handle(self, *args, kind=None, path=None, load_all=False, user=None, **options):
        if load_all == bool(kind):
            raise CommandError(_("Give a kind (and optionally a path), or --all."))
        if load_all and path:
            raise CommandError(_("--all loads the shipped files; it takes no path."))
        actor = None
        if user:
            # A NUL would reach the database (a crash); other control characters match nobody.
            if text_error(user):
                raise CommandError(
                    _("No user named “%(name)s”.")
                    % {"name": user.encode("unicode_escape").decode()}
                )
            actor = User.objects.filter(username=user).first()
            if actor is None:
                raise CommandError(_("No user named “%(name)s”.") % {"name": user})
        jobs = [(k, SHIPPED_FILES[k]) for k in REFERENCE_KINDS] if load_all else [(kind, path)]
        try:
            with transaction.atomic():
                results = [
                    reference_load_csv(kind=k, path_or_file=p or SHIPPED_FILES[k], user=actor)
                    for k, p in jobs
                ]
        except ReferenceDataInvalid as exc:
            for error in exc.errors:
                self.stderr.write(str(error))
            raise CommandError(
                _("Nothing was saved: %(count)s problem(s) found.")
                % {"count": grouped(len(exc.errors))}
            ) from exc
        except OSError as exc:
            raise CommandError(
                _("Cannot read %(path)s: %(error)s") % {"path": exc.filename, "error": exc.strerror}
            ) from exc
        for result in results:
            self.stdout.write(
                _(
                    "%(kind)s: %(rows)s rows, %(created)s created, %(updated)s updated, "
                    "%(unchanged)s unchanged"
                )
                % {
                    "kind": result["kind"],
                    **{
                        key: grouped(result[key])
                        for key in ("rows", "created", "updated", "unchanged")
                    },
                }
            )
