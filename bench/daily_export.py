#!/usr/bin/env python
"""Benchmark of the daily report export (日报汇总) on the national bench data, read only.

    .venv/bin/python bench/daily_export.py [--db-name supplycoord_bench_pages --runs 5]

Needs the data of bench/pages.py (`bench/pages.py --keep`: 340 prefectures × 60 key items);
it only reads it. With DATABASE_URL set that database is used, else `--db-name` on
127.0.0.1:5432 as user postgres. For the leadership user `bn_leader` and the latest covered
date (the overview's default, what bench/pages.py exports), in this process:

1. CSV: what the streamed response sends, the rows formatted by PostgreSQL in a COPY
   (`reports.exports.daily_report_csv_lines`) joined by `csv_chunks`, every piece encoded:
   rows/s, best of --runs, and the queries one export runs (flat: none per row; its two
   COPYs, rows and totals, among them). Target (issue 13): at least 100,000 rows/s.
   Beside it, in the same run, the base's generic writer (`supplycoord.exports.csv_lines`,
   what the response sent before): rows/s and the ratio, and the two files compared byte
   for byte (a difference is a failure).
2. xlsx: `supplycoord.exports.write_xlsx` into a temporary file (what a download or the
   background job writes): rows/s, best of --runs, beside the row threshold above which the
   download becomes a background job (SUPPLYCOORD["DAILY_REPORT_EXPORT_ASYNC_ROWS"]).

The load average is printed before and after: the machine is shared.
Exit status: 0; 1 when the CSV (the COPY path) misses its target or differs from the generic
writer's; 2 on a usage problem (no bench data).
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _common import usage_error  # noqa: E402

CSV_TARGET_ROWS_PER_S = 100_000
USER = "bn_leader"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db-name", default="supplycoord_bench_pages")
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each format")
    parser.add_argument("--skip-xlsx", action="store_true")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    return args


def setup_django(url):
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supplycoord.settings")
    os.environ.pop("REDIS_URL", None)  # nothing reaches a broker; nothing is queued anyway
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "True"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()


def best_of(runs, work):
    """(best seconds, what `work` returned on that run)."""
    best = None
    for run in range(runs):
        started = time.perf_counter()
        result = work()
        seconds = time.perf_counter() - started
        print(f"  run {run + 1}: {seconds * 1000:,.0f} ms", flush=True)
        if best is None or seconds < best[0]:
            best = (seconds, result)
    return best


def main():
    args = parse_args()
    url = os.environ.get("DATABASE_URL", "").strip()
    setup_django(url or f"postgres://postgres@127.0.0.1:5432/{args.db_name}")
    from django.conf import settings
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import translation

    from reports.exports import DailyReportExport, daily_report_csv_lines
    from reports.selectors import latest_covered_date
    from supplycoord.exports import csv_chunks, csv_lines, write_xlsx
    from supplycoord.models import User

    user = User.objects.filter(username=USER).first()
    date = latest_covered_date()
    if user is None or date is None:
        usage_error(f"no bench data in {connection.settings_dict['NAME']} (bench/pages.py --keep)")
    print(f"Database: {connection.settings_dict['NAME']}; daily report of {date} as {USER}")
    print(f"Load average before: {list(os.getloadavg())} ({os.cpu_count()} CPUs)", flush=True)
    params = {"date": date.isoformat(), "prefecture": ""}
    translation.activate(settings.LANGUAGE_CODE)

    def csv_export(lines=daily_report_csv_lines):
        # As the streamed response sends it: lines joined into pieces, each encoded. Rows are
        # counted as records (CRLF), not line feeds: a name may hold a line feed.
        size = rows = 0
        for piece in csv_chunks(lines(DailyReportExport(user, params))):
            size += len(piece.encode("utf-8"))
            rows += piece.count("\r\n")
        return rows - 1, size  # minus the header

    def generic_export():
        return csv_export(csv_lines)

    print(f"\nCSV through COPY (daily_report_csv_lines, csv_chunks), {args.runs} runs", flush=True)
    with CaptureQueriesContext(connection) as queries:
        csv_export()
    print(f"  load average: {list(os.getloadavg())}", flush=True)
    csv_seconds, (csv_rows, csv_bytes) = best_of(args.runs, csv_export)
    csv_rate = csv_rows / csv_seconds

    print(
        f"\nCSV generic (supplycoord.exports.csv_lines, csv_chunks), {args.runs} runs", flush=True
    )
    print(f"  load average: {list(os.getloadavg())}", flush=True)
    generic_seconds, (generic_rows, _) = best_of(args.runs, generic_export)
    generic_rate = generic_rows / generic_seconds

    export = DailyReportExport(user, params)
    same = "".join(daily_report_csv_lines(export)) == "".join(csv_lines(export))
    csv_ok = csv_rate >= CSV_TARGET_ROWS_PER_S and same

    xlsx_line = ""
    if not args.skip_xlsx:

        def xlsx_export():
            with tempfile.TemporaryFile() as handle:
                rows = write_xlsx(DailyReportExport(user, params), handle)
                return rows, handle.tell()

        print(f"\nxlsx (supplycoord.exports.write_xlsx), {args.runs} runs", flush=True)
        xlsx_seconds, (xlsx_rows, xlsx_bytes) = best_of(args.runs, xlsx_export)
        threshold = DailyReportExport(user, params).background_threshold()
        xlsx_line = (
            f"xlsx: {xlsx_rows:,} rows, {xlsx_bytes / 1e6:.1f} MB in {xlsx_seconds * 1000:,.0f} ms"
            f" = {xlsx_rows / xlsx_seconds:,.0f} rows/s; over {threshold:,} rows the download is"
            " a background job"
        )

    print("\nResults")
    print(
        f"CSV through COPY: {csv_rows:,} rows, {csv_bytes / 1e6:.1f} MB in"
        f" {csv_seconds * 1000:,.0f} ms = {csv_rate:,.0f} rows/s (target >="
        f" {CSV_TARGET_ROWS_PER_S:,}: {'met' if csv_rate >= CSV_TARGET_ROWS_PER_S else 'MISSED'});"
        f" {len(queries.captured_queries)} queries (its COPYs among them)"
    )
    print(
        f"CSV generic writer: {generic_rows:,} rows in {generic_seconds * 1000:,.0f} ms"
        f" = {generic_rate:,.0f} rows/s; COPY is {generic_seconds / csv_seconds:.1f}x faster;"
        f" the two files are {'byte for byte the same' if same else 'DIFFERENT'}"
    )
    if xlsx_line:
        print(xlsx_line)
    print(f"Load average after: {list(os.getloadavg())}")
    return 0 if csv_ok else 1


if __name__ == "__main__":
    sys.exit(main())
