"""gunicorn's settings for SupplyCoord, read by `gunicorn supplycoord.wsgi` from the working
directory (the image's /app, or the checkout).

Chosen by measurement (README, "Throughput and scaling"; `bench/pages.py --workers N --threads M`):
on the national bench data, 2 cores, 8 concurrent clients on the province overview, sync
workers gave 16.7 requests/s with 2 workers, 22.5 with 3 and 24.0 with 4, and 2 workers of 2
threads 18.3. A request is mostly CPU (Python and PostgreSQL on the same cores) with short
waits on the database; a second worker per core fills those waits, threads do not (the GIL).
So: sync workers, two per core this process may run on. WEB_CONCURRENCY overrides the count,
and GUNICORN_CMD_ARGS (bind, logs, timeout) any other setting.
"""

import os

worker_class = "sync"
workers = int(os.environ.get("WEB_CONCURRENCY") or 2 * len(os.sched_getaffinity(0)))
