"""The allocation ledger export (调拨台账): CSV and xlsx, totals, the 汇总 sheet, scoping."""

import csv
import io
from pathlib import Path

import pytest
from openpyxl import load_workbook

from allocation.models import Channel
from allocation.selectors import allocation_totals
from allocation.services import batch_receive
from supplycoord.exports import TITLE_ROWS
from tests.allocation.conftest import NOW, dispatched_batch, make_batch

pytestmark = pytest.mark.usefixtures("frozen_time")

CSV_URL = "/allocation/export/ledger.csv"
XLSX_URL = "/allocation/export/ledger.xlsx"


@pytest.fixture
def ledger(office, leader, officer, stocked, to_lanzhou, to_hospital, to_tianjin, n95, masks):
    """Three dispatched batches (one partly received), a draft and a cancelled-free ledger."""
    first = dispatched_batch(
        office,
        leader,
        stocked,
        to_lanzhou,
        [(n95, 1000), {"item": masks, "quantity": 200, "channel": Channel.PURCHASE}],
    )
    batch_receive(
        user=officer,
        batch=first,
        expected_version=first.version,
        received={first.lines.order_by("id").first().pk: 900},
    )
    dispatched_batch(office, leader, stocked, to_hospital, [(n95, 300)])
    dispatched_batch(office, leader, stocked, to_tianjin, [(masks, 50)])
    make_batch(office, stocked, to_lanzhou, [(n95, 7)])  # a draft: not in the ledger
    return first


def csv_rows(response):
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))


def workbook(response):
    assert response.status_code == 200
    return load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)


def test_the_csv_lists_every_dispatched_line_and_its_totals(client, office, ledger):
    client.force_login(office)

    rows = csv_rows(client.get(CSV_URL))

    header, lines, totals = rows[0], rows[1:-1], rows[-1]
    assert header[0] == "批次编号"
    assert len(lines) == 4  # the draft is left out
    assert {line[0] for line in lines} == {"2020-001", "2020-002", "2020-003"}
    quantity = header.index("数量")
    received = header.index("已签收数量")
    assert int(totals[quantity]) == allocation_totals(NOW.date(), NOW.date())["total"] == 1550
    assert int(totals[received]) == 900
    first = next(
        line
        for line in lines
        if line[0] == "2020-001" and line[header.index("物资编码")] == "FH001"
    )
    assert first[header.index("差异")] == "-100"
    assert first[header.index("经办人")]
    assert first[header.index("单位")]


def test_a_status_filter_lists_other_states(client, office, ledger):
    client.force_login(office)

    rows = csv_rows(client.get(CSV_URL, {"status": "draft"}))

    assert [row[0] for row in rows[1:-1]] == ["2020-004"]


def test_the_xlsx_has_the_ledger_its_totals_and_the_summary_sheet(client, office, ledger):
    client.force_login(office)

    book = workbook(client.get(XLSX_URL))

    assert len(book.sheetnames) == 2
    assert book.sheetnames[1] == "汇总"
    rows = list(book[book.sheetnames[0]].iter_rows(values_only=True))[TITLE_ROWS:]
    header, totals = rows[0], rows[-1]
    assert header[0] == "批次编号"
    assert len(rows) == 1 + 4 + 1
    quantity = header.index("数量")
    summary = allocation_totals(NOW.date(), NOW.date())
    assert totals[quantity] == summary["total"]

    cells = [row for row in book["汇总"].iter_rows(values_only=True) if any(row)]
    cells = [(*row, None, None, None)[:3] for row in cells]
    assert summary["total"] in [row[2] for row in cells]
    quantities = [row[2] for row in cells if isinstance(row[2], int)]
    for key in ("by_destination_kind", "by_destination", "by_item", "by_channel"):
        assert sum(r["quantity"] for r in summary[key]) == summary["total"]
        for r in summary[key]:
            assert r["quantity"] in quantities
    assert ("地级市", None) in {(row[0], row[1]) for row in cells} or any(
        row[1] == "兰州市" for row in cells
    )


def test_the_exports_follow_the_list_filters(client, office, ledger, to_hospital):
    client.force_login(office)

    rows = csv_rows(client.get(CSV_URL, {"item": "FH002"}))
    assert [row[0] for row in rows[1:-1]] == ["2020-001", "2020-003"]

    rows = csv_rows(client.get(CSV_URL, {"destination": to_hospital.pk}))
    assert [row[0] for row in rows[1:-1]] == ["2020-002"]

    rows = csv_rows(client.get(CSV_URL, {"kind": "other_province"}))
    assert [row[0] for row in rows[1:-1]] == ["2020-003"]

    assert client.get(CSV_URL, {"from": "not a date"}).status_code == 400


def test_an_officer_exports_only_their_batches(client, officer, outsider, ledger):
    client.force_login(officer)

    rows = csv_rows(client.get(CSV_URL))
    assert {row[0] for row in rows[1:-1]} == {"2020-001"}
    book = workbook(client.get(XLSX_URL))
    summary_cells = [row for row in book["汇总"].iter_rows(values_only=True) if any(row)]
    summary_cells = [(*row, None, None, None)[:3] for row in summary_cells]
    assert 1200 in [row[2] for row in summary_cells]  # their total, not the province's
    assert 1550 not in [row[2] for row in summary_cells]

    client.force_login(outsider)
    assert len(csv_rows(client.get(CSV_URL))) == 2  # the header and a zero totals row


def test_the_export_needs_a_role_that_sees_batches(client, reporter, ledger):
    client.force_login(reporter)

    assert client.get(CSV_URL).status_code in (302, 403)


def test_the_csv_reads_the_lines_in_one_query_however_many(
    client, office, ledger, django_assert_max_num_queries
):
    client.force_login(office)
    with django_assert_max_num_queries(12):
        csv_rows(client.get(CSV_URL))


@pytest.fixture
def background_exports(settings, tmp_path):
    """Every xlsx over 2 lines goes to the (eager) background job; files in a temp dir."""
    settings.SUPPLYCOORD = {**settings.SUPPLYCOORD, "LEDGER_EXPORT_ASYNC_ROWS": 2}
    settings.MEDIA_ROOT = tmp_path


def test_a_large_xlsx_is_written_by_a_job_with_progress_and_a_download(
    client, office, leader, ledger, background_exports, django_capture_on_commit_callbacks
):
    client.force_login(office)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.get(XLSX_URL)

    assert response.status_code == 302
    page = client.get(response["Location"])
    assert page.status_code == 200
    download = page.context["job_id"]
    assert page.context["job"].status == "done"
    assert page.context["job"].total == 4
    book = workbook(client.get(f"/allocation/export/ledger/{download}/download/"))
    assert book.sheetnames[1] == "汇总"
    assert len(list(book[book.sheetnames[0]].iter_rows(values_only=True))) == TITLE_ROWS + 1 + 4 + 1

    client.force_login(leader)  # someone else's export is not theirs to see
    assert client.get(response["Location"]).status_code == 404
    assert client.get(f"/allocation/export/ledger/{download}/download/").status_code == 404


def test_old_export_files_are_removed(background_exports, office, tmp_path):
    import datetime as dt

    from django.core.files.base import ContentFile
    from django.utils import timezone

    from supplycoord import exports
    from supplycoord.models import ExportJob

    def job(name, expires_at):
        row = ExportJob.objects.create(
            requested_by=office,
            exporter="x",
            title=name,
            language="zh-hans",
            filename=f"{name}.xlsx",
            status="done",
            expires_at=expires_at,
        )
        row.file.save(f"{name}.xlsx", ContentFile(b"x"))
        return Path(row.file.path)

    old = job("old", timezone.now() - dt.timedelta(hours=1))
    fresh = job("fresh", timezone.now() + dt.timedelta(hours=23))

    assert exports.export_jobs_expire() == 1
    assert not old.exists()
    assert fresh.exists()


@pytest.mark.parametrize("change", ["moved to Tianshui", "made a reporter"])
def test_an_officers_ledger_file_is_not_served_once_his_access_changed(
    client,
    officer,
    outsider,
    tianshui,
    ledger,
    background_exports,
    django_capture_on_commit_callbacks,
    settings,
    change,
):
    from supplycoord.models import Role

    settings.SUPPLYCOORD = {**settings.SUPPLYCOORD, "LEDGER_EXPORT_ASYNC_ROWS": 1}  # his 2 lines
    client.force_login(officer)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.get(XLSX_URL)
    assert response.status_code == 302
    job_id = client.get(response["Location"]).context["job_id"]
    pages = {
        "/allocation/export/ledger/{}/": "/allocation/export/ledger/{}/download/",
        "/exports/{}/": "/exports/{}/download/",
    }
    for page, download in pages.items():
        # Before: his Lanzhou rows, and the link to them.
        assert download.format(job_id) in client.get(page.format(job_id)).content.decode()
        book = workbook(client.get(download.format(job_id)))
        numbers = {row[0] for row in book.worksheets[0].iter_rows(values_only=True)}
        assert "2020-001" in numbers and "2020-002" not in numbers

    if change == "moved to Tianshui":
        officer.prefecture = tianshui
    else:
        officer.role, officer.prefecture = Role.PRODUCER_REPORTER, None
    officer.save()

    for page, download in pages.items():
        response = client.get(download.format(job_id))
        assert response.status_code in (403, 404)
        assert not getattr(response, "streaming", False)
        shown = client.get(page.format(job_id))
        assert shown.status_code in (403, 404)
        assert download.format(job_id) not in shown.content.decode()
    # The office page says why and how to get it again (the ledger's needs its read rule).
    assert "请重新导出" in client.get(f"/exports/{job_id}/").content.decode()  # make it again

    client.force_login(outsider)  # a Tianshui officer never had it
    for page, download in pages.items():
        assert client.get(page.format(job_id)).status_code == 404
        assert client.get(download.format(job_id)).status_code == 404
