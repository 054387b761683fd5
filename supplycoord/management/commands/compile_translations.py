"""Compile the message catalogues (.po -> .mo) with polib.

Django's own `compilemessages` shells out to GNU gettext's msgfmt, which neither the Docker
image nor a fresh developer machine is guaranteed to have. polib is pure Python and, like
msgfmt, leaves fuzzy and obsolete entries out of the compiled catalogue.
"""

import os
import sys
from pathlib import Path

import polib
from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


def catalogue_dirs() -> list[Path]:
    """LOCALE_PATHS plus the `locale/` folders of the project's own apps.

    Installed packages are left alone: they ship compiled catalogues, and the virtualenv may
    well live inside BASE_DIR (`.venv/`), so "under BASE_DIR" alone is not "ours".
    """
    base = Path(settings.BASE_DIR).resolve()
    env = Path(sys.prefix).resolve()
    dirs = [Path(p) for p in settings.LOCALE_PATHS]
    for config in apps.get_app_configs():
        app_dir = Path(config.path).resolve()
        if app_dir.is_relative_to(base) and not app_dir.is_relative_to(env):
            dirs.append(app_dir / "locale")
    unique = []
    for d in dirs:
        if d.is_dir() and d.resolve() not in {u.resolve() for u in unique}:
            unique.append(d)
    return unique


class Command(BaseCommand):
    help = "Compile every locale/*/LC_MESSAGES/*.po to .mo with polib (no GNU gettext needed)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--force", action="store_true", help="Recompile even where the .mo is up to date."
        )

    def handle(self, *args, force=False, **options):
        compiled = skipped = 0
        for locale_dir in catalogue_dirs():
            for po_path in sorted(locale_dir.glob("*/LC_MESSAGES/*.po")):
                mo_path = po_path.with_suffix(".mo")
                if (
                    not force
                    and mo_path.exists()
                    and mo_path.stat().st_mtime >= po_path.stat().st_mtime
                ):
                    skipped += 1
                    continue
                try:
                    catalogue = polib.pofile(str(po_path))
                except (OSError, ValueError) as exc:
                    raise CommandError(f"cannot compile {po_path}: {exc}") from exc
                # Write beside and rename, so a running server never reads half a catalogue.
                tmp_path = mo_path.with_suffix(".mo.tmp")
                tmp_path.write_bytes(catalogue.to_binary())
                os.replace(tmp_path, mo_path)
                compiled += 1
                self.stdout.write(
                    f"compiled {po_path} ({len(catalogue.translated_entries())} messages, "
                    f"{catalogue.percent_translated()}% translated)"
                )
        self.stdout.write(f"{compiled} catalogue(s) compiled, {skipped} up to date.")
