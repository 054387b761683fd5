"""`manage.py embedded_db [status|stop]`: the project's own PostgreSQL server (no DATABASE_URL)."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from supplycoord import embedded_db


class Command(BaseCommand):
    help = "Show or stop the embedded PostgreSQL server used when DATABASE_URL is not set."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["status", "stop"], nargs="?", default="status")

    def handle(self, *args, action, **options):
        pgdata = embedded_db.data_dir(settings.BASE_DIR)
        if action == "stop":
            stopped = embedded_db.stop(settings.BASE_DIR)
            self.stdout.write("stopped" if stopped else "not running")
            return
        socket_dir = embedded_db._running_socket_dir(pgdata)
        if socket_dir is None:
            raise CommandError(f"not running (data in {pgdata})")
        self.stdout.write(f"running: data in {pgdata}, socket in {socket_dir}")
