#!/usr/bin/env python
"""Every page at national scale, served by gunicorn: p50/p90 per page, the overview's throughput.

    .venv/bin/python bench/pages.py [--workers 4 --requests 30 --clients 8 --duration 30]
    .venv/bin/python bench/pages.py --reuse          # keep the data and use it again next time
    .venv/bin/python bench/pages.py --smoke          # 20 prefectures x 6 items x 20 days, ~1 min

1. Generates the national bench data (bench/national.py: 340 prefectures x 60 key items x 120
   days, 31 built dates, 1 M dispatch batch lines, a 1 M-event reserve ledger, producers),
   or, with --reuse, uses what an earlier run left in the database.
2. Collects the static files into a temporary STATIC_ROOT and starts gunicorn on 127.0.0.1
   (a free port, --workers sync workers, DEBUG off, no HTTPS redirect, Celery eager, no Redis).
3. Signs in as each role through the login form (CSRF token from the form, session cookie).
4. For each page of the table: one warm-up request, then --requests sequential ones; the
   latency is the client's (request sent to last byte read): p50, p90, bytes, status.
5. The province overview with --clients concurrent clients (each its own leadership session)
   for --duration seconds: requests/s, p50 and p90.

Targets (issue 13): every page p90 < 500 ms; the overview >= 20 requests/s with 8 clients;
the overview's HTML < 300 kB. The load average (os.getloadavg) is printed before and after.

With DATABASE_URL unset it creates a throwaway database `supplycoord_bench_pages` (--db-name) on
127.0.0.1:5432 (user postgres), and drops it at the end unless --keep or --reuse. With
DATABASE_URL set it must be PostgreSQL and either empty or, with --reuse, hold this benchmark's
data of the same size; the data is left in it.
Exit status: 0 when every page answers 200 and meets its target; 1 when a page misses a target,
answers other than 200, or the server fails; 2 on a usage problem.
"""

import argparse
import datetime as dt
import http.cookiejar
import json
import os
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _common import drop_database, prepare_database, timed, usage_error  # noqa: E402

DEFAULT_DB = "supplycoord_bench_pages"
P90_TARGET_MS = 500
OVERVIEW_RATE_TARGET = 20  # requests/s
OVERVIEW_RATE_CLIENTS = 8  # the clients the rate target is stated for
OVERVIEW_BYTES_TARGET = 300_000

# The pages, in the order measured (page_table gives each its role and address); --page KEY.
PAGE_KEYS = [
    "overview",
    "overview-dated",
    "item",
    "export-csv",
    "export-xlsx",
    "spot-checks",
    "alerts",
    "production",
    "demand",
    "batch-list",
    "batch-detail",
    "stock-card",
    "stock-card-issues",
    "prefecture",
    "proposal-form",
    "ledger-csv",
    "reconciliation",
    "exports",
    "producer",
]

# Full size (the bench data) and --smoke; an option given explicitly wins over both.
FULL = {
    "prefectures": 340,
    "items": 60,
    "days": 120,
    "built_dates": 31,
    "batch_lines": 1_000_000,
    "ledger_events": 1_000_000,
    "requests": 30,
    "clients": 8,
    "duration": 30.0,
}
SMOKE = {
    "prefectures": 20,
    "items": 6,
    "days": 20,
    "built_dates": 7,
    "batch_lines": 5_000,
    "ledger_events": 20_000,
    "requests": 3,
    "clients": 8,
    "duration": 3.0,
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    data = parser.add_argument_group("data (bench/national.py)")
    data.add_argument("--prefectures", type=int)
    data.add_argument("--items", type=int, help="key items")
    data.add_argument("--days", type=int, help="days of daily figures, ending yesterday")
    data.add_argument("--built-dates", type=int, help="snapshots built: the last N days")
    data.add_argument("--batch-lines", type=int, help="dispatch batch lines (25 a batch)")
    data.add_argument("--ledger-events", type=int, help="reserve ledger events")
    run = parser.add_argument_group("measurement")
    run.add_argument(
        "--workers",
        type=int,
        default=2 * len(os.sched_getaffinity(0)),
        help="gunicorn workers (default: two per core, as gunicorn.conf.py)",
    )
    run.add_argument("--threads", type=int, default=1, help="threads per worker (default 1)")
    run.add_argument("--requests", type=int, help="timed sequential requests a page (30)")
    run.add_argument("--clients", type=int, help="concurrent clients on the overview (8)")
    run.add_argument("--duration", type=float, help="seconds of the concurrent run (30)")
    run.add_argument(
        "--page", action="append", default=[], metavar="KEY", help="only this page (repeatable)"
    )
    run.add_argument("--json", metavar="FILE", help="write the results as JSON")
    run.add_argument(
        "--broker",
        metavar="REDIS_URL",
        help="give gunicorn this Redis as Celery's broker (no worker runs; the database is "
        "FLUSHED at the end): background exports are queued as in production, so the xlsx "
        "page measures its redirect, not the job. Default: Celery eager, the job in the request",
    )
    parser.add_argument("--smoke", action="store_true", help="small data, few requests")
    parser.add_argument("--reuse", action="store_true", help="use the data already there")
    parser.add_argument("--keep", action="store_true", help="keep the throwaway database")
    parser.add_argument("--db-name", default=DEFAULT_DB, help=f"throwaway database ({DEFAULT_DB})")
    args = parser.parse_args(argv)
    for key, value in (SMOKE if args.smoke else FULL).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.workers < 1 or args.threads < 1 or args.requests < 1 or args.clients < 1:
        parser.error("--workers, --threads, --requests and --clients must be at least 1")
    if args.duration <= 0:
        parser.error("--duration must be positive")
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", args.db_name):
        parser.error("--db-name: lower-case letters, digits and underscores")
    unknown = [key for key in args.page if key not in PAGE_KEYS]
    if unknown:
        parser.error(f"unknown --page {', '.join(unknown)}; the pages are: {', '.join(PAGE_KEYS)}")
    return args


def plan_of(args):
    from national import Plan

    plan = Plan(
        prefectures=args.prefectures,
        items=args.items,
        days=args.days,
        built_dates=args.built_dates,
        batch_lines=args.batch_lines,
        ledger_events=args.ledger_events,
    )
    for problem in plan.problems():
        usage_error(problem)
    return plan


# --- the data -----------------------------------------------------------------------------------


def data_ready(args, plan, created):
    """Generate the data, or check that what is there is this benchmark's (--reuse).

    Returns (generated: bool, info: what national.generate recorded)."""
    import national

    info = None if created else national.holds_bench_data()
    if info is not None:
        if not args.reuse:
            usage_error(
                "the database already holds this benchmark's data: pass --reuse to use it, "
                "or point DATABASE_URL at an empty database"
            )
        if info["plan"] != plan.as_dict():
            differ = ", ".join(
                f"{key} {info['plan'].get(key)} (asked {value})"
                for key, value in plan.as_dict().items()
                if info["plan"].get(key) != value
            )
            usage_error(
                f"the database holds bench data of another size: {differ}; run without --reuse "
                "(and with DATABASE_URL unset) to generate it again"
            )
        print(
            f"\nReusing the bench data generated for the days ending {info['end']} "
            f"({info['seconds']['total']:.0f} s to generate then)",
            flush=True,
        )
        return False, info
    if not national.is_empty():
        usage_error(
            "the database holds other data (or an unfinished generation): point DATABASE_URL "
            "at an empty database, or unset it and run without --reuse to start afresh"
        )
    from supplycoord.lib.dates import local_today

    end = local_today() - dt.timedelta(days=1)
    print(
        f"\nGenerating {plan.prefectures} prefectures x {plan.items} key items x {plan.days} "
        f"days ending {end}; {plan.built_dates} built dates; {plan.batch_lines:,} batch lines in "
        f"{plan.batches:,} batches; {plan.ledger_events:,} ledger events",
        flush=True,
    )
    result = national.generate(plan, end=end)
    print(f"  generated in {result['seconds']['total']:.1f} s", flush=True)
    return True, national.holds_bench_data()


def page_table(facts):
    """(key, label, role, path): every page, opened on the bench data's codes and dates."""
    from django.urls import reverse

    last = facts["last_date"]
    built = facts["built_dates"]
    dated = built[-8] if len(built) >= 8 else built[0]  # a week back, still built
    week = f"?from={(last - dt.timedelta(days=6)).isoformat()}&to={last.isoformat()}"
    item, warehouse = facts["item"], facts["warehouse"]
    return [
        ("overview", "province overview", "leadership", reverse("reports:overview")),
        (
            "overview-dated",
            f"province overview, {dated}",
            "leadership",
            reverse("reports:overview") + f"?date={dated}",
        ),
        ("item", f"item page {item}", "leadership", reverse("reports:item", args=[item])),
        (
            "export-csv",
            "daily report export, CSV",
            "leadership",
            reverse("reports:export", args=["csv"]),
        ),
        (
            "export-xlsx",
            "daily report export, xlsx",
            "leadership",
            reverse("reports:export", args=["xlsx"]),
        ),
        ("spot-checks", "spot checks", "leadership", reverse("reports:spot_checks")),
        ("alerts", "alerts", "leadership", reverse("reports:alerts")),
        (
            "production",
            "production dashboard",
            "leadership",
            reverse("reports:production_dashboard"),
        ),
        ("demand", "demand estimate", "leadership", reverse("reports:demand")),
        ("batch-list", "batch list", "office", reverse("allocation:batch_list")),
        (
            "batch-detail",
            f"batch detail {facts['batch']}",
            "office",
            reverse("allocation:batch_detail", args=[facts["batch"]]),
        ),
        (
            "stock-card",
            f"stock card {warehouse}/{item}",
            "office",
            reverse("inventory:stock_card", args=[warehouse, item]),
        ),
        (
            "stock-card-issues",
            "stock card, issues only",
            "office",
            reverse("inventory:stock_card", args=[warehouse, item]) + "?kind=issue",
        ),
        (
            "prefecture",
            f"prefecture page {facts['officer_prefecture']} (its officer)",
            "officer",
            reverse("reports:prefecture", args=[facts["officer_prefecture"]]),
        ),
        ("proposal-form", "proposal form", "office", reverse("reports:proposal_new")),
        (
            "ledger-csv",
            "allocation ledger CSV, last 7 days",
            "office",
            reverse("allocation:ledger_csv") + week,
        ),
        ("reconciliation", "reconciliation queue", "office", reverse("reports:reconciliation")),
        ("exports", "exports list", "office", reverse("exports:list")),
        (
            "producer",
            "producer page (its reporter)",
            "reporter",
            reverse("production:producer_detail", args=[facts["producer"]]),
        ),
    ]


# --- the server ---------------------------------------------------------------------------------


def flush_broker(broker):
    """Drop the export jobs queued for a worker that never ran (--broker's Redis database)."""
    import redis

    redis.Redis.from_url(broker).flushdb()


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_environment(url, static_root, media_root, broker=None):
    """Production settings for a local run: DEBUG off, a random key, no HTTPS (no redirect, no
    secure cookies, no HSTS, no proxy header), no Redis (Celery eager), quiet logs."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("REDIS_URL", "GUNICORN_CMD_ARGS", "WEB_CONCURRENCY")
        # TRUSTED_PROXY_HEADER and _COUNT: clients connect directly
        and not key.startswith("TRUSTED_PROXY")
    }
    env.update(
        DATABASE_URL=url,
        DJANGO_SETTINGS_MODULE="supplycoord.settings",
        DEBUG="False",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        CSRF_TRUSTED_ORIGINS="",
        STATIC_ROOT=str(static_root),
        MEDIA_ROOT=str(media_root),
        SECURE_SSL_REDIRECT="False",
        SESSION_COOKIE_SECURE="False",
        CSRF_COOKIE_SECURE="False",
        SECURE_HSTS_SECONDS="0",
        BEHIND_TLS_PROXY="False",
        CELERY_TASK_ALWAYS_EAGER="True",
        LOG_LEVEL="WARNING",
    )
    if broker:
        env.update(REDIS_URL=broker, CELERY_TASK_ALWAYS_EAGER="False")
    return env


def collect_static(env):
    done = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        print(done.stdout + done.stderr, file=sys.stderr)
        raise RuntimeError("collectstatic failed")


class Server:
    """gunicorn in its own process group, started and stopped by this script only."""

    def __init__(self, env, *, workers, threads, log_path):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "supplycoord.wsgi",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--timeout",
            "120",
            "--no-control-socket",
            "--log-level",
            "warning",
            "--error-logfile",
            str(log_path),
        ]
        self.command = " ".join(command[2:])
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=env, start_new_session=True, stdin=subprocess.DEVNULL
        )

    def wait_ready(self, timeout=90):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                with urllib.request.urlopen(self.base + "/accounts/login/", timeout=5) as answer:
                    if answer.status == 200:
                        return True
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.3)
        return False

    def log_tail(self, lines=30):
        try:
            return "\n".join(Path(self.log_path).read_text().splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # gunicorn's graceful stop
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


# --- the client ---------------------------------------------------------------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer to measure (a 302 to the login page is a failure), not a hop."""

    def redirect_request(self, *args, **kwargs):
        return None


class Client:
    """One signed-in browser: its own cookie jar (session and CSRF cookies)."""

    def __init__(self, base):
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirect()
        )

    def request(self, path, data=None, headers=None):
        """(status, body bytes, seconds): the whole body read, as a browser would."""
        request = urllib.request.Request(self.base + path, data=data, headers=headers or {})
        started = time.perf_counter()
        try:
            with self.opener.open(request, timeout=300) as answer:
                body = answer.read()
                status = answer.status
        except urllib.error.HTTPError as exc:
            body = exc.read()
            status = exc.code
        return status, body, time.perf_counter() - started

    def login(self, username, password):
        from django.urls import reverse

        path = reverse("login")
        status, body, _seconds = self.request(path)
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body)
        if status != 200 or token is None:
            raise RuntimeError(f"the login page answered {status} without a CSRF token")
        form = urllib.parse.urlencode(
            {
                "csrfmiddlewaretoken": token.group(1).decode(),
                "username": username,
                "password": password,
            }
        ).encode()
        status, _body, _seconds = self.request(
            path,
            data=form,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Referer": self.base + path,
            },
        )
        if status != 302:
            raise RuntimeError(f"signing in as {username} answered {status}, not a redirect")


def percentile(values, share):
    """The nearest-rank percentile (p90 of 30 values: the 27th smallest)."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * share // 1))
    return ordered[int(rank) - 1]


def measure_page(client, path, requests):
    status, body, warm = client.request(path)  # warm-up: caches, connections, first render
    statuses, seconds = {status}, []
    for _ in range(requests):
        status, body, took = client.request(path)
        statuses.add(status)
        seconds.append(took)
    return {
        "status": status if len(statuses) == 1 else sorted(statuses),
        "bytes": len(body),
        "warmup_ms": warm * 1000,
        "p50_ms": statistics.median(seconds) * 1000,
        "p90_ms": percentile(seconds, 0.9) * 1000,
        "min_ms": min(seconds) * 1000,
        "max_ms": max(seconds) * 1000,
        "requests": requests,
    }


def measure_concurrent(clients, path, duration):
    """Every client requests `path` in a loop until `duration` has passed; requests/s counts
    the requests completed, over the time from the start to the last completion."""
    results, lock = [], threading.Lock()
    barrier = threading.Barrier(len(clients) + 1)
    started = [0.0]

    def loop(client):
        barrier.wait()
        deadline = started[0] + duration
        while time.perf_counter() < deadline:
            status, _body, took = client.request(path)
            with lock:
                results.append((status, took, time.perf_counter()))

    threads = [threading.Thread(target=loop, args=(c,), daemon=True) for c in clients]
    for thread in threads:
        thread.start()
    started[0] = time.perf_counter()
    barrier.wait()
    for thread in threads:
        thread.join()
    elapsed = max(end for _s, _t, end in results) - started[0]
    seconds = [took for _s, took, _e in results]
    return {
        "clients": len(clients),
        "duration_s": duration,
        "elapsed_s": elapsed,
        "completed": len(results),
        "requests_per_s": len(results) / elapsed,
        "p50_ms": statistics.median(seconds) * 1000,
        "p90_ms": percentile(seconds, 0.9) * 1000,
        "statuses": sorted({s for s, _t, _e in results}),
    }


# --- main ---------------------------------------------------------------------------------------


def load():
    return [round(v, 2) for v in os.getloadavg()]


def main(argv=None):
    args = parse_args(argv)
    plan = plan_of(args)
    load_at_start = load()
    throwaway = not os.environ.get("DATABASE_URL", "").strip()
    url, created = prepare_database(args.db_name, keep_existing=args.reuse)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supplycoord.settings")
    # Nothing may reach a real broker: any after-commit work runs in-process.
    os.environ.pop("REDIS_URL", None)
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "True"
    os.environ.setdefault("LOG_LEVEL", "WARNING")

    import django

    django.setup()
    import national
    from django.core.management import call_command
    from django.db import connection

    from supplycoord.lib.dates import local_today

    safe = str(connection.settings_dict["NAME"])
    print(f"Database: {safe} on {connection.settings_dict['HOST'] or 'localhost'}", flush=True)
    status = 0
    report = {
        "date": local_today().isoformat(),
        "command": " ".join(["bench/pages.py", *(argv if argv is not None else sys.argv[1:])]),
        "cpus": os.cpu_count(),
        "load_at_start": load_at_start,
        "plan": plan.as_dict(),
        "workers": args.workers,
        "threads": args.threads,
        "targets": {
            "p90_ms": P90_TARGET_MS,
            "overview_requests_per_s": OVERVIEW_RATE_TARGET,
            "overview_clients": OVERVIEW_RATE_CLIENTS,
            "overview_bytes": OVERVIEW_BYTES_TARGET,
        },
    }
    try:
        with timed("migrate"):
            call_command("migrate", verbosity=0, interactive=False)
        generated, info = data_ready(args, plan, created)
        report["generated"] = generated
        report["generation"] = {"seconds": info["seconds"], "counts": info["counts"]}
        report["data_end"] = info["end"]
        facts = national.facts()
        pages = page_table(facts)
        assert [key for key, *_ in pages] == PAGE_KEYS
        if args.page:
            pages = [page for page in pages if page[0] in args.page]
        report["facts"] = {
            key: (value.isoformat() if isinstance(value, dt.date) else value)
            for key, value in facts.items()
            if key != "built_dates"
        }
        print(
            f"\nData: {len(facts['built_dates'])} built dates up to {facts['last_date']}; "
            f"{facts['batch_lines']:,} batch lines in {facts['batches']:,} batches, "
            f"{facts['overdue_batches']:,} overdue on the last date",
            flush=True,
        )
        connection.close()  # the server has the database to itself

        with tempfile.TemporaryDirectory(prefix="bench_pages_") as tmp:
            env = server_environment(
                url, Path(tmp) / "static", Path(tmp) / "media", broker=args.broker
            )
            with timed("collectstatic into a temporary STATIC_ROOT"):
                collect_static(env)
            server = Server(
                env, workers=args.workers, threads=args.threads, log_path=Path(tmp) / "gunicorn.log"
            )
            report["server"] = server.command
            print(f"\nStarting {server.command}", flush=True)
            try:
                if server.wait_ready():
                    status = run_measurements(args, server, pages, report)
                else:
                    report["errors"] = ["gunicorn did not come up"]
                    print("gunicorn did not come up", file=sys.stderr)
                    status = 1
            finally:
                server.stop()
                if args.broker:
                    flush_broker(args.broker)
                errors = server.log_tail()
                if errors.strip():
                    print(f"\ngunicorn's error log (last lines):\n{errors}")
    finally:
        connection.close()
        if throwaway and created and not (args.keep or args.reuse):
            drop_database(url)
            print(f"\nDropped the database {safe}.")
        elif throwaway and created:
            print(f"\nKept the database: DATABASE_URL={url}  (next time: --reuse)")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
        print(f"Results written to {args.json}")
    return status


def run_measurements(args, server, pages, report):
    from national import PASSWORD, USERS

    clients = {}
    for role in sorted({role for _k, _l, role, _p in pages} | {"leadership"}):
        clients[role] = Client(server.base)
        clients[role].login(USERS[role], PASSWORD)
    report["load_before"] = load()
    print(
        f"\nLoad average before: {report['load_before']} ({os.cpu_count()} CPUs). "
        f"{args.requests} sequential requests a page after one warm-up.",
        flush=True,
    )
    header = f"  {'page':44} {'role':10} {'status':>6} {'bytes':>11} {'p50 ms':>8} {'p90 ms':>8}"
    print(header, flush=True)
    results, missed, errors = [], [], []
    for key, label, role, path in pages:
        result = measure_page(clients[role], path, args.requests)
        result.update(key=key, label=label, role=role, path=path)
        notes = []
        # Above its row threshold the xlsx is a background job: the page redirects to it.
        expected = {200, 302} if key == "export-xlsx" else {200}
        if result["status"] not in expected:
            errors.append(f"{label}: HTTP {result['status']}")
            notes.append("NOT " + "/".join(str(code) for code in sorted(expected)))
        if result["p90_ms"] >= P90_TARGET_MS:
            missed.append(f"{label}: p90 {result['p90_ms']:,.0f} ms (target < {P90_TARGET_MS})")
            notes.append("p90 MISSED")
        if key == "overview" and result["bytes"] >= OVERVIEW_BYTES_TARGET:
            missed.append(
                f"{label}: {result['bytes']:,} bytes of HTML (target < {OVERVIEW_BYTES_TARGET:,})"
            )
            notes.append("size MISSED")
        result["ok"] = not notes
        results.append(result)
        print(
            f"  {label[:44]:44} {role:10} {str(result['status']):>6} {result['bytes']:>11,} "
            f"{result['p50_ms']:>8,.0f} {result['p90_ms']:>8,.0f}  {' '.join(notes)}",
            flush=True,
        )
    report["pages"] = results

    from django.urls import reverse

    if not args.page or "overview" in args.page:
        leaders = []
        for _ in range(args.clients):
            client = Client(server.base)
            client.login(USERS["leadership"], PASSWORD)
            leaders.append(client)
        print(
            f"\nThe overview with {args.clients} concurrent clients for {args.duration:g} s "
            f"({args.workers} workers x {args.threads} threads)",
            flush=True,
        )
        concurrent = measure_concurrent(leaders, reverse("reports:overview"), args.duration)
        report["overview_concurrent"] = concurrent
        line = (
            f"  {concurrent['requests_per_s']:.2f} requests/s ({concurrent['completed']} in "
            f"{concurrent['elapsed_s']:.1f} s), p50 {concurrent['p50_ms']:,.0f} ms, "
            f"p90 {concurrent['p90_ms']:,.0f} ms, statuses {concurrent['statuses']}"
        )
        if concurrent["statuses"] != [200]:
            errors.append(f"overview, concurrent: HTTP {concurrent['statuses']}")
        if args.clients == OVERVIEW_RATE_CLIENTS:
            if concurrent["requests_per_s"] < OVERVIEW_RATE_TARGET:
                missed.append(
                    f"overview, {args.clients} clients: {concurrent['requests_per_s']:.2f} "
                    f"requests/s (target >= {OVERVIEW_RATE_TARGET})"
                )
                line += "  MISSED"
        else:
            line += f"  (the target is stated for {OVERVIEW_RATE_CLIENTS} clients: not judged)"
        print(line, flush=True)

    report["load_after"] = load()
    report["missed"], report["errors"] = missed, errors
    print(f"\nLoad average after: {report['load_after']}")
    if errors:
        print("\nERRORS:\n  " + "\n  ".join(errors))
    if missed:
        print("\nTARGETS MISSED:\n  " + "\n  ".join(missed))
    if not errors and not missed:
        print("\nEvery page answered 200 and met its target.")
    return 1 if errors or missed else 0


if __name__ == "__main__":
    sys.exit(main())
