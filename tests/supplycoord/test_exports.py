"""The exporter base (supplycoord/exports.py) and its background jobs (ExportJob).

A small exporter declared here stands for every exporter: its CSV and xlsx come from one
declaration, text is neutralised in both, the xlsx prints as a clerk prints a 台账. The job
tests follow one ExportJob row through queued → running → done, failed, expired, and through
a worker's death."""

import datetime as dt
import io
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone, translation
from openpyxl import load_workbook

from supplycoord import exports
from supplycoord.exports import (
    DATE,
    DATETIME,
    HEADER_ROW,
    INT,
    MAX_ATTEMPTS,
    Column,
    Exporter,
    Strong,
)
from supplycoord.models import ExportJob, ExportStatus
from tests.export_checks import (
    assert_number_and_date_cells,
    assert_print_ready,
    assert_same_table,
    csv_rows,
    csv_text,
    xlsx_of,
)
from tests.factories import ProvinceFactory

ATTACKS = ('=HYPERLINK("http://x")', "+1", "-1+2", "@SUM(A1)", "\tx", "\rx", "  =1+1")
SHANGHAI = ZoneInfo("Asia/Shanghai")


class CountedExport(Exporter):
    """`rows` rows of people's text and 1,000 pieces each, then their total; `fail` breaks."""

    title = "Counted"

    def columns(self):
        return [
            Column("name", "@name", width=20),
            Column("day", "Day", DATE),
            Column("at", "At", DATETIME),
            Column("pieces", "Pieces", INT, unit="piece"),
        ]

    def _n(self):
        return int(self.params.get("rows", "2"))

    def count(self):
        return self._n()

    def date_range(self):
        return (dt.date(2020, 2, 1), dt.date(2020, 2, 10))

    def rows(self):
        if self.params.get("fail"):
            raise RuntimeError("the exporter broke")
        for index in range(self._n()):
            yield {
                "name": ATTACKS[index % len(ATTACKS)],
                "day": dt.date(2020, 2, 10),
                "at": dt.datetime(2020, 2, 10, 8, 30, tzinfo=SHANGHAI),
                "pieces": 1000,
            }
        yield Strong(name="Total", pieces=1000 * self._n())


@pytest.fixture
def gansu(db):
    return ProvinceFactory()


@pytest.fixture
def english():
    with translation.override("en"):
        yield


def test_the_csv_has_a_bom_crlf_line_ends_and_text_as_text(gansu, office, english):
    export = CountedExport(office, {"rows": str(len(ATTACKS))})

    text = csv_text(export)

    assert text.startswith("\ufeff")
    assert text.count("\r\n") == 1 + len(ATTACKS) + 1  # header, rows, total
    assert "\n" not in text.replace("\r\n", "")
    header, *rows, total = csv_rows(text)
    assert header == ["'@name", "Day", "At", "Pieces (piece)"]
    assert [row[0] for row in rows] == ["'" + attack for attack in ATTACKS]
    assert rows[0][1:] == ["2020-02-10", "2020-02-10 08:30", "1000"]  # numbers stay bare
    assert total == ["Total", "", "", str(1000 * len(ATTACKS))]


def test_the_xlsx_writes_text_as_text_and_no_formula(gansu, office, english):
    export = CountedExport(office, {"rows": str(len(ATTACKS))})

    sheet = xlsx_of(export).active

    cells = [cell for row in sheet.iter_rows() for cell in row if cell.value is not None]
    assert not [cell for cell in cells if cell.data_type == "f"]
    names = [row[0] for row in sheet.iter_rows(min_row=HEADER_ROW + 1, max_col=1)][:-1]
    # XML reads a carriage return back as a line feed; either way the cell is text.
    expected = [("'" + a.replace("\r", "\n"), "s") for a in ATTACKS]
    assert [(c.value, c.data_type) for c in names] == expected
    assert sheet.cell(row=HEADER_ROW, column=1).value == "'@name"


def test_the_xlsx_prints_as_a_ledger(gansu, office, english, frozen_clock):
    export = CountedExport(office, {"rows": "3"})

    sheet = xlsx_of(export).active

    assert_print_ready(sheet, export, issued_by="Gansu medical supply coordination office")
    title = [sheet.cell(row=r, column=1).value for r in range(1, HEADER_ROW)]
    assert title == [
        "Counted",
        "Date range: 2020-02-01 to 2020-02-10    Filters: none",
        "Unit of issue: —",
        "Issued by: Gansu medical supply coordination office    Made at: 2020-02-20 09:15",
    ]
    seen = assert_number_and_date_cells(sheet, export)
    assert seen == {"number": 3 + 1, "date": 3 * 2}
    first = sheet.cell(row=HEADER_ROW + 1, column=3)
    assert first.value == dt.datetime(2020, 2, 10, 8, 30)  # local time, no tzinfo
    total = list(sheet.iter_rows(min_row=HEADER_ROW + 4))[0]
    assert total[0].font.b and total[3].value == 3000


def test_the_csv_and_the_xlsx_carry_the_same_table(gansu, office):
    export = CountedExport(office, {"rows": "4"})

    rows = assert_same_table(csv_text(export), xlsx_of(export).active, export)

    assert len(rows) == 1 + 4 + 1


def test_filters_travel_as_json_and_come_back_as_a_querydict(office):
    params = exports.params_from_json({"item": ["FH001"], "kind": ["a", "b"]})

    assert exports.params_to_json(params) == {"item": ["FH001"], "kind": ["a", "b"]}
    assert exports.params_to_json({"date": dt.date(2020, 2, 1), "empty": ""}) == {
        "date": ["2020-02-01"]
    }


# --- Background exports ---------------------------------------------------------------------


@pytest.fixture
def frozen_clock():
    import time_machine

    with time_machine.travel(dt.datetime(2020, 2, 20, 9, 15, tzinfo=SHANGHAI), tick=False) as t:
        yield t


def start(user, captured, *, execute=True, **params):
    with captured(execute=execute):
        return exports.export_job_start(user=user, exporter=CountedExport(user, params))


def test_a_job_goes_from_queued_to_done_with_its_file(
    gansu, office, django_capture_on_commit_callbacks, frozen_clock
):
    job = start(office, django_capture_on_commit_callbacks, rows="3")

    job.refresh_from_db()
    assert job.status == ExportStatus.DONE
    assert (job.row_count, job.done, job.total, job.attempts) == (3 + 1, 4, 3, 1)
    assert job.exporter == "tests.supplycoord.test_exports.CountedExport"
    assert job.params == {"rows": ["3"]}
    assert job.started_at and job.finished_at and job.error == ""
    assert job.expires_at - job.created_at == dt.timedelta(hours=24)
    book = load_workbook(io.BytesIO(Path(job.file.path).read_bytes()))
    assert book.active.cell(row=HEADER_ROW + 4, column=4).value == 3000


def test_a_job_whose_exporter_breaks_is_marked_failed_with_the_error(
    gansu, office, django_capture_on_commit_callbacks
):
    job = start(office, django_capture_on_commit_callbacks, fail="1")

    job.refresh_from_db()
    assert job.status == ExportStatus.FAILED
    assert job.error == "the exporter broke"
    assert not job.file and job.finished_at


def test_expiry_deletes_the_file_and_marks_the_row_expired(
    gansu, office, django_capture_on_commit_callbacks
):
    job = start(office, django_capture_on_commit_callbacks)
    job.refresh_from_db()
    path = Path(job.file.path)
    assert path.exists()

    assert exports.export_jobs_expire(now=job.expires_at - dt.timedelta(seconds=1)) == 0
    assert exports.export_jobs_expire(now=job.expires_at) == 1

    job.refresh_from_db()
    assert (job.status, job.file.name) == (ExportStatus.EXPIRED, "")
    assert not path.exists()
    assert exports.export_jobs_expire(now=job.expires_at) == 0  # once


def test_a_job_a_dead_worker_left_running_is_queued_again_and_finished(
    gansu, office, django_capture_on_commit_callbacks
):
    job = start(office, django_capture_on_commit_callbacks, execute=False)
    # The worker took it, then died (SIGKILL, OOM) before writing anything.
    long_ago = timezone.now() - dt.timedelta(hours=2)
    ExportJob.objects.filter(pk=job.pk).update(
        status=ExportStatus.RUNNING, started_at=long_ago, attempts=1
    )

    with django_capture_on_commit_callbacks(execute=True):
        assert exports.export_jobs_requeue_stale() == 1

    job.refresh_from_db()
    assert (job.status, job.attempts, job.row_count) == (ExportStatus.DONE, 2, 3)


def test_a_queued_job_whose_message_was_lost_is_queued_again(
    gansu, office, django_capture_on_commit_callbacks
):
    job = start(office, django_capture_on_commit_callbacks, execute=False)
    ExportJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - dt.timedelta(hours=1))

    with django_capture_on_commit_callbacks(execute=True):
        assert exports.export_jobs_requeue_stale() == 1

    job.refresh_from_db()
    assert job.status == ExportStatus.DONE


def test_the_sweep_leaves_fresh_jobs_alone_and_gives_up_after_the_last_attempt(
    gansu, office, django_capture_on_commit_callbacks
):
    fresh = start(office, django_capture_on_commit_callbacks, execute=False, rows="2")
    hopeless = start(office, django_capture_on_commit_callbacks, execute=False, rows="3")
    ExportJob.objects.filter(pk=hopeless.pk).update(
        status=ExportStatus.RUNNING,
        started_at=timezone.now() - dt.timedelta(hours=2),
        attempts=MAX_ATTEMPTS,
    )

    with django_capture_on_commit_callbacks(execute=True):
        assert exports.export_jobs_requeue_stale() == 0

    fresh.refresh_from_db()
    hopeless.refresh_from_db()
    assert fresh.status == ExportStatus.QUEUED
    assert hopeless.status == ExportStatus.FAILED
    assert hopeless.error == f"gave up after {MAX_ATTEMPTS} attempts"


def test_a_running_job_is_not_run_a_second_time(gansu, office, django_capture_on_commit_callbacks):
    job = start(office, django_capture_on_commit_callbacks, execute=False)
    ExportJob.objects.filter(pk=job.pk).update(status=ExportStatus.RUNNING)

    exports.export_job_run(job.pk)  # a duplicate delivery of the message

    job.refresh_from_db()
    assert (job.status, job.attempts, job.file.name) == (ExportStatus.RUNNING, 0, "")


def test_beat_expires_and_sweeps_the_jobs_through_the_tasks(settings):
    from supplycoord.celery import app

    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"supplycoord.tasks.export_jobs_expire", "supplycoord.tasks.export_jobs_sweep"} <= tasks
    app.loader.import_default_modules()
    assert "supplycoord.tasks.export_job_run" in app.tasks
    assert app.tasks["supplycoord.tasks.export_job_run"].acks_late is True


# --- Review round 1: scope, expiry, stored names, one job at a time, one count -------------


class SlashExport(CountedExport):
    """A code with a "/" and a ".." in the file name (a warehouse or item code as typed)."""

    title = "库存卡片"

    def filename_parts(self):
        return ["SZ/01", "../../FH001", ".."]


class QueryCountedExport(CountedExport):
    """Counts its rows with one query, and how often it was asked."""

    asked = 0

    def count(self):
        type(self).asked += 1
        ExportJob.objects.count()  # the one query a real count() makes
        return self._n()


def test_the_asker_keeps_their_file_only_while_their_access_is_the_same(
    gansu, officer, outsider, tianshui, django_capture_on_commit_callbacks
):
    from supplycoord.models import Role

    job = start(officer, django_capture_on_commit_callbacks)
    job.refresh_from_db()
    assert job.status == ExportStatus.DONE
    assert job.scope == f"role=prefecture_officer;prefecture={officer.prefecture_id}"
    assert exports.export_job_unavailable(officer, job) is None
    assert exports.export_job_unavailable(outsider, job) == exports.ACCESS_CHANGED

    officer.prefecture = tianshui  # moved to Tianshui: the file holds Lanzhou's rows
    officer.save()
    assert exports.export_job_unavailable(officer, job) == exports.ACCESS_CHANGED

    officer.role, officer.prefecture = Role.PRODUCER_REPORTER, None
    officer.save()
    assert exports.export_job_unavailable(officer, job) == exports.ACCESS_CHANGED


def test_a_reporter_whose_producers_changed_no_longer_gets_the_file(
    gansu, reporter, lanzhou, django_capture_on_commit_callbacks
):
    from production.models import Producer

    mine = Producer.objects.create(
        name="兰州防护用品厂", credit_code="91350100M000100Y43", prefecture=lanzhou
    )
    mine.reporters.add(reporter)
    job = start(reporter, django_capture_on_commit_callbacks)
    job.refresh_from_db()
    assert job.scope == f"role=producer_reporter;producers={mine.pk}"
    assert exports.export_job_unavailable(reporter, job) is None

    mine.reporters.remove(reporter)

    assert exports.export_job_unavailable(reporter, job) == exports.ACCESS_CHANGED


def test_an_inactive_asker_or_one_the_read_rule_refuses_gets_nothing(
    gansu, officer, monkeypatch, django_capture_on_commit_callbacks
):
    job = start(officer, django_capture_on_commit_callbacks)
    job.refresh_from_db()

    monkeypatch.setattr(CountedExport, "read_rule", staticmethod(lambda user: False))
    assert exports.export_job_unavailable(officer, job) == exports.ACCESS_CHANGED
    monkeypatch.undo()
    assert exports.export_job_unavailable(officer, job) is None

    officer.is_active = False
    officer.save()
    assert exports.export_job_unavailable(officer, job) == exports.ACCESS_CHANGED


def test_a_job_whose_askers_access_changed_before_it_ran_writes_no_file(
    gansu, officer, tianshui, django_capture_on_commit_callbacks
):
    job = start(officer, django_capture_on_commit_callbacks, execute=False)
    officer.prefecture = tianshui
    officer.save()

    exports.export_job_run(job.pk)

    job.refresh_from_db()
    assert (job.status, job.file.name) == (ExportStatus.FAILED, "")


def test_a_file_past_its_expiry_is_not_given_though_the_beat_never_ran(
    gansu, office, django_capture_on_commit_callbacks
):
    job = start(office, django_capture_on_commit_callbacks)
    job.refresh_from_db()
    assert job.status == ExportStatus.DONE  # the hourly expiry job has not run

    assert (
        exports.export_job_unavailable(office, job, now=job.expires_at - dt.timedelta(seconds=1))
        is None
    )
    assert exports.export_job_unavailable(office, job, now=job.expires_at) == exports.EXPIRED
    with time_travel(job.expires_at):
        assert exports.export_job_unavailable(office, job) == exports.EXPIRED  # timezone.now()


def time_travel(moment):
    import time_machine

    return time_machine.travel(moment, tick=False)


def test_a_code_with_a_slash_or_dots_is_stored_under_one_safe_name(
    gansu, office, django_capture_on_commit_callbacks, settings
):
    with django_capture_on_commit_callbacks(execute=True):
        job = exports.export_job_start(user=office, exporter=SlashExport(office, {"rows": "2"}))

    job.refresh_from_db()
    assert (job.status, job.error) == (ExportStatus.DONE, "")
    assert job.filename == "库存卡片-SZ-01-FH001.xlsx"  # the download's name: no "/", no ".."
    folder, name = job.file.name.rsplit("/", 1)
    assert folder == f"exports/{job.created_at:%Y/%m}"
    assert name.startswith(f"{job.pk}-库存卡片") and name.endswith(".xlsx")
    assert ".." not in name
    stored = Path(job.file.path).resolve()
    assert stored.is_file() and stored.is_relative_to(Path(settings.MEDIA_ROOT).resolve())
    assert [p.name for p in stored.parent.iterdir()] == [name]


def test_asking_again_while_the_export_is_on_its_way_returns_the_same_job(
    gansu, office, officer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as queued:
        first = exports.export_job_start(user=office, exporter=CountedExport(office, {"rows": "3"}))
        second = exports.export_job_start(
            user=office, exporter=CountedExport(office, {"rows": "3"})
        )

    assert second.pk == first.pk
    assert ExportJob.objects.count() == 1
    assert len(queued) == 1  # one task queued

    ExportJob.objects.filter(pk=first.pk).update(status=ExportStatus.RUNNING)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        assert (
            exports.export_job_start(user=office, exporter=CountedExport(office, {"rows": "3"})).pk
            == first.pk
        )
        # Other filters, another language, another user: each its own job.
        other = exports.export_job_start(user=office, exporter=CountedExport(office, {"rows": "4"}))
        with translation.override("en"):
            english_job = exports.export_job_start(
                user=office, exporter=CountedExport(office, {"rows": "3"})
            )
        officers = exports.export_job_start(
            user=officer, exporter=CountedExport(officer, {"rows": "3"})
        )
    assert len({first.pk, other.pk, english_job.pk, officers.pk}) == 4
    assert len(queued) == 3

    ExportJob.objects.filter(pk=first.pk).update(status=ExportStatus.DONE)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        again = exports.export_job_start(user=office, exporter=CountedExport(office, {"rows": "3"}))
    assert again.pk != first.pk and len(queued) == 1  # a finished one is not reused


def test_a_background_start_counts_the_rows_once(
    gansu, office, rf, django_capture_on_commit_callbacks, django_assert_num_queries
):
    from supplycoord.views_exports import export_response

    QueryCountedExport.asked = 0
    exporter = QueryCountedExport(office, {"rows": "5"})
    with (
        override_threshold(4),
        django_capture_on_commit_callbacks(execute=False),
        # count, savepoint, lock the asker, look for the same job, insert, release
        django_assert_num_queries(6) as queries,
    ):
        response = export_response(exporter, "xlsx", user=office)

    assert response.status_code == 302
    counts = [q["sql"] for q in queries.captured_queries if "COUNT(*)" in q["sql"]]
    assert len(counts) == 1
    assert QueryCountedExport.asked == 1
    assert ExportJob.objects.get().total == 5


def override_threshold(rows):
    from django.conf import settings
    from django.test import override_settings

    return override_settings(SUPPLYCOORD={**settings.SUPPLYCOORD, "EXPORT_ASYNC_ROWS": rows})


@pytest.mark.parametrize("recorded", [False, True], ids=["unrecorded", "recorded"])
def test_a_job_run_again_replaces_the_file_an_earlier_run_saved(
    gansu, office, recorded, django_capture_on_commit_callbacks
):
    from django.core.files.base import ContentFile

    job = start(office, django_capture_on_commit_callbacks, execute=False, rows="3")
    # The worker saved the file, then died before marking the job done (or after
    # recording the file on the row).
    job.file.save(job.filename, ContentFile(b"the first run's file"), save=recorded)
    first = Path(job.file.path)
    ExportJob.objects.filter(pk=job.pk).update(
        status=ExportStatus.RUNNING, started_at=timezone.now() - dt.timedelta(hours=2), attempts=1
    )

    with django_capture_on_commit_callbacks(execute=True):
        assert exports.export_jobs_requeue_stale() == 1

    job.refresh_from_db()
    assert (job.status, job.attempts) == (ExportStatus.DONE, 2)
    assert Path(job.file.path) == first  # the same name, no suffix
    assert list(first.parent.iterdir()) == [first]  # and no other file left behind
    assert load_workbook(io.BytesIO(first.read_bytes())).active.max_row == HEADER_ROW + 3 + 1


def test_the_title_block_labels_only_the_chosen_rows(gansu, django_assert_num_queries):
    from django import forms

    from supplycoord.models import Prefecture
    from tests.factories import PrefectureFactory

    prefectures = [PrefectureFactory(province=gansu) for _ in range(30)]

    class Filters(forms.Form):
        prefecture = forms.ModelChoiceField(Prefecture.objects.order_by("code"), label="市州")
        others = forms.ModelMultipleChoiceField(Prefecture.objects.order_by("code"), label="Others")
        kind = forms.ChoiceField(
            choices=[("", "—"), ("Group", [("a", "Alpha"), ("b", "Beta")])], label="Kind"
        )
        empty = forms.ModelMultipleChoiceField(Prefecture.objects.all(), required=False)

    form = Filters(
        {
            "prefecture": prefectures[3].pk,
            "others": [prefectures[0].pk, prefectures[7].pk],
            "kind": "b",
        }
    )
    assert form.is_valid(), form.errors

    with django_assert_num_queries(0):
        text = exports.describe_filters(form)

    assert text == (
        f"市州: {prefectures[3]}; Others: {prefectures[0]}, {prefectures[7]}; Kind: Beta"
    )
